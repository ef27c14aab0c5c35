"""The one-command demo: complete the bundled example faces with centre and random masks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganfill import masks
from ganfill.completion import Completer
from ganfill.config import CompletionConfig
from ganfill.data import load_folder
from ganfill.images import save_gif, save_png, show_holes, side_by_side

DEMO_MASKS = ("center", "random")


@dataclass
class DemoResult:
    """The files the demo wrote."""

    grid: Path
    gif: Path
    seconds: float


def run_demo(
    images_dir: str | Path,
    out_dir: str | Path,
    completer: Completer,
    *,
    iters: int | None = None,
    seed: int = 0,
    on_step: Callable[[int, float], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> DemoResult:
    """Complete every face of images_dir with each demo mask in one batch; write grid and GIF.

    grid.png: one row per face: original | centre hole | completed | 80% missing | completed.
    completion.gif: the search as it goes, the same layout.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    faces = load_folder(images_dir, completer.size).images.permute(0, 2, 3, 1).numpy()  # [N, S, S, 3]
    n = len(faces)
    known = np.concatenate([masks.make(kind, n, completer.size, seed=seed) for kind in DEMO_MASKS])
    batch = np.concatenate([faces] * len(DEMO_MASKS))
    cfg = CompletionConfig(iters=iters)
    cfg = dataclasses.replace(cfg, save_every=max(1, completer.plan(known, cfg).steps // 25))
    result = completer.complete(
        batch, known, cfg, seed=seed, batch_size=len(batch), on_step=on_step, on_plan=on_plan
    )
    holes = show_holes(batch, known)

    def layout(done: np.ndarray) -> np.ndarray:
        columns = [faces]
        for j in range(len(DEMO_MASKS)):
            columns += [holes[j * n : (j + 1) * n], done[j * n : (j + 1) * n]]
        return side_by_side(columns)

    save_png(layout(result.images), out / "grid.png")
    for i, name in enumerate(DEMO_MASKS):
        for j in range(n):
            save_png(result.images[i * n + j], out / "completed" / f"{name}_{j:02d}.png")
    frames = [layout(done) for _, _, done in result.frames]
    save_gif(frames + [frames[-1]] * 10, out / "completion.gif")
    return DemoResult(out / "grid.png", out / "completion.gif", result.seconds)
