"""Can the generator draw the astronaut's face at all? Her face aligned at the model's 64 px, and
the generator's closest drawings of it, nothing masked: the encoder's guess G(E(y)), and a
search fitting every pixel (uniform weights) for each number of steps from that guess.

What a completion of her eyes or mouth can look like at her size (1.4 photo pixels per model
pixel) is bounded by this: tools/astronaut_photo.py shows that the photo stage keeps her own
64-px face's irises and teeth. Prints, for each drawing, the mean |error| (of 255) over the face
and the fine detail (detail ratio: mean |Laplacian| over hers) in the issue's eyes and mouth
boxes warped into the frame; saves truth | guess | each search, enlarged 6x. With --heldout N,
the same for the first N held-out faces of an aligned folder in the eyes and mouth masks (mean,
10th and 90th percentile): is she a hard face, or is the generator soft for every face?

    python tools/astronaut_projection.py [--steps 100,600] [--model FILE] [--out FILE]
        [--heldout 48 --aligned data/aligned/utkface] [--encoder-from FILE]

A generator still in training (a run folder or checkpoint) has no encoder of its own: give it
another model's with --encoder-from (the bundled one's); its guess is then only where the
searches start.
"""

from __future__ import annotations

import argparse

import numpy as np
from astronaut_photo import BOXES  # the boxes, beside this file
from skimage import data as samples

from ganfill import masks
from ganfill.alignment import warp
from ganfill.checkpoint import load_model
from ganfill.completion import Completer
from ganfill.config import CompletionConfig, ModelSource
from ganfill.data import load_folder, read_split
from ganfill.images import grid, save_png
from ganfill.photos import box_mask
from ganfill.realism import detail_ratio

ZOOM = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="100,600", help="search lengths, comma-separated")
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--out", default="runs/astronaut_projection.png")
    parser.add_argument("--heldout", type=int, default=0, help="also project this many held-out faces")
    parser.add_argument("--aligned", default="data/aligned/utkface", help="their aligned folder")
    parser.add_argument("--encoder-from", help="model file whose encoder starts the searches")
    args = parser.parse_args()
    completer = Completer.load(ModelSource(model=args.model))
    if args.encoder_from:  # frozen as Completer freezes its own networks
        encoder = load_model(args.encoder_from).encoder
        if encoder is None:
            parser.error(f"{args.encoder_from}: this model file has no encoder")
        completer.model.encoder = encoder.eval().requires_grad_(False)
    photo = samples.astronaut()
    aligner = completer.aligner()
    face = aligner.detect(photo)[0]
    truth = aligner.warp(photo, face)[None]
    boxes = {
        name: warp(box_mask(photo.shape[1::-1], box), face.matrix, aligner.size, interpolation="nearest")
        for name, box in BOXES.items()
    }
    steps = [0, *(int(s) for s in args.steps.split(","))]
    names = ["guess", *(f"search, {n} steps" for n in steps[1:])]
    drawings = dict(zip(names, drawn(completer, truth, steps), strict=True))
    print("| drawing | mean abs error (of 255) | detail, eyes box | detail, mouth box |\n|---|---|---|---|")
    for name, hats in drawings.items():
        error = np.abs(hats.astype(float) - truth).mean()
        ratios = [detail_ratio(hats[0], truth[0], box, erode=1) for box in boxes.values()]
        print(f"| {name} | {error:.1f} | {ratios[0]:.2f} | {ratios[1]:.2f} |")
    tiles = [im.repeat(ZOOM, 0).repeat(ZOOM, 1) for im in (truth[0], *(d[0] for d in drawings.values()))]
    save_png(grid(np.stack(tiles), ncols=len(tiles)), args.out)
    print(f"wrote {args.out}: her face at 64 px | {' | '.join(drawings)}")
    if args.heldout:
        found = load_folder(args.aligned, completer.size, only=read_split(), limit=args.heldout)
        faces = found.images.permute(0, 2, 3, 1).numpy()
        print(f"\n{len(faces)} held-out faces of {args.aligned}: detail (mean, 10th-90th percentile)")
        print("| drawing | eyes mask | mouth mask |\n|---|---|---|")
        kinds = [masks.make(kind, 1, completer.size)[0] for kind in ("eyes", "mouth")]
        for name, hats in zip(drawings, drawn(completer, faces, steps), strict=True):
            cells = []
            for known in kinds:
                ratios = [detail_ratio(h, t, known, erode=1) for h, t in zip(hats, faces, strict=True)]
                low, high = np.percentile(ratios, [10, 90])
                cells.append(f"{np.mean(ratios):.2f} ({low:.2f}-{high:.2f})")
            print(f"| {name} | {' | '.join(cells)} |")


def drawn(completer: Completer, faces: np.ndarray, steps: list[int]) -> list[np.ndarray]:
    """The generator's closest drawings of faces [N, S, S, 3], nothing masked, after each number of
    search steps from the encoder's guess (0: the guess), with uniform weights (the paper's weigh
    only known pixels beside a hole) so that it fits every pixel."""
    known = np.ones(faces.shape[:3], np.float32)
    fit = CompletionConfig(weighting="none", detail=0.0, symmetry=0.0, lr=0.01, blend="none")
    return [completer.complete(faces, known, fit, iters=n).hats for n in steps]


if __name__ == "__main__":
    main()
