"""How much the SWD of hole patches depends on which patches are drawn, at the photo benchmark's
size and at 64 px: the same fills scored over several draws (the score's seed), with 64 patches
a hole (realism's default) and with more.

Fills: the truth blurred by 1 px inside the hole (a stand-in any method could be), and with
--model, ganfill's own completions (`complete --align` defaults; the slow part). Photos: the
photo benchmark's held-out chips pasted into 320x320 photos (photo_resolution.py); 64 px: the
aligned held-out faces of heldout_256.txt, as `ganfill eval` scores them.

    python benchmarks/swd_noise.py [--limit 48] [--draws 4] [--masks eyes,mouth] [--ganfill]
        [--model FILE] [--exemplars FILE|none]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from machine import describe_machine
from photo_resolution import HOLE_PATCHES, SIDE, fill, photo_mask, photos

from ganfill.completion import Completer
from ganfill.config import CompletionConfig, ModelSource
from ganfill.data import load_folder, read_split
from ganfill.masks import make
from ganfill.realism import PER_IMAGE, swd

HERE = Path(__file__).resolve().parent


def blurred(truths: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The truths with their holes blurred by a 1-px Gaussian."""
    soft = np.stack([cv2.GaussianBlur(t, (0, 0), 1.0) for t in truths])
    return np.where(known[..., None] > 0.5, truths, soft)


def report(
    label: str, fills: np.ndarray, truths: np.ndarray, known: np.ndarray, counts: tuple[int, ...], draws: int
) -> None:
    """One row per patch count: the score and its floor over the draws, and seconds per score."""
    for per_image in counts:
        start = time.perf_counter()
        scores = [swd(fills, truths, known, seed=s, per_image=per_image) for s in range(draws)]
        seconds = (time.perf_counter() - start) / draws
        fill_scores, floors = (np.array(column) for column in zip(*scores, strict=True))
        print(
            f"| {label} | {per_image} | {' / '.join(f'{v:.1f}' for v in fill_scores)} "
            f"| {np.ptp(fill_scores):.1f} | {floors.min():.1f}-{floors.max():.1f} | {seconds:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data" / "utkface")
    parser.add_argument("--aligned", type=Path, default=HERE.parent / "data" / "aligned")
    parser.add_argument("--limit", type=int, default=48, help="photos of the photo benchmark")
    parser.add_argument("--draws", type=int, default=4, help="seeds of the score per row")
    parser.add_argument("--masks", default="eyes,mouth", help="the photos' masks")
    parser.add_argument("--ganfill", action="store_true", help="also ganfill's completions of the photos")
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--exemplars", help="exemplar library file, or none (default: the bundled one)")
    args = parser.parse_args()
    print(describe_machine())
    print("| fills | patches a hole | SWD per draw | spread | floor | s per score |")
    print("|---|---|---|---|---|---|")
    completer = Completer.load(ModelSource(model=args.model, exemplars=args.exemplars))
    aligner = completer.aligner()
    found = [(p, aligner.detect(p)) for p in photos(args.data, args.limit)]
    pictures = [(p, faces[0].matrix) for p, faces in found if faces]
    truths = np.stack([p for p, _ in pictures])
    counts, config = (PER_IMAGE, HOLE_PATCHES), CompletionConfig()
    for kind in args.masks.split(","):
        known = np.stack([photo_mask(kind, m, completer.size) for _, m in pictures])
        name = f"{len(truths)} photos {SIDE}px, {kind}"
        report(f"{name}, truth blurred 1 px", blurred(truths, known), truths, known, counts, args.draws)
        if args.ganfill:
            done = [fill("ganfill", completer, p, k, config) for p, k in zip(truths, known, strict=True)]
            report(f"{name}, ganfill", np.stack(done), truths, known, counts, args.draws)
    faces = load_folder(args.aligned, 64, only=read_split(HERE / "heldout_256.txt")).images
    faces = faces.permute(0, 2, 3, 1).numpy()
    for kind in ("center", "eyes"):
        known = make(kind, len(faces), 64)
        name = f"{len(faces)} faces 64px, {kind}, truth blurred 1 px"
        report(name, blurred(faces, known), faces, known, (PER_IMAGE, 4 * PER_IMAGE), args.draws)


if __name__ == "__main__":
    main()
