"""Which library face each photo's fill borrows its fine detail from: the exemplar library's
choices, and its failures (a borrowed open smile over a closed one, a watermark's letters), made
visible in the model's own 64-px frame.

Per held-out photo of photo_resolution.py (the same photos and masks), one row: the aligned face
with its hole | the search's fill | the fill with the library's detail (what the photo stage then
draws) | the library face it borrowed (grey) | the change the library made (x3, on grey).

    cd benchmarks && python borrowed_faces.py --limit 6 --mask mouth --out ../runs/borrowed_mouth.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from photo_resolution import HERE, photo_mask, photos  # the benchmark's photos and masks, beside this file
from PIL import Image

from ganfill.completion import Completer
from ganfill.config import CompletionConfig
from ganfill.exemplars import nearest, transfer
from ganfill.images import GREY, grid, save_png
from ganfill.photos import complete_photo


def borrowed_rows(completer: Completer, photo: np.ndarray, known: np.ndarray) -> list[np.ndarray]:
    """The row of tiles (uint8 [64, 64, 3]) for one photo's face, and its borrowed face printed."""
    library = completer.exemplars
    tiles: list[np.ndarray] = []

    def fill(faces: np.ndarray, face_known: np.ndarray) -> np.ndarray:
        done = completer.complete(faces, face_known, CompletionConfig(dilate=0, feather=0)).alternatives
        lent = transfer(library, faces, face_known, done)
        for face, keep, mine, theirs in zip(faces, face_known > 0.5, done[:, 0], lent[:, 0], strict=True):
            ((index, gain),) = nearest(library, face, keep, mine[None])
            change = (theirs.astype(np.float32) - mine.astype(np.float32)) @ GREY
            grey = [library.faces[index].astype(np.float32), 128 + 3 * change]
            tiles.extend([face * keep[..., None], mine, theirs])
            tiles.extend(np.repeat(np.clip(g, 0, 255).astype(np.uint8)[..., None], 3, -1) for g in grey)
            print(f"borrowed library face {index} of {len(library)} (gain {gain:.2f})")
        return lent

    complete_photo(Image.fromarray(photo), known, completer.aligner(), fill, finisher=completer.finisher)
    return tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data" / "utkface")
    parser.add_argument("--limit", type=int, default=6)
    parser.add_argument("--mask", default="mouth", help="eyes, mouth or center")
    parser.add_argument("--out", type=Path, default=HERE.parent / "runs" / "borrowed.png")
    args = parser.parse_args()
    completer = Completer.load()
    if completer.exemplars is None:
        raise SystemExit("the model has no exemplar library: nothing is borrowed")
    aligner = completer.aligner()
    tiles = []
    for photo in photos(args.data, args.limit):
        found = aligner.detect(photo)
        if found:
            tiles += borrowed_rows(completer, photo, photo_mask(args.mask, found[0].matrix, completer.size))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_png(grid(np.stack(tiles), ncols=5), args.out)
    print(f"wrote {args.out}: rows of face with hole | fill | with the library | borrowed face | change x3")


if __name__ == "__main__":
    main()
