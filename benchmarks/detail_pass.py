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

import numpy as np
import torch

from ganfill import finisher, masks
from ganfill.completion import Completer, blend
from ganfill.config import ModelSource
from ganfill.data import load_folder, read_split
from ganfill.evaluation import _Scorer, _summarise
from ganfill.finisher import add_detail, load_finisher
from ganfill.images import to_tensor, to_uint8
from ganfill.realism import swd_levels


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
        known = masks.make(kind, len(faces), 64, seed=0)  # ganfill eval's masks (its seed 0)
        cached = Path(args.cache) / f"{kind}.npz"
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            done = completer.complete(faces, known, detail=0.0)
            np.savez_compressed(cached, fills=done.images, hats=done.hats)
        stored = np.load(cached)
        fills, hats, holes = stored["fills"], to_tensor(stored["hats"]), torch.from_numpy(known)[:, None]
        for name in ["search alone", *args.files]:
            if name == "search alone":
                done = fills
            else:
                drawn = add_detail(nets[name], hats, args.strength, border=args.border)
                done = to_uint8(blend(images, drawn, holes, "poisson"))
            new, fd = scorer.score(done, known, name, kind, 0.0)
            rows += new
            s = _summarise(name, kind, rows, fd)
            levels = swd_levels(done, faces, known, seed=0)
            score, floor = (float(np.mean(v)) for v in zip(*levels, strict=True))
            bands = " / ".join(f"{a - b:.1f}" for a, b in levels)
            print(
                f"{kind:8s} {Path(name).stem:14s} hole PSNR {s['psnr_hole']:.2f}  detail {s['detail']:.3f}  "
                f"SWD {score:.1f} (floor {floor:.1f}, excess {score - floor:.1f}; per band {bands})  "
                f"identity {s['identity']:.4f}  FD-face {s['fd_face']:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
