"""Completer: a loaded model plus the search and blending that turn masked images into faces."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganfill import masks
from ganfill.blending import paste, poisson_blend
from ganfill.checkpoint import Model, ModelFileError, load_model
from ganfill.colouring import Colouriser, default_colouriser, load_colouriser, recolour
from ganfill.config import CompletionConfig, ConfigError, MaskConfig, ModelSource
from ganfill.devices import bfloat16_is_fast, pick_device
from ganfill.exemplars import Library, default_library, transfer
from ganfill.finisher import Finisher, add_detail, default_detail, default_finisher, load_finisher
from ganfill.images import (
    ImageError,
    load_mask_file,
    open_image,
    photo_from_array,
    to_tensor,
    to_uint8,
    uint8_batch,
    upright,
    upright_size,
)
from ganfill.inversion import invert
from ganfill.mouth import default_mouth, load_mouth, redraw
from ganfill.photos import PhotoCompletion, box_mask, complete_photo, photo_known
from ganfill.schedule import Schedule, plan
from ganfill.symmetry import mirror_detail
from ganfill.tuning import tune_batch

if TYPE_CHECKING:
    from ganfill.alignment import FaceAligner

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "faces64.safetensors"


class _Part(NamedTuple):
    """A network or library a Completer holds beside its model, each used after the search."""

    source: str
    """The ModelSource field that names its file ("none": without it)."""
    default: Callable[[int], object]
    """The bundled one for a model's frame size (None where there is none)."""
    load: Callable[[str | Path], object]
    """Reads its file."""


PARTS = {
    "finisher": _Part("finisher", default_finisher, load_finisher),
    "detail": _Part("detail_pass", default_detail, load_finisher),
    "exemplars": _Part("exemplars", default_library, Library),
    "colouriser": _Part("colouriser", default_colouriser, load_colouriser),
    "mouth": _Part("mouth", default_mouth, load_mouth),
}
"""The Completer's attributes that ModelSource chooses, and how each is found: one place to add
a part, for the constructor, the bundled defaults and `load`."""


@dataclass
class Completion:
    """Completed images and what the search found, for B images (uint8 arrays [.., H, W, 3])."""

    images: np.ndarray
    """[B, H, W, 3] the best completion of each image."""
    hats: np.ndarray
    """[B, H, W, 3] G(z*) of the best start."""
    alternatives: np.ndarray
    """[B, S, H, W, 3] the S best distinct completions (S = samples), best first."""
    context: np.ndarray
    """[B] final context loss of the best start."""
    prior: np.ndarray
    """[B] final prior loss (times lam) of the best start."""
    iterations: np.ndarray
    """[B] search steps each image ran."""
    latents: np.ndarray
    """[B, z_dim] z* of the best start."""
    known: np.ndarray
    """[B, H, W] the known-masks the search filled (1 = keep; holes grown by dilate)."""
    seconds: float
    history: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    """(image, iteration, context, prior, total) rows."""
    frames: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    """(iteration, hats [B, H, W, 3], completions [B, H, W, 3]) every save_every steps."""


def blend(
    images: torch.Tensor,
    hats: torch.Tensor,
    known: torch.Tensor,
    how: str,
    *,
    lowres_factor: int | None = None,
) -> torch.Tensor:
    """Put hats [B, 3, H, W] into the holes of images; known [B, 1, H, W]; all on any device.

    For lowres inputs (lowres_factor set) the hat is corrected so that its downsampled view
    equals the known one: the low-resolution image is the known information there.
    """
    if lowres_factor:
        f = lowres_factor
        residual = F.avg_pool2d(images, f) - F.avg_pool2d(hats, f)
        return (hats + F.interpolate(residual, scale_factor=f, mode="nearest")).clamp(-1, 1)
    y = images.permute(0, 2, 3, 1).double().cpu().numpy()  # [B, H, W, 3]
    h = hats.permute(0, 2, 3, 1).double().cpu().numpy()
    m = known[:, 0].double().cpu().numpy()
    fn = poisson_blend if how == "poisson" else paste
    out = np.stack([fn(y[i], h[i], m[i]) for i in range(len(y))])
    out = torch.from_numpy(out).float().permute(0, 3, 1, 2).clamp(-1, 1)
    return torch.where(known.cpu() > 0.5, images.cpu(), out)  # known pixels exactly as given


class Completer:
    """Completes masked face images with a DCGAN model: `Completer(model).complete(images, known)`."""

    finisher: Finisher | None
    """Draws a completed face at a photo's scale (photos only)."""
    detail: Finisher | None
    """The detail pass over G(z*) at the model's size."""
    exemplars: Library | None
    """Real faces whose fine detail a photo's fill takes."""
    colouriser: Colouriser | None
    """Gives the hole the colours real faces have under its luma."""
    mouth: Model | None
    """A pair of the mouth's box that redraws the fill's mouth (lips and teeth)."""

    def __init__(
        self,
        model: Model | str | Path,
        *,
        device: str | torch.device = "cpu",
        aligner: FaceAligner | None = None,
        finisher: Finisher | str | Path | None = None,
        detail: Finisher | str | Path | None = None,
        exemplars: Library | str | Path | None = None,
        colouriser: Colouriser | str | Path | None = None,
        mouth: Model | str | Path | None = None,
    ):
        self.model = load_model(model, device=device) if isinstance(model, str | Path) else model.to(device)
        if self.model.config.region != "face":
            region = self.model.config.region
            raise ModelFileError(f"{model}: a model of the {region} only; a face model completes faces")
        parts = {
            "finisher": finisher,
            "detail": detail,
            "exemplars": exemplars,
            "colouriser": colouriser,
            "mouth": mouth,
        }
        for name, part in parts.items():
            setattr(self, name, PARTS[name].load(part) if isinstance(part, str | Path) else part)
        # Frozen once, here, whether given as files or objects: searches that share the face or
        # mouth pair (the server's concurrent requests) then never toggle its train/grad flags,
        # so none can race another.
        pairs = [self.model] + ([self.mouth] if self.mouth is not None else [])
        for net in (net for pair in pairs for net in (pair.generator, pair.discriminator, pair.encoder)):
            if net is not None:
                net.eval().requires_grad_(False)
        self.device = torch.device(device)
        self.size = self.model.config.image_size
        self._aligner = aligner

    @classmethod
    def from_pretrained(cls, *, device: str | torch.device = "cpu") -> Completer:
        """The bundled default face model (64x64 aligned faces)."""
        if not DEFAULT_WEIGHTS.exists():
            raise ModelFileError(f"{DEFAULT_WEIGHTS}: the bundled model is missing from this install")
        return cls(DEFAULT_WEIGHTS, device=device, **{name: part.default(64) for name, part in PARTS.items()})

    @classmethod
    def load(cls, source: ModelSource | None = None) -> Completer:
        """The model a ModelSource names (the bundled one by default), on its device."""
        source = source or ModelSource()
        device = pick_device(source.device)
        if not source.model:
            completer = cls.from_pretrained(device=device)
        else:
            completer = cls(source.model, device=device)
            for name, part in PARTS.items():
                setattr(completer, name, part.default(completer.size))
        for name, part in PARTS.items():
            chosen = getattr(source, part.source)
            if chosen is not None:
                setattr(completer, name, None if chosen == "none" else part.load(chosen))
        return completer

    def plan(
        self,
        known: np.ndarray,
        config: CompletionConfig | None = None,
        *,
        lowres: bool = False,
        samples: int = 1,
    ) -> Schedule:
        """Each image's search (start, draws, steps, step size) for this model (known [B, H, W])."""
        if self.mouth is not None and self.mouth.config.image_size != self.size:
            frames = f"{self.mouth.config.image_size}-px frame, the face model's is {self.size}"
            raise ModelFileError(f"the mouth model draws in a {frames}")
        has = {
            "has_encoder": self.model.encoder is not None,
            "has_detail": self.detail is not None,
            "has_colour": self.colouriser is not None,
            "mouth_box": self.mouth.config.box if self.mouth is not None else None,
            "fast_bfloat16": bfloat16_is_fast(self.device),
        }
        return plan(config or CompletionConfig(), known, lowres=lowres, samples=samples, **has)

    def complete(
        self,
        images: np.ndarray | torch.Tensor,
        known: np.ndarray | torch.Tensor | str | MaskConfig,
        config: CompletionConfig | None = None,
        *,
        samples: int = 1,
        lowres: bool = False,
        seed: int = 0,
        batch_size: int = 64,
        on_step: Callable[[int, float], None] | None = None,
        on_plan: Callable[[int], None] | None = None,
        image_ids: Sequence[int] | None = None,
        **options: object,
    ) -> Completion:
        """Complete images (uint8 [B, H, W, 3]) where known ([B, H, W], 1 = keep) is 0, or in a
        mask kind ("center", or a MaskConfig) drawn for each image as the CLI draws it.

        options override fields of config (iters, lam, optimizer, blend, restarts, ...). The S =
        `samples` best starts are returned as alternatives (restarts is raised to S if lower).
        Image i's starts are drawn from (seed, image_ids[i]) (default: its position), so the
        same seed gives the same result whatever the batch size. on_plan(steps) is told the
        longest search before it starts, on_step(iteration, loss) after each step.
        """
        base = dataclasses.replace(config or CompletionConfig(), **options)
        count = 1 if np.ndim(images) == 3 else len(images)
        ids = list(range(count)) if image_ids is None else list(image_ids)
        if isinstance(known, str | MaskConfig):
            kind = _kind(known)
            known, lowres = _kind_masks(kind, ids, self.size, seed), lowres or kind.mask == "lowres"
        imgs, mask = _inputs(images, known, self.size, base.dilate)
        schedule = self.plan(mask.numpy(), base, lowres=lowres, samples=samples)
        if on_plan is not None:
            on_plan(schedule.steps)
        cfg = schedule.settle(base)
        start = time.perf_counter()
        parts = []
        for lo in range(0, len(imgs), batch_size):
            part = slice(lo, lo + batch_size)
            args = (imgs[part], mask[part], cfg, schedule.part(part), samples, lowres, seed, ids[part])
            parts.append(self._batch(*args, lo, on_step))
        out = _concat(parts)
        out.seconds = time.perf_counter() - start
        if base.feather:
            fade = np.stack([masks.feather_weights(k, base.feather) for k in mask.numpy()])[
                :, None, ..., None
            ]
            done = fade * out.alternatives + (1 - fade) * imgs.numpy()[:, None]
            out.alternatives = np.round(done).astype(np.uint8)
            out.images = out.alternatives[:, 0]
        return out

    def complete_photo(
        self,
        photo: Image.Image | np.ndarray | str | Path,
        known: np.ndarray | str | Path | MaskConfig | None = None,
        config: CompletionConfig | None = None,
        *,
        box: tuple[int, int, int, int] | None = None,
        seed: int = 0,
        samples: int = 1,
        on_step: Callable[[int, float], None] | None = None,
        on_plan: Callable[[int], None] | None = None,
        **options: object,
    ) -> PhotoCompletion:
        """Complete the faces of an ordinary photo (a PIL image, a file, or a uint8 array) where known
        ([H, W], 1 = keep) is 0, where a mask file is white, in a mask kind ("eyes", or a
        MaskConfig) drawn in every face's frame, or in box.

        Faces are aligned to the model's frame, completed there and warped back; only the masked
        pixels change, blended at the seam. Size, mode and EXIF orientation are kept. With
        samples=K the result holds the K best distinct completions.
        """
        photo, known = _photo_and_known(photo, known, box)
        cfg = dataclasses.replace(config or CompletionConfig(), **options)
        in_photo = {"dilate": cfg.dilate, "feather": cfg.feather, "grain": cfg.grain, "seed": seed}
        # The detail pass sharpens the frame's fill and the exemplars give it a real face's fine
        # detail; the finisher then draws it at the photo's scale, where the hole is grown, its edge
        # feathered and the photo's grain matched (in_photo).
        frame = dataclasses.replace(cfg, dilate=0, feather=0)

        def fill(faces: np.ndarray, face_known: np.ndarray) -> np.ndarray:
            done = self.complete(
                faces,
                face_known,
                frame,
                seed=seed,
                samples=samples,
                on_step=on_step,
                on_plan=on_plan,
            )
            if self.exemplars is None:
                return done.alternatives
            return transfer(self.exemplars, faces, face_known, done.alternatives)

        return complete_photo(photo, known, self.aligner(), fill, finisher=self.finisher, **in_photo)

    def known_mask(
        self,
        image: Image.Image | np.ndarray | str | Path,
        known: np.ndarray | str | Path | MaskConfig | None = None,
        *,
        box: tuple[int, int, int, int] | None = None,
        align: bool = True,
        dilate: int = 0,
        seed: int = 0,
    ) -> np.ndarray:
        """The known-mask [H, W] (1 = keep) that complete_photo (align) or complete (an aligned
        face) fills for the same arguments: a mask kind drawn where the completion draws it, a
        hole grown by dilate; to show or edit a mask before completing (the page's presets)."""
        if align:
            photo, known = _photo_and_known(image, known, box)
            return photo_known(photo, known, self.aligner(), dilate=dilate, seed=seed)
        face = _photo(image)
        given = _given_mask(known, upright_size(face), in_photo=False)
        if isinstance(given, MaskConfig):
            given = _kind_masks(given, [0], self.size, seed)
        return _inputs(np.asarray(upright(face).convert("RGB")), given, self.size, dilate)[1][0].numpy()

    def aligner(self) -> FaceAligner:
        """The face aligner for this model's frame, made on first use (dlib loads once)."""
        if self._aligner is None:
            from ganfill.alignment import FaceAligner

            self._aligner = FaceAligner(self.size)
        return self._aligner

    def _starts(self, y, m, cfg: CompletionConfig, schedule: Schedule, seed, ids, lowres) -> torch.Tensor:
        """[B, K, z_dim] starting codes: U[-1, 1] draws, or the encoder's guess with Gaussian
        draws around it (schedule.spread), or without a spread the guess itself and K - 1 starts
        jittered around it by the uniform draws (restarts, or samples: distinct alternatives)."""
        # One generator per image keeps each image's start independent of batching.
        z_dim, k = self.model.config.z_dim, cfg.restarts
        gens = [torch.Generator().manual_seed(hash((seed, i)) & (2**63 - 1)) for i in ids]
        starts = torch.stack([torch.rand(k, z_dim, generator=gn) * 2 - 1 for gn in gens])
        encoder = self.model.encoder
        if cfg.init == "encoder" and encoder is None:
            raise ConfigError(
                "this model has no encoder (train one with ganfill train-encoder); use --init random"
            )
        if cfg.init != "encoder" or lowres:
            return starts
        with torch.no_grad():
            guess = encoder.eval()(y, m).cpu()[:, None]  # [B, 1, z_dim]
        spread = torch.from_numpy(schedule.spread).float()[:, None, None]
        if bool((spread > 0).any()):
            drawn = torch.stack([torch.randn(k, z_dim, generator=gn) for gn in gens])
            return (guess + spread * drawn).clamp(-1, 1)
        return (guess + 0.3 * starts * (torch.arange(k) > 0)[None, :, None]).clamp(-1, 1)

    def _passes(self, hats, ys, ms, schedule, s, cfg, seed) -> torch.Tensor:
        """The passes over the S kept searches' G(z*) of each image before the blend, as the
        schedule sets them: the mouth redraw, detail, the mirror's detail, colours."""

        def each(values: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(values).repeat_interleave(s)

        if self.mouth is not None and schedule.mouth.any():
            hats = redraw(self.mouth, ys, ms, hats, each(schedule.mouth), cfg, seed=seed)
        if self.detail is not None and schedule.detail.any():
            hats = add_detail(self.detail, hats, each(schedule.detail).float())
        if schedule.symmetry.any():
            tolerance, band, reach = (
                each(v).float().to(self.device) for v in (schedule.symmetry, schedule.band, schedule.reach)
            )
            hats = mirror_detail(hats, ys, ms, tolerance, band, reach)
        if self.colouriser is not None and schedule.colour.any():
            hats = recolour(self.colouriser, ys, hats, ms, each(schedule.colour).float())
        return hats

    def _batch(self, imgs, mask, cfg, schedule, samples, lowres, seed, ids, offset, on_step) -> Completion:
        y = to_tensor(imgs).to(self.device)  # [B, 3, H, W]
        m = mask[:, None].to(self.device)  # [B, 1, H, W]
        b = len(y)
        starts = self._starts(y, m, cfg, schedule, seed, ids, lowres)
        iters, lr = torch.from_numpy(schedule.iters), torch.from_numpy(schedule.lr)
        frames: list[tuple[int, np.ndarray, np.ndarray]] = []
        factor = cfg.lowres_factor if lowres else None

        def on_frame(it: int, hats: torch.Tensor) -> None:
            done = blend(y, hats, m, "none", lowres_factor=factor)
            frames.append((it, to_uint8(hats), to_uint8(done)))

        inv = invert(
            self.model.generator,
            self.model.discriminator,
            y,
            m,
            cfg,
            starts,
            iters=iters,
            lr=lr,
            lowres=lowres,
            on_frame=on_frame if cfg.save_every else None,
            on_step=on_step,
        )
        s = samples
        if schedule.tune.any():
            steps = torch.from_numpy(schedule.tune)
            args = (inv.z[:, :s], inv.hats[:, :s], y, m, steps)
            inv.hats[:, :s] = tune_batch(
                self.model.generator, *args, lr=cfg.tune_lr, locality=cfg.tune_locality, seed=seed
            )
        ys, ms = y.repeat_interleave(s, 0), m.repeat_interleave(s, 0)
        hats = self._passes(inv.hats[:, :s].flatten(0, 1), ys, ms, schedule, s, cfg, seed)
        alts = blend(ys, hats, ms, cfg.blend, lowres_factor=factor)
        alts_u8 = to_uint8(alts).reshape(b, s, *alts.shape[2:], 3)
        history = [(i + offset, it, c, p, t) for (i, it, c, p, t) in inv.history]
        final_hats = to_uint8(inv.hats[:, 0])
        if cfg.save_every:
            frames.append((int(iters.max()), final_hats, alts_u8[:, 0]))
        return Completion(
            images=alts_u8[:, 0],
            hats=final_hats,
            alternatives=alts_u8,
            context=inv.context[:, 0].cpu().numpy(),
            prior=inv.prior[:, 0].cpu().numpy(),
            iterations=inv.iterations.numpy(),
            latents=inv.z[:, 0].detach().cpu().numpy(),
            known=mask.numpy(),
            seconds=0.0,
            history=history,
            frames=frames,
        )


def _photo_and_known(
    photo: Image.Image | np.ndarray | str | Path,
    known: np.ndarray | str | Path | MaskConfig | None,
    box: tuple[int, int, int, int] | None,
) -> tuple[Image.Image, np.ndarray | MaskConfig]:
    """complete_photo's photo and its mask: box's, or known's (_given_mask; a kind must be a region
    of a face, checked before faces are looked for)."""
    if (known is None) == (box is None):
        raise ConfigError("give exactly one of known (a mask, its file or a kind) or box")
    photo = _photo(photo)
    if box is not None:
        return photo, box_mask(upright_size(photo), box)
    return photo, _given_mask(known, upright_size(photo), in_photo=True)


def _photo(photo: Image.Image | np.ndarray | str | Path) -> Image.Image:
    """A photo given as a PIL image, a file, or a uint8 array."""
    if isinstance(photo, str | Path):
        return open_image(photo)
    return photo_from_array(photo) if isinstance(photo, np.ndarray) else photo


def _given_mask(
    known: np.ndarray | str | Path | MaskConfig, size: tuple[int, int], *, in_photo: bool
) -> np.ndarray | MaskConfig:
    """A mask argument for an image of size (width, height): a mask file's (white = fill; a Path,
    or a name with a suffix or a folder), the array itself, or a kind (in a photo, a region of a face)."""
    if isinstance(known, str) and known not in masks.KINDS and (Path(known).suffix or "/" in known):
        known = Path(known)  # a file's name, not a kind's
    if isinstance(known, Path):
        return load_mask_file(known, size)
    if isinstance(known, str | MaskConfig):
        kind = _kind(known)
        if in_photo:
            masks.check_region(kind.mask)
        return kind
    return np.asarray(known)


def _kind(known: str | MaskConfig) -> MaskConfig:
    """A mask kind given by its name or its config."""
    return known if isinstance(known, MaskConfig) else MaskConfig(mask=known)


def _kind_masks(kind: MaskConfig, ids: Sequence[int], size: int, seed: int) -> np.ndarray:
    """Known-masks [N, S, S] of a kind: image i's is the draw (seed, ids[i]), as the CLI's."""
    return np.stack([masks.make(kind.mask, 1, size, seed=seed, start=i, **kind.params())[0] for i in ids])


def _inputs(
    images: np.ndarray | torch.Tensor, known: np.ndarray | torch.Tensor, size: int, dilate: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and their known masks (holes grown by dilate) as tensors, checked: uint8 RGB at
    the model's size, one mask per image or one for all."""
    imgs = torch.as_tensor(uint8_batch(images))
    given = masks.as_batch(np.asarray(known, dtype=np.float32))
    if len(given) == 1 < len(imgs):
        given = np.repeat(given, len(imgs), 0)
    if len(given) != len(imgs):
        raise ImageError(f"{len(imgs)} images but {len(given)} masks: give one per image, or one for all")
    mask = torch.as_tensor(masks.grow_holes(given, dilate))
    if imgs.shape[1:3] != (size, size) or mask.shape[1:] != imgs.shape[1:3]:
        raise ImageError(
            f"images must be {size}x{size} with masks of the same size; got "
            f"{tuple(imgs.shape[1:3])} and {tuple(mask.shape[1:])}"
        )
    return imgs, mask


def _concat(parts: list[Completion]) -> Completion:
    if len(parts) == 1:
        return parts[0]
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
    n_frames = len(parts[0].frames)
    frames = [
        (
            parts[0].frames[j][0],
            np.concatenate([p.frames[j][1] for p in parts]),
            np.concatenate([p.frames[j][2] for p in parts]),
        )
        for j in range(n_frames)
        if all(len(p.frames) > j for p in parts)
    ]
    return Completion(
        images=cat("images"),
        hats=cat("hats"),
        alternatives=cat("alternatives"),
        context=cat("context"),
        prior=cat("prior"),
        iterations=cat("iterations"),
        latents=cat("latents"),
        known=cat("known"),
        seconds=0.0,
        history=[row for p in parts for row in p.history],
        frames=frames,
    )
