"""Measure how far each library face is from its nearest other face in a hole: the basis of SAME.

A face's alternatives each borrow detail from a different library person (`exemplars.nearest`),
and a face that is the same photo as one already taken (the chips hold some photos twice, see
tools/heldout_twins.py) counts as taken: two library faces whose blurred hole pixels differ by
less than `exemplars.SAME` grey levels on average (offsets removed) are one photo. For faces drawn
at random, prints the histogram of that distance to the nearest other face, per mask kind: twins
sit near 0, other people above a gap that SAME falls in.

    python tools/library_twins.py --faces 400
"""

from __future__ import annotations

import argparse

import numpy as np

from ganfill import masks
from ganfill.exemplars import SAME, Library

EDGES = np.arange(0, 7.5, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=400, help="library faces drawn at random")
    parser.add_argument("--kinds", default="eyes,mouth,center", help="mask kinds, comma-separated")
    args = parser.parse_args()
    library = Library()
    drawn = np.random.default_rng(0).choice(library.people, args.faces, replace=False)
    print(f"{library.path.name}: {library.people} faces, {args.faces} drawn; SAME = {SAME}")
    print("kind    twins(<SAME)  histogram of the nearest distance, bins of 0.5 from 0 to 7")
    for kind in args.kinds.split(","):
        hole = masks.make(kind, 1, library.size)[0] < 0.5
        near = library.near[: library.people][:, hole].astype(np.float32)
        near -= near.mean(1, keepdims=True)
        nearest = np.array([np.delete(np.abs(near - near[i]).mean(1), i).min() for i in drawn])
        print(f"{kind:7s} {(nearest < SAME).mean():12.1%}  {np.histogram(nearest, EDGES)[0].tolist()}")


if __name__ == "__main__":
    main()
