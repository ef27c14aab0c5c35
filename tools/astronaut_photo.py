"""The issue's test as a picture: scikit-image's astronaut (512x512, a 90-px face) with her eyes
and mouth boxes completed by `complete --align` defaults, shown at the photo's own resolution.

Per row (eyes, then mouth): the original | masked | the 64-px fill warped up (--finisher none
--exemplars none --grain 0) | with the finisher (--exemplars none --grain 0) | and the photo's
grain (--exemplars none) | the default (a real face's fine detail from the exemplar library;
with --mouth FILE, that without the mouth model and then with it: the mouth redrawn by a mouth
generator) | her own face at 64 px as the fill, through the same photo stage (finisher, blend,
grain: what that stage keeps); each a crop around the face, enlarged 2x (nearest) so that pixels
show. Prints each fill's detail ratio in the box (mean |Laplacian| over the original's, eroded
3 px) at the photo's size, halved and at a third (about the model's 64-px frame).

With --redraws N, instead: the original | the default fill | the default after each of N redraws
of the generator's batch-norm statistics (models.recalibrate_batchnorm, seeds 1..N, codes drawn
as --shorten trained them). A redraw changes nothing real, yet it can change her mouth
(BENCHMARKS.md "Session 39"): judge a model's picture on every redraw, not on one.

    python tools/astronaut_photo.py --out docs/astronaut_photo.png [--model FILE] [--finisher FILE]
        [--mouth FILE] [--redraws 4 --shorten X]
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
from PIL import Image
from skimage import data as samples

from ganfill.completion import Completer
from ganfill.config import ModelSource
from ganfill.images import grid, save_png, show_holes
from ganfill.models import recalibrate_batchnorm
from ganfill.photos import box_mask, complete_photo, own_faces
from ganfill.realism import detail_ratio_at

BOXES = {"eyes": (185, 98, 75, 28), "mouth": (195, 130, 50, 25)}  # x, y, w, h (the issue's)
CROP = np.s_[50:210, 145:305]  # the face
ZOOM = 2


def zoomed(image: np.ndarray) -> np.ndarray:
    """The crop around her face, enlarged ZOOM x (nearest) so that pixels show."""
    return image[CROP].repeat(ZOOM, 0).repeat(ZOOM, 1)


def redrawn(completer: Completer, photo: Image.Image, n: int, shorten: float, out: str) -> None:
    """Save original | default | default after each of n redraws of G's statistics, per box."""
    knowns = {name: box_mask(photo.size, box) for name, box in BOXES.items()}
    rows: dict[str, list[np.ndarray]] = {name: [np.asarray(photo)] for name in BOXES}
    for seed in range(n + 1):
        if seed:  # in place: each redraw replaces the statistics the file (or the last) carried
            recalibrate_batchnorm(completer.model.generator, seed=seed, shorten=shorten)
        for name, known in knowns.items():
            rows[name].append(np.asarray(completer.complete_photo(photo, known).image))
    save_png(grid(np.stack([zoomed(im) for row in rows.values() for im in row]), ncols=2 + n), out)
    print(f"wrote {out}: rows eyes, mouth; original | default | after redraws 1-{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/astronaut_photo.png")
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--finisher", help="finisher file (default: the bundled one)")
    parser.add_argument("--mouth", help="mouth model file (default: the bundled one)")
    parser.add_argument("--redraws", type=int, default=0, help="the default fill after N redraws instead")
    parser.add_argument("--shorten", type=float, default=0.0, help="with --redraws: as the model trained")
    args = parser.parse_args()
    photo = Image.fromarray(samples.astronaut())  # a real portrait shipped with scikit-image
    original = np.asarray(photo)
    finished = Completer.load(ModelSource(model=args.model, finisher=args.finisher, mouth=args.mouth))
    finished.aligner()  # dlib and the model load once: the variants below share them
    if args.redraws:
        redrawn(finished, photo, args.redraws, args.shorten, args.out)
        return
    no_mouth = copy.copy(finished)
    no_mouth.mouth = None  # --mouth none
    generator_only = copy.copy(no_mouth)
    generator_only.exemplars = None  # --exemplars none
    plain = copy.copy(generator_only)
    plain.finisher = None  # --finisher none
    ways = {"64-px fill warped up": (plain, 0.0), "with the finisher": (generator_only, 0.0)}
    ways["and the grain"] = (generator_only, 1.0)
    if finished.mouth is None:
        ways["default (exemplar detail)"] = (finished, 1.0)
    else:
        ways["and exemplar detail (--mouth none)"] = (no_mouth, 1.0)
        ways["and the mouth redrawn (--mouth)"] = (finished, 1.0)
    names = [*ways, "her own 64-px face as the fill"]
    tiles = []
    print("| box | fill | detail | at 1/2 | at 1/3 |\n|---|---|---|---|---|")
    for name, box in BOXES.items():
        known = box_mask(photo.size, box)
        results = [np.asarray(c.complete_photo(photo, known, grain=g).image) for c, g in ways.values()]
        own = complete_photo(photo, known, finished.aligner(), own_faces, finisher=finished.finisher)
        results.append(np.asarray(own.image))
        for way, result in zip(names, results, strict=True):
            ratios = [detail_ratio_at(result, original, known, f, erode=3) for f in (1, 2, 3)]
            print(f"| {name} | {way} | {' | '.join(f'{r:.2f}' for r in ratios)} |")
        masked = show_holes(original[None], known[None])[0]
        tiles += [zoomed(im) for im in (original, masked, *results)]
    save_png(grid(np.stack(tiles), ncols=2 + len(names)), args.out)
    print(f"wrote {args.out}: rows eyes, mouth; original | masked | {' | '.join(names)}")


if __name__ == "__main__":
    main()
