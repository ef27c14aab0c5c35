"""Face detection on the held-out split: dlib's HOG detector alone against HOG with the CNN
fallback (alignment.FaceAligner, cnn_fallback), per data set: share of images with a face found,
and milliseconds per image (all images, and the images the fallback had to look at).

    python benchmarks/detection.py [--data ../shared/data] [--limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from machine import describe_machine

from ganfill.alignment import FaceAligner
from ganfill.data import HELDOUT_FILE, read_split, stem_of
from ganfill.images import find_images, open_rgb


def heldout_files(root: Path, limit: int | None) -> list[Path]:
    stems = set(read_split(HELDOUT_FILE))
    return [f for f in find_images([root]) if stem_of(f) in stems][:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    print(describe_machine())
    hog, both = FaceAligner(64, cnn_fallback=False), FaceAligner(64, cnn_fallback=True)
    print("| set | images | HOG found | HOG ms/img | HOG + CNN found | + CNN ms/img | CNN ms on a miss |")
    print("|---|---|---|---|---|---|---|")
    for name in ("celeba", "utkface"):
        files = heldout_files(args.data / name, args.limit)
        rgbs = [np.asarray(open_rgb(f)) for f in files]
        found, seconds = {}, {}
        for key, aligner in (("hog", hog), ("both", both)):
            start = time.perf_counter()
            found[key] = [bool(aligner.detect(rgb)) for rgb in rgbs]
            seconds[key] = time.perf_counter() - start
        misses = len(files) - sum(found["hog"])
        extra = (seconds["both"] - seconds["hog"]) / max(1, misses) * 1000
        n = len(files)
        print(
            f"| {name} | {n} | {sum(found['hog']) / n:.1%} | {seconds['hog'] / n * 1000:.0f} "
            f"| {sum(found['both']) / n:.1%} | {seconds['both'] / n * 1000:.0f} | {extra:.0f} |"
        )


if __name__ == "__main__":
    main()
