"""The mirror detail's band, tolerance and reach side by side on the same searches: the default's fills
without it (the encoder's guess, its search and the detail pass, at the schedule's strength), then
each variant's mirror detail over the same G(z*), blended as the default blends,
scored as `ganfill eval` scores them (hole PSNR, detail, SWD excess over the real-against-real
floor, identity, FD-face). The searches run once per mask and are cached (--cache: one folder
per split and model).

    python benchmarks/mirror_detail.py --masks pattern --variants 2:0.2,1.5:0.2,1:0.2,2:0.1

A variant is BAND:TOLERANCE[:REACH]: the band in pixels of the 64-px face (symmetry.BAND is 4,
NARROW_BAND 1.5), the tolerance on the [-1, 1] scale (schedule.SYMMETRY is 0.25,
OPEN_HOLE_SYMMETRY 0.3 on a half face), the share of the band's blur that must be real (default:
the schedule's for the mask, symmetry.REACH 0.99 or NARROW_REACH 0.5 on narrow holes).
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
from ganfill.images import save_png, show_holes, side_by_side, to_tensor, to_uint8
from ganfill.symmetry import mirror_detail

GRID_FACES = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/aligned")
    parser.add_argument("--split", default="benchmarks/heldout_256.txt")
    parser.add_argument("--masks", default="pattern,left")
    parser.add_argument("--variants", default="4:0.2,1.5:0.2", help="BAND:TOLERANCE[:REACH]")
    parser.add_argument("--strength", type=float, help="of the detail pass (default: the schedule's)")
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--cache", default="runs/mirror_detail_fills", help="folder of the searched fills")
    parser.add_argument("--grid", help="folder for grid_KIND.png: 16 faces, truth | masked | each variant")
    args = parser.parse_args()
    data = load_folder(args.data, 64, only=read_split(args.split))
    faces = data.images.permute(0, 2, 3, 1).numpy()
    scorer = _Scorer(faces, data.names, True)
    completer = Completer.load(ModelSource(model=args.model))
    images = to_tensor(faces)
    variants = [[float(v) for v in variant.split(":")] for variant in args.variants.split(",")]
    rows: list[dict] = []
    for kind in args.masks.split(","):
        known, stored = search_alone(completer, faces, kind, Path(args.cache))
        holes = torch.from_numpy(known)[:, None].float()
        schedule = completer.plan(known, CompletionConfig(detail=args.strength))
        strength = torch.from_numpy(schedule.detail).float()
        drawn = add_detail(completer.detail, to_tensor(stored["hats"]), strength)
        kind_reach = float(schedule.reach[0])  # the schedule's, where a variant names none
        columns = [faces[:GRID_FACES], show_holes(faces[:GRID_FACES], known[:GRID_FACES])]
        for band, tolerance, reach in [(0.0, 0.0, 0.0), *[[*v, kind_reach][:3] for v in variants]]:
            name = f"band {band:g} px, tolerance {tolerance:g}, reach {reach:g}" if tolerance else "off"
            fills = mirror_detail(drawn, images, holes, tolerance, band / 64, reach) if tolerance else drawn
            done = to_uint8(blend(images, fills, holes, "poisson"))
            print(f"{kind:8s} {name:28s} {scores(scorer, rows, done, known, name, kind)}", flush=True)
            columns.append(done[:GRID_FACES])
        if args.grid:
            Path(args.grid).mkdir(parents=True, exist_ok=True)
            save_png(side_by_side(columns), Path(args.grid) / f"grid_{kind}.png")


if __name__ == "__main__":
    main()
