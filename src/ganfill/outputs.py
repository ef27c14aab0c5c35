"""What a batch completion writes: NAME.png per input (hats, samples), its losses and its manifest
line once its files are on disk, then the grids, frames and GIF. With background writes the
files of one batch are written while the next is searched."""

from __future__ import annotations

import csv
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ganfill.completion import Completion
from ganfill.config import OutputConfig
from ganfill.images import grid, known_to_mask_image, save_atomic, save_gif, save_png, show_holes
from ganfill.manifest import LOSS_FIELDS, Manifest
from ganfill.shards import Shard


class Outputs:
    """The job's files in out; use as a context manager (leaving it waits for every write)."""

    def __init__(self, out: Path, output: OutputConfig, shard: Shard, manifest: Manifest):
        self.out, self.output, self.shard, self.manifest = out, output, shard, manifest
        self.shown: dict[str, list[np.ndarray]] = {"before": [], "masked": [], "completed": []}
        self.frames: list[np.ndarray] = []
        self.writer = ThreadPoolExecutor(1, "ganfill-write") if output.background_io else None
        self.pending: list[Future] = []
        self.losses = out / f"losses.part{shard.rank}.csv"

    def __enter__(self) -> Outputs:
        return self

    def write(
        self,
        names: list[str],
        sources: list[Path],
        masks: list[str],
        images: np.ndarray,
        result: Completion,
    ) -> list[Path]:
        """Write one batch's files (each atomically), then their manifest lines; returns the
        completions' paths. images uint8 [B, S, S, 3] are the inputs (result.known: their holes as
        filled). The first batch of the first process also writes the frames."""
        job = (names, sources, masks, result)
        if self.writer is None:
            self._write(*job)
        else:
            self.pending.append(self.writer.submit(self._write, *job))
        shown = (images, show_holes(images, result.known), result.images)
        for key, part in zip(self.shown, shown, strict=True):
            self.shown[key].append(part)
        if not self.frames and result.frames and self.shard.rank == 0:
            self.frames = _write_frames(self.out / "frames", result)
        return [self.out / f"{name}.png" for name in names]

    def _write(self, names: list[str], sources: list[Path], masks: list[str], result: Completion) -> None:
        for j, name in enumerate(names):
            save_png(result.images[j], self.out / f"{name}.png")
            if self.output.keep_hats:
                save_png(result.hats[j], self.out / f"{name}.hat.png")
            if self.output.save_masks:
                save_atomic(known_to_mask_image(result.known[j]), self.out / f"{name}.mask.png")
            for s in range(1, result.alternatives.shape[1]):
                save_png(result.alternatives[j, s], self.out / f"{name}.sample{s + 1}.png")
        new = not self.losses.exists()
        with self.losses.open("a", newline="") as f:
            rows = csv.writer(f)
            if new:
                rows.writerow(LOSS_FIELDS)
            for image, it, ctx, pri, total in result.history:
                rows.writerow([names[image], it, f"{ctx:.6g}", f"{pri:.6g}", f"{total:.6g}"])
        seconds = result.seconds / len(names)
        for name, source, mask in zip(names, sources, masks, strict=True):
            self.manifest.record(source, self.out / f"{name}.png", mask, "done", seconds, None)

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.shutdown(wait=True)
            for job in self.pending:
                job.result()  # a failed write is raised here, not lost
        for name, parts in self.shown.items():
            if parts:
                save_png(grid(np.concatenate(parts)[:64]), self.out / f"{name}{self.shard.part}.png")
        if self.output.gif and self.frames:
            save_gif(self.frames, self.out / "completion.gif")


def _write_frames(folder: Path, result: Completion) -> list[np.ndarray]:
    """frames/hats_N.png and frames/completed_N.png for the first batch; returns GIF frames."""
    pictures = []
    for it, hats, done in result.frames:
        save_png(grid(hats), folder / f"hats_{it:05d}.png")
        pic = grid(done)
        save_png(pic, folder / f"completed_{it:05d}.png")
        pictures.append(pic)
    return pictures
