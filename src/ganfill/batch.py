"""Batch completion of image files: read images and masks, complete in batches, write every output.

A bad image or a missing mask costs that image only; each batch's files are written as soon as
the batch is done, atomically, so an interrupted job keeps everything finished before.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ganfill import masks as mask_kinds
from ganfill.completion import Completer, Completion
from ganfill.config import CompletionConfig
from ganfill.images import (
    ImageError,
    find_images,
    flat_names,
    grid,
    load_mask_file,
    open_image,
    open_rgb,
    save_atomic,
    save_gif,
    save_png,
)

LOSS_FIELDS = ["image", "iteration", "context", "prior", "total"]


@dataclass
class MaskSpec:
    """Where masks come from: a generator kind with its parameters, or a file or folder."""

    kind: str = "center"
    params: dict[str, object] = field(default_factory=dict)
    path: Path | None = None
    """A mask image for every input, or a folder of masks matched by file stem."""

    @property
    def lowres(self) -> bool:
        return self.path is None and self.kind == "lowres"


@dataclass
class JobReport:
    """What a completion job did: files written, and one line per input that failed."""

    completed: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Inputs:
    """Reads inputs and their masks lazily, reporting problems as lines instead of raising."""

    def __init__(
        self,
        files: list[Path],
        names: list[str],
        size: int,
        spec: MaskSpec,
        seed: int,
        warn: Callable[[str], None],
    ):
        self.files, self.names, self.size, self.spec, self.seed, self.warn = (
            files,
            names,
            size,
            spec,
            seed,
            warn,
        )
        self.shared_mask = None
        self.mask_dir: dict[str, Path] = {}
        if spec.path is not None and spec.path.is_dir():
            self.mask_dir = {p.name.rsplit(".", 1)[0]: p for p in find_images([spec.path])}
        elif spec.path is not None:
            self.shared_mask = load_mask_file(spec.path, (size, size))  # a bad file stops the job

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 [S, S, 3], known [S, S]) of input i; ImageError names the problem."""
        path = self.files[i]
        im = open_rgb(path)
        if im.size != (self.size, self.size):
            self.warn(f"warning: {path}: {im.width}x{im.height} resized to {self.size}x{self.size}")
            im = im.resize((self.size, self.size), Image.BICUBIC)
        image = np.asarray(im, dtype=np.uint8)
        if self.shared_mask is not None:
            return image, self.shared_mask
        if self.spec.path is not None:
            stem = path.name.rsplit(".", 1)[0]
            if stem not in self.mask_dir:
                raise ImageError(f"{path}: no mask named {stem}.* in {self.spec.path}")
            return image, load_mask_file(self.mask_dir[stem], (self.size, self.size))
        known = mask_kinds.make(self.spec.kind, 1, self.size, seed=self.seed, start=i, **self.spec.params)[0]
        return image, known


def complete_files(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    completer: Completer,
    config: CompletionConfig,
    *,
    mask: MaskSpec,
    samples: int = 1,
    batch_size: int = 64,
    seed: int = 0,
    keep_hats: bool = False,
    gif: bool = False,
    progress: Callable[[int, int, int], Callable[[int, float], None] | None] | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> JobReport:
    """Complete image files into out_dir: NAME.png per input plus grids, losses and frames.

    progress(batch_index, batch_count, steps) may return a per-step callback for a progress bar.
    With gif and no save_every in config, about 40 frames are kept from the first batch.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = find_images(inputs)
    if not files:
        raise ImageError(f"{', '.join(map(str, inputs))}: no images found")
    if mask.path is None and mask.kind not in mask_kinds.KINDS:
        raise mask_kinds.MaskError(
            f"unknown mask {mask.kind!r}; choose from {', '.join(mask_kinds.KINDS)} or a mask file"
        )
    size = completer.size
    reader = _Inputs(files, flat_names(files), size, mask, seed, warn)
    report = JobReport()
    grids: dict[str, list[np.ndarray]] = {"before": [], "masked": [], "completed": []}
    frames: list[np.ndarray] = []
    steps = completer.resolve(config, lowres=mask.lowres).iters
    if gif and not config.save_every:
        config = replace(config, save_every=max(1, steps // 40))
    with (out / "losses.csv").open("w", newline="") as loss_file:
        losses = csv.writer(loss_file)
        losses.writerow(LOSS_FIELDS)
        batches = [range(lo, min(lo + batch_size, len(files))) for lo in range(0, len(files), batch_size)]
        for bi, batch in enumerate(batches):
            ok, images, knowns = [], [], []
            for i in batch:
                try:
                    image, known = reader.load(i)
                except ImageError as exc:
                    report.failed.append(str(exc))
                    warn(f"error: {exc}")
                    continue
                ok.append(i)
                images.append(image)
                knowns.append(known)
            if not ok:
                continue
            on_step = None
            if progress:  # the bar's length: this batch's longest search
                iters, _ = completer.schedule(np.stack(knowns), config, lowres=mask.lowres)
                on_step = progress(bi, len(batches), int(iters.max()))
            result = completer.complete(
                np.stack(images),
                np.stack(knowns),
                config,
                samples=samples,
                lowres=mask.lowres,
                seed=seed,
                batch_size=len(ok),
                on_step=on_step,
                image_ids=ok,
            )
            report.seconds += result.seconds
            _write_batch(
                out,
                [reader.names[i] for i in ok],
                result,
                np.stack(images),
                np.stack(knowns),
                keep_hats,
                losses,
            )
            loss_file.flush()
            report.completed += [out / f"{reader.names[i]}.png" for i in ok]
            grids["before"].append(np.stack(images))
            grids["masked"].append(_masked(np.stack(images), np.stack(knowns)))
            grids["completed"].append(result.images)
            if bi == 0 and result.frames:
                frames = _write_frames(out / "frames", result)
    for name, parts in grids.items():
        if parts:
            save_png(grid(np.concatenate(parts)[:64]), out / f"{name}.png")
    if gif and frames:
        save_gif(frames, out / "completion.gif")
    return report


def _masked(images: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Inputs with their holes shown white, as the reference's masked.png."""
    k = known[..., None]
    return (images * k + 255 * (1 - k)).astype(np.uint8)


def _write_batch(
    out: Path, names: list[str], result: Completion, images, knowns, keep_hats: bool, losses
) -> None:
    for j, name in enumerate(names):
        save_png(result.images[j], out / f"{name}.png")
        if keep_hats:
            save_png(result.hats[j], out / f"{name}.hat.png")
        for s in range(1, result.alternatives.shape[1]):
            save_png(result.alternatives[j, s], out / f"{name}.sample{s + 1}.png")
    for image, it, ctx, pri, total in result.history:
        losses.writerow([names[image], it, f"{ctx:.6g}", f"{pri:.6g}", f"{total:.6g}"])


def _write_frames(folder: Path, result: Completion) -> list[np.ndarray]:
    """frames/hats_N.png and frames/completed_N.png for the first batch; returns GIF frames."""
    pictures = []
    for it, hats, done in result.frames:
        save_png(grid(hats), folder / f"hats_{it:05d}.png")
        pic = grid(done)
        save_png(pic, folder / f"completed_{it:05d}.png")
        pictures.append(pic)
    return pictures


def complete_photos(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    completer: Completer,
    config: CompletionConfig,
    *,
    mask_path: Path | None = None,
    box: tuple[int, int, int, int] | None = None,
    seed: int = 0,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> JobReport:
    """Complete faces inside ordinary photos: NAME.png per photo, same size, mode and EXIF."""
    if (mask_path is None) == (box is None):
        raise ValueError("--align needs exactly one of --mask MASK.png (photo pixels, white = fill) or --box")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = find_images(inputs)
    if not files:
        raise ImageError(f"{', '.join(map(str, inputs))}: no images found")
    masks_by_stem = (
        {p.name.rsplit(".", 1)[0]: p for p in find_images([mask_path])}
        if mask_path and mask_path.is_dir()
        else {}
    )
    report = JobReport()
    for path, name in zip(files, flat_names(files), strict=True):
        try:
            photo = open_image(path)
            known = None
            if mask_path is not None:
                stem = path.name.rsplit(".", 1)[0]
                source = masks_by_stem.get(stem) if masks_by_stem else mask_path
                if source is None:
                    raise ImageError(f"{path}: no mask named {stem}.* in {mask_path}")
                upright = ImageOps.exif_transpose(photo)
                known = load_mask_file(source, upright.size)
            result = completer.complete_photo(photo, known, config, box=box, seed=seed)
        except (ImageError, ValueError) as exc:
            line = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            report.failed.append(line)
            warn(f"error: {line}")
            continue
        target = out / f"{name}.png"
        save_atomic(result.image, target, exif=result.image.info.get("exif", b""))
        report.completed.append(target)
    return report
