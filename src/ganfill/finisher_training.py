"""Training the detail finisher (finisher.py) on aligned faces at its output size.

Each step takes true faces at 3x the model's size, their 3x3 block means as the 64-px
completion, and a hole of a kind people mask in photos; the finisher redraws the hole from the
means and the photo around it. Its loss: L1 against the truth, a patch critic's hinge loss on
the hole (Lim & Ye 2017; spectral norm, Miyato et al. 2018) and the match of the hole's amount
of fine detail (mean |Laplacian|) to the truth's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from tqdm import tqdm

from ganfill import devices
from ganfill import masks as mask_kinds
from ganfill.checkpoint import (
    CRITIC_KIND,
    Model,
    load_model,
    read_safetensors,
    write_safetensors,
)
from ganfill.config import ConfigError, FinisherTrainConfig
from ganfill.finisher import (
    SCALE,
    Finisher,
    add_detail,
    blurred,
    default_detail,
    load_finisher,
    redraw,
    save_finisher,
)
from ganfill.images import GREY
from ganfill.realism import LAPLACIAN

LAPLACIAN_KERNEL = torch.from_numpy(LAPLACIAN).float().view(1, 1, 3, 3)
GREY_WEIGHTS = torch.from_numpy(GREY).float().view(1, 3, 1, 1)


class PatchCritic(nn.Module):
    """A PatchGAN critic: one logit per 22-px patch of a face at the finisher's size."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width, 2 * width, 4 * width):
            layers += [spectral_norm(nn.Conv2d(channels, out, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            channels = out
        self.net = nn.Sequential(*layers, spectral_norm(nn.Conv2d(channels, 1, 3, 1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """A realness logit per patch of x: [B, 1, H/8, W/8]."""
        return self.net(x)


def critic_file(finisher_file: str | Path) -> Path:
    """Where a finisher file's critic is kept: NAME.critic.safetensors beside it (training state,
    not bundled: completion never needs it)."""
    return Path(finisher_file).with_suffix(".critic.safetensors")


def _networks(
    config: FinisherTrainConfig, init_from: str | Path | None, device: torch.device
) -> tuple[Finisher, PatchCritic, dict]:
    """A finisher to train (init_from's weights if given) and its critic (init_from's kept one if
    there is one, else fresh), both on device, and how init_from was trained (empty for a fresh
    start)."""
    finisher = Finisher(config.width, config.blocks, config.scale, config.keep, config.highpass)
    critic, before = PatchCritic(), {}
    if init_from:
        earlier = load_finisher(init_from)
        finisher.load_state_dict(earlier.state_dict())
        before = earlier.info
        kept = critic_file(init_from)
        if kept.exists():
            tensors, _ = read_safetensors(kept, CRITIC_KIND)
            critic.load_state_dict(tensors)
    return finisher.to(device).train().requires_grad_(True), critic.to(device), before


def _save(out: str | Path, finisher: Finisher, critic: PatchCritic, info: dict) -> None:
    """Write the finisher file, and its critic beside it (critic_file) for a continued run."""
    save_finisher(out, finisher, info)
    write_safetensors(critic_file(out), critic.state_dict(), {"kind": CRITIC_KIND})


def hole_crops(
    faces: torch.Tensor, known: torch.Tensor, side: int, rng: np.random.Generator, grid: int = SCALE
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each face and mask cut to side x side around a random pixel of its hole, the corner on
    the grid of the finisher's kept blocks (so that their means stay those of the whole face)."""
    full = faces.shape[-1]
    if side >= full:
        return faces, known
    faces_out, known_out = [], []
    for face, mask in zip(faces, known, strict=True):
        ys, xs = torch.nonzero(mask[0] < 0.5, as_tuple=True)
        pick = int(rng.integers(len(ys))) if len(ys) else None
        cy, cx = (int(ys[pick]), int(xs[pick])) if pick is not None else (full // 2, full // 2)
        top, left = (min(max(0, c - side // 2), full - side) // grid * grid for c in (cy, cx))
        faces_out.append(face[:, top : top + side, left : left + side])
        known_out.append(mask[:, top : top + side, left : left + side])
    return torch.stack(faces_out), torch.stack(known_out)


def _detail(images: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean |Laplacian| of each image's grey values inside its hole [B] (realism.detail, in torch
    so that it has a gradient)."""
    grey = (images * GREY_WEIGHTS.to(images.device)).sum(1, keepdim=True)
    edges = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="reflect"), LAPLACIAN_KERNEL.to(images.device)).abs()
    return (edges * hole).sum((1, 2, 3)) / hole.sum((1, 2, 3)).clamp(min=1)


def _batch(
    faces: torch.Tensor,
    config: FinisherTrainConfig,
    rng: np.random.Generator,
    gen: torch.Generator,
    guesses: Model | None = None,
    detail: Finisher | None = None,
    *,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """A step's faces in [-1, 1] (flipped at random), their known-masks (none known without
    context) and, with a model, its guesses of the faces at its size (with the detail pass, as
    completion draws them) pasted into the holes (without context: its whole faces), all
    mirrored `border` px beyond the frame and cut around the holes, on `device`."""
    picked = faces[torch.randint(len(faces), (config.batch_size,), generator=gen)]
    batch = picked.to(device).float().div(127.5).sub(1)
    flip = (torch.rand(len(batch), generator=gen) < 0.5).to(device)
    batch[flip] = batch[flip].flip(-1)
    known = torch.from_numpy(mask_kinds.mixed(config.holes, len(batch), batch.shape[-1], rng))[:, None]
    known = known.to(device)
    fills = None
    if guesses is not None:  # drawn at the model's size, shown at the finisher's (nearest)
        r = config.scale
        small, small_known = F.avg_pool2d(batch, r), (F.avg_pool2d(known, r) > 0.999).float()
        with torch.no_grad():
            drawn = guesses.generator(guesses.encoder(small, small_known))
            if detail is not None:
                drawn = add_detail(detail, drawn)
        fills = torch.where(small_known > 0.5, small, drawn) if config.context else drawn
        fills = F.interpolate(fills, scale_factor=r, mode="nearest") if r > 1 else fills
    if not config.context:
        known = torch.zeros_like(known)
    both = batch if fills is None else torch.cat([batch, fills], 1)
    if config.border:  # mirrored beyond the frame as at use; crops wider by the border each side
        both, known = (F.pad(t, (config.border,) * 4, mode="reflect") for t in (both, known))
    if config.crop:
        side = config.crop + 2 * config.border
        both, known = hole_crops(both, known, side, rng, config.scale * config.keep)
    return both[:, :3], known, None if fills is None else both[:, 3:]


def _losses(
    finisher,
    critic,
    faces: torch.Tensor,
    known: torch.Tensor,
    config: FinisherTrainConfig,
    soft: float,
    fills: torch.Tensor | None = None,
):
    """The finisher's loss terms on one batch (given the faces' block means, or fills, blurred
    by `soft` model pixels), and the composite the critic judges."""
    low = blurred(F.avg_pool2d(faces if fills is None else fills, finisher.scale), soft)
    if config.context:
        out = finisher(low, faces, known)
    else:  # with a border the network sees the mirrored frame, the loss only the face's own pixels
        out = redraw(finisher, low, 0)
        inner = (
            ...,
            slice(config.border, out.shape[-2] - config.border),
            slice(config.border, out.shape[-1] - config.border),
        )
        out, faces, known = out[inner], faces[inner], known[inner]
    hole = 1 - known
    composite = out * hole + faces * known
    l1 = ((out - faces).abs() * hole).sum() / (3 * hole.sum()).clamp(min=1)
    opinion = critic(composite)
    patches = F.adaptive_max_pool2d(hole, opinion.shape[-2:])  # the patches the hole reaches
    adv = -(opinion * patches).sum() / patches.sum().clamp(min=1)
    ratio = torch.log((_detail(out, hole) + 1e-4) / (_detail(faces, hole) + 1e-4))
    terms = {"l1": l1, "adv": adv, "detail_log_ratio": ratio.pow(2).mean()}
    total = config.l1_weight * l1 + config.adv_weight * adv + config.detail_weight * terms["detail_log_ratio"]
    return total, terms, composite.detach(), patches


def _critic_step(critic, opt, faces: torch.Tensor, composite: torch.Tensor, patches: torch.Tensor) -> float:
    """One hinge-loss step of the critic: real faces high, the holes' patches of fills low."""
    real = F.relu(1 - critic(faces)).mean()
    fake = (F.relu(1 + critic(composite)) * patches).sum() / patches.sum().clamp(min=1)
    loss = real + fake
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def train_finisher(
    faces: torch.Tensor,
    out: str | Path,
    config: FinisherTrainConfig,
    *,
    init_from: str | Path | None = None,
    guesses: Model | None = None,
    detail: Finisher | None = None,
    progress: bool = True,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train a finisher on uint8 faces [N, 3, rS, rS] and write it to out every save_every steps.

    init_from: a finisher file to continue training (its steps and seconds add up; its critic
    too where critic_file(init_from) exists, else a fresh one, which config.critic_warmup steps
    train alone first); the critic is written beside out at each save. guesses: a model whose
    encoder's guesses (with `detail`, the detail pass completion runs) pasted into the holes are
    what it learns to draw over, instead of the true faces blurred. on_log: each log entry.
    """
    if guesses is not None and guesses.encoder is None:
        raise ConfigError("guesses need a model with an encoder (ganfill train-encoder)")
    torch.manual_seed(config.seed)
    device = devices.pick_device(config.device)
    finisher, critic, before = _networks(config, init_from, device)
    guesses = None if guesses is None else guesses.to(device)
    opt = torch.optim.Adam(finisher.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_critic = torch.optim.Adam(critic.parameters(), lr=config.lr, betas=(0.5, 0.999))
    rng, gen = np.random.default_rng(config.seed), torch.Generator().manual_seed(config.seed)
    log: list[dict[str, float]] = []
    start = time.perf_counter()
    steps = range(-config.critic_warmup, config.steps)  # negative: the critic's warm-up
    for step in tqdm(steps, disable=not progress, unit="step", file=sys.stderr):
        batch, known, fills = _batch(faces, config, rng, gen, guesses, detail, device=device)
        soft = float(rng.uniform(0, config.soften))
        with torch.set_grad_enabled(step >= 0):
            total, terms, composite, patches = _losses(finisher, critic, batch, known, config, soft, fills)
        if step < 0:
            _critic_step(critic, opt_critic, batch, composite, patches)
            continue
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        critic_loss = _critic_step(critic, opt_critic, batch, composite, patches)
        if step % 50 == 0 or step == config.steps - 1:
            entry = {k: v.item() for k, v in terms.items()} | {"seconds": time.perf_counter() - start}
            log.append({"step": step, "loss": total.item(), "critic": critic_loss, **entry})
            if on_log is not None:
                on_log(log[-1])
        if (step + 1) % config.save_every == 0 or step == config.steps - 1:
            info = asdict(config) | {
                "steps_done": before.get("steps_done", 0) + step + 1,
                "train_seconds": round(before.get("train_seconds", 0) + time.perf_counter() - start, 1),
                "face_size": int(faces.shape[-1]),
                "faces": len(faces),
                "continued_from": None if init_from is None else Path(init_from).name,
                "guesses": guesses is not None,
                "guesses_detail": detail is not None,
            }
            _save(out, finisher, critic, info)
    return log


def train_finisher_folder(
    data_dir: str | Path,
    out: str | Path,
    config: FinisherTrainConfig,
    *,
    model_size: int = 64,
    exclude_file: str | Path | None = None,
    init_from: str | Path | None = None,
    guesses: str | Path | None = None,
    progress: bool = True,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """train_finisher on the faces of a folder aligned at the finisher's output size (model_size
    x config.scale: `ganfill align --size 192` for scale 3), leaving out the stems of
    exclude_file (the held-out split)."""
    from ganfill.data import excluded, load_folder

    exclude = excluded(exclude_file)
    faces = load_folder(data_dir, model_size * config.scale, exclude=exclude).images
    model, detail = None, None
    if guesses is not None:
        model = load_model(guesses)
        for net in (model.generator, model.encoder):
            if net is not None:
                net.eval().requires_grad_(False)
        if config.scale > 1:  # a finisher sees completions: the guesses with the detail pass
            detail = default_detail(model_size)
    return train_finisher(
        faces,
        out,
        config,
        init_from=init_from,
        guesses=model,
        detail=detail,
        progress=progress,
        on_log=on_log,
    )
