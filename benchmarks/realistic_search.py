"""Fidelity and realism side by side for candidate searches on held-out faces.

For each mask and setup: hole PSNR, detail ratio (1 = as sharp as the real face) and its gap
|detail - 1|, SWD of hole patches (x1e3) and its excess over the real-against-real floor, the
colour ratio (spread of R - G in the hole over the truth's: below 1, the average face's paler
lips and irises) beside the chroma error (mean |Cb, Cr difference| from the truth in the hole,
8-bit levels: the colours' fidelity), the mean norm of z*, and seconds per face; Telea as the
classical reference.
Setups are `name=option:value:...` over CompletionConfig (`default` alone is today's default).

    python benchmarks/realistic_search.py --data data/aligned --limit 128 --masks center \
        --setups default "spread=spread:0.47" [--colouriser FILE] [--mouth FILE|none]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from machine import describe_machine

from ganfill import masks as mask_kinds
from ganfill.baselines import METHODS
from ganfill.colouring import to_ycc
from ganfill.completion import Completer
from ganfill.config import CompletionConfig, ModelSource
from ganfill.data import HELDOUT_FILE, load_folder, read_split
from ganfill.evaluation import parse_number
from ganfill.metrics import pixel_metrics
from ganfill.realism import colour_ratio, detail_ratio, swd


def parse_setup(text: str) -> tuple[str, dict[str, object]]:
    """'name=key:value:key:value' -> (name, options); 'default' -> ('default', {})."""
    name, _, rest = text.partition("=")
    parts = rest.split(":") if rest else []
    return name, {k: parse_number(v) for k, v in zip(parts[::2], parts[1::2], strict=True)}


def chroma_error(done: np.ndarray, faces: np.ndarray, known: np.ndarray) -> float:
    """Mean |Cb, Cr difference| (8-bit levels) of completions [N, H, W, 3] from the true faces in
    the holes."""
    ycc = [to_ycc(torch.from_numpy(x).permute(0, 3, 1, 2).float())[:, 1:] for x in (done, faces)]
    return float((ycc[0] - ycc[1]).abs().mean(1)[torch.from_numpy(known < 0.5)].mean())


def score(
    faces: np.ndarray, done: np.ndarray, known: np.ndarray, seconds: float, latents: np.ndarray | None = None
) -> dict[str, float]:
    """Mean hole PSNR, detail, detail gap, SWD excess over its floor, colour ratio, chroma error,
    |z*|, seconds per face."""
    psnr = np.mean([pixel_metrics(f, d, k)["psnr_hole"] for f, d, k in zip(faces, done, known, strict=True)])
    ratios = np.array([detail_ratio(d, f, k) for f, d, k in zip(faces, done, known, strict=True)])
    distance, floor = swd(done, faces, known)
    return {
        "psnr_hole": float(psnr),
        "detail": float(np.nanmean(ratios)),
        "detail_gap": float(np.nanmean(np.abs(ratios - 1))),
        "swd": distance,
        "swd_excess": distance - floor,
        "colour": float(
            np.nanmean([colour_ratio(d, f, k) for f, d, k in zip(faces, done, known, strict=True)])
        ),
        "chroma": chroma_error(done, faces, known),
        "s_face": seconds,
        "norm": float(np.linalg.norm(latents, axis=1).mean()) if latents is not None else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/aligned")
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--detail-pass", help="detail-pass file, or none (default: the bundled one)")
    parser.add_argument("--colouriser", help="colouriser file, or none (default: the bundled one)")
    parser.add_argument("--mouth", help="mouth model file, or none (default: the bundled one)")
    parser.add_argument("--limit", type=int, default=128)
    parser.add_argument("--masks", default="center")
    parser.add_argument("--setups", nargs="+", default=["default"])
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    source = ModelSource(
        model=args.model, detail_pass=args.detail_pass, colouriser=args.colouriser, mouth=args.mouth
    )
    completer = Completer.load(source)
    faces = load_folder(args.data, 64, only=read_split(HELDOUT_FILE), limit=args.limit).images
    faces = faces.permute(0, 2, 3, 1).numpy()
    print(describe_machine())
    detail, colouriser = args.detail_pass or "bundled", args.colouriser or "bundled"
    print(
        f"{len(faces)} held-out faces; model {args.model or 'bundled'}, detail pass {detail}, "
        f"colouriser {colouriser}, mouth {args.mouth or 'bundled'}"
    )
    columns = "hole PSNR dB | detail | detail gap | SWD | SWD excess | colour | chroma error"
    columns += " | mean norm of z* | s/face"
    print(f"| mask | setup | {columns} |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mask in args.masks.split(","):
        known = mask_kinds.make(mask, len(faces), 64)
        start = time.perf_counter()
        telea = np.stack([METHODS["telea"](f, k, 8) for f, k in zip(faces, known, strict=True)])
        rows = {"telea": score(faces, telea, known, (time.perf_counter() - start) / len(faces))}
        for name, options in map(parse_setup, args.setups):
            start = time.perf_counter()
            done = completer.complete(faces, known, CompletionConfig(**options), batch_size=args.batch_size)
            seconds = (time.perf_counter() - start) / len(faces)
            rows[name] = score(faces, done.images, known, seconds, done.latents)
        for name, r in rows.items():
            print(
                f"| {mask} | {name} | {r['psnr_hole']:.2f} | {r['detail']:.3f} | {r['detail_gap']:.3f} | "
                f"{r['swd']:.1f} | {r['swd_excess']:.1f} | {r['colour']:.3f} | {r['chroma']:.2f} | "
                f"{r['norm']:.2f} | "
                f"{r['s_face']:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
