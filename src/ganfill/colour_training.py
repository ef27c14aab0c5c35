"""Training the colouriser (colouring.py) on real aligned faces at the model's size.

Each step takes true faces and a hole of a kind people mask; the colouriser sees the whole
face's luma (inside the hole blurred a little, as soft as the search's fills) and the known
pixels' colours, and its loss is the L1 of its chroma against the truth's inside the hole.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ganfill import masks as mask_kinds
from ganfill.colouring import Colouriser, save_colouriser, to_ycc
from ganfill.config import ColouriserTrainConfig
from ganfill.finisher import blurred


def colour_loss(net: Colouriser, faces: torch.Tensor, known: torch.Tensor, soft: float = 0.0) -> torch.Tensor:
    """Mean |chroma error| inside the holes of true faces [B, 3, S, S] in [0, 1] (known [B, 1,
    S, S]), their luma in the holes blurred by a Gaussian of std soft."""
    ycc = to_ycc(faces)
    luma = torch.where(known > 0.5, ycc[:, :1], blurred(ycc[:, :1], soft))
    hole = 1 - known
    error = (net(luma, ycc[:, 1:], known) - ycc[:, 1:]).abs() * hole
    return error.sum() / (2 * hole.sum()).clamp(min=1)


def train_colouriser(
    faces: torch.Tensor,
    out: str | Path,
    config: ColouriserTrainConfig,
    *,
    progress: bool = True,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train a colouriser on uint8 faces [N, 3, S, S] (on the CPU) and write it to out every
    save_every steps, in float16 (it is an inference file: no run to resume); returns the log
    (step, hole chroma L1 in 8-bit levels, seconds)."""
    torch.manual_seed(config.seed)
    net = Colouriser(config.width).train()
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.steps)
    rng, gen = np.random.default_rng(config.seed), torch.Generator().manual_seed(config.seed)
    log: list[dict[str, float]] = []
    start = time.perf_counter()
    for step in tqdm(range(config.steps), disable=not progress, unit="step", file=sys.stderr):
        batch = faces[torch.randint(len(faces), (config.batch_size,), generator=gen)].float() / 255
        flip = torch.rand(len(batch), generator=gen) < 0.5
        batch[flip] = batch[flip].flip(-1)
        known = torch.from_numpy(mask_kinds.mixed(config.holes, len(batch), batch.shape[-1], rng))[:, None]
        loss = colour_loss(net, batch, known.float(), float(rng.uniform(0, config.soften)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        if step % 50 == 0 or step == config.steps - 1:
            log.append({"step": step, "l1": 255 * loss.item(), "seconds": time.perf_counter() - start})
            if on_log is not None:
                on_log(log[-1])
        if (step + 1) % config.save_every == 0 or step == config.steps - 1:
            info = asdict(config) | {
                "steps_done": step + 1,
                "train_seconds": round(time.perf_counter() - start, 1),
                "face_size": int(faces.shape[-1]),
                "faces": len(faces),
            }
            save_colouriser(out, net, info, half=True)
    return log


def train_colouriser_folder(
    data_dir: str | Path,
    out: str | Path,
    config: ColouriserTrainConfig,
    *,
    model_size: int = 64,
    exclude_file: str | Path | None = None,
    progress: bool = True,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """train_colouriser on the faces of a folder aligned at the model's size, leaving out the
    stems of exclude_file (the held-out split)."""
    from ganfill.data import excluded, load_folder

    faces = load_folder(data_dir, model_size, exclude=excluded(exclude_file)).images
    return train_colouriser(faces, out, config, progress=progress, on_log=on_log)
