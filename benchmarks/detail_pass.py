"""Detail-pass files side by side on the same searches: the bundled model's search alone (no
detail pass) on the held-out faces (or --model's, with its own --cache), then each file's detail
pass over its G(z*) (stored 8-bit), blended as the default blends, scored as `ganfill eval`
scores them (hole PSNR, detail, SWD with its floor and its excess per pyramid band, 64 / 32 /
16 px, identity, FD-face). The searches run once per mask and are cached, so comparing training
snapshots costs only the scoring.

    python benchmarks/detail_pass.py --masks center,eyes,mouth,pattern,left \
        runs/detail64k4/snap_2000.safetensors runs/detail64g/snap_2750.safetensors

--border 0 uses each pass without the mirrored frame (as the first bundled pass was used), and
--strength scales each pass's change (schedule.py uses 0.6 on narrow holes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from scoring import scores, search_alone

from ganfill import finisher
from ganfill.completion import Completer, blend
from ganfill.config import ModelSource
from ganfill.data import load_folder, read_split
from ganfill.evaluation import _Scorer
from ganfill.finisher import add_detail, load_finisher
from ganfill.images import to_tensor, to_uint8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="detail-pass files to compare")
    parser.add_argument("--data", default="data/aligned")
    parser.add_argument("--split", default="benchmarks/heldout_256.txt")
    parser.add_argument("--masks", default="center,eyes,mouth,pattern,left")
    parser.add_argument("--model", help="model file whose search fills the holes (default: the bundled one)")
    parser.add_argument("--cache", default="runs/detail_pass_fills", help="folder of the searched fills")
    parser.add_argument(
        "--border", type=int, default=finisher.BORDER, help="pixels mirrored beyond the frame (0: none)"
    )
    parser.add_argument("--strength", type=float, default=1.0, help="of each pass (schedule.py's)")
    args = parser.parse_args()
    data = load_folder(args.data, 64, only=read_split(args.split))
    faces = data.images.permute(0, 2, 3, 1).numpy()
    scorer = _Scorer(faces, data.names, True)
    completer = Completer.load(ModelSource(model=args.model))
    nets = {name: load_finisher(name) for name in args.files}  # each file read once
    images = to_tensor(faces)
    rows: list[dict] = []
    for kind in args.masks.split(","):
        known, stored = search_alone(completer, faces, kind, Path(args.cache))
        fills, hats, holes = stored["fills"], to_tensor(stored["hats"]), torch.from_numpy(known)[:, None]
        for name in ["search alone", *args.files]:
            if name == "search alone":
                done = fills
            else:
                drawn = add_detail(nets[name], hats, args.strength, border=args.border)
                done = to_uint8(blend(images, drawn, holes, "poisson"))
            line = scores(scorer, rows, done, known, name, kind)
            print(f"{kind:8s} {Path(name).stem:14s} {line}", flush=True)


if __name__ == "__main__":
    main()
