"""A grid for the eye: per face, truth | masked | the search alone | the default (+ detail pass), per mask.

    python tools/realism_grid.py --data data/aligned --split benchmarks/heldout_256.txt \
        --out docs/realism_grid.png
"""

from __future__ import annotations

import argparse

import numpy as np

from ganfill import masks
from ganfill.completion import Completer
from ganfill.config import CompletionConfig, ModelSource
from ganfill.data import load_folder, read_split
from ganfill.images import save_png, show_holes, side_by_side

SEARCH_ALONE = CompletionConfig(detail=0.0, symmetry=0.0)  # the encoder's guess and its search alone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/aligned")
    parser.add_argument("--split", default="benchmarks/heldout_256.txt")
    parser.add_argument("--masks", default="center,eyes,mouth")
    parser.add_argument("--faces", type=int, default=8)
    parser.add_argument("--out", default="docs/realism_grid.png")
    parser.add_argument(
        "--astronaut",
        action="store_true",
        help="the face of scikit-image's astronaut photo, aligned, instead",
    )
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--detail-pass", help="detail-pass file (default: the bundled one)")
    args = parser.parse_args()
    completer = Completer.load(ModelSource(model=args.model, detail_pass=args.detail_pass))
    if args.astronaut:
        from skimage import data as samples

        photo = samples.astronaut()  # a real 512x512 portrait shipped with scikit-image
        faces = np.stack([completer.aligner().warp(photo, completer.aligner().detect(photo)[0])])
    else:
        data = load_folder(args.data, 64, only=read_split(args.split))
        pick = np.linspace(0, len(data) - 1, args.faces).round().astype(int)  # both sets
        faces = data.images.permute(0, 2, 3, 1).numpy()[pick]
    columns = [faces]
    for kind in args.masks.split(","):
        known = masks.make(kind, len(faces), 64)
        columns.append(show_holes(faces, known))
        columns.append(completer.complete(faces, known, SEARCH_ALONE).images)
        columns.append(completer.complete(faces, known).images)
    save_png(side_by_side(columns), args.out)
    print(f"wrote {args.out}: rows = faces; truth, then per mask: masked | search alone | default")


if __name__ == "__main__":
    main()
