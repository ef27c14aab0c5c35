"""The mirror detail's band and tolerance side by side on the same searches: the default's fills
without it (the encoder's guess, its search and the detail pass, at the schedule's strength), then
each (band, tolerance) pair's mirror detail over the same G(z*), blended as the default blends,
scored as `ganfill eval` scores them (hole PSNR, detail, SWD excess over the real-against-real
floor, identity, FD-face). The searches run once per mask and are cached (--cache: one folder
per split and model).

    python benchmarks/mirror_detail.py --masks pattern --variants 2:0.2,1.5:0.2,1:0.2,2:0.1

A variant is BAND:TOLERANCE, the band in pixels of the 64-px face (symmetry.BAND is 4, NARROW_BAND
1.5), the tolerance on the [-1, 1] scale (schedule.SYMMETRY is 0.2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from scoring import scores, search_alone

from ganfill.completion import Completer, blend
from ganfill.config import CompletionConfig, ModelSource
from ganfill.data import load_folder, read_split
from ganfill.evaluation import _Scorer
from ganfill.finisher import add_detail
from ganfill.images import to_tensor, to_uint8
from ganfill.symmetry import mirror_detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/aligned")
    parser.add_argument("--split", default="benchmarks/heldout_256.txt")
    parser.add_argument("--masks", default="pattern,left")
    parser.add_argument("--variants", default="4:0.2,1.5:0.2", help="BAND:TOLERANCE pairs")
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--cache", default="runs/mirror_detail_fills", help="folder of the searched fills")
    args = parser.parse_args()
    data = load_folder(args.data, 64, only=read_split(args.split))
    faces = data.images.permute(0, 2, 3, 1).numpy()
    scorer = _Scorer(faces, data.names, True)
    completer = Completer.load(ModelSource(model=args.model))
    images = to_tensor(faces)
    variants = [tuple(float(v) for v in pair.split(":")) for pair in args.variants.split(",")]
    rows: list[dict] = []
    for kind in args.masks.split(","):
        known, stored = search_alone(completer, faces, kind, Path(args.cache))
        holes = torch.from_numpy(known)[:, None].float()
        strength = torch.from_numpy(completer.plan(known, CompletionConfig()).detail).float()
        drawn = add_detail(completer.detail, to_tensor(stored["hats"]), strength)
        for band, tolerance in [(0.0, 0.0), *variants]:
            name = f"band {band:g} px, tolerance {tolerance:g}" if tolerance else "without it"
            fills = mirror_detail(drawn, images, holes, tolerance, band / 64) if tolerance else drawn
            done = to_uint8(blend(images, fills, holes, "poisson"))
            print(f"{kind:8s} {name:28s} {scores(scorer, rows, done, known, name, kind)}", flush=True)


if __name__ == "__main__":
    main()
