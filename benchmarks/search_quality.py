"""Quality against search steps: hole PSNR on held-out faces after 0..1500 steps, per search setup.

One search per setup records G(z) at each checkpoint step (Poisson-blended like the final
output), so every column of a row comes from the same run. Setups: Adam and the blog's Nesterov
momentum from a random start (the reference, step size 0.01), and Adam from the encoder's guess
when the model has an encoder, at step size 0.01 and at 0.04 (the default on scattered masks).

    python benchmarks/search_quality.py --data data/aligned --limit 32 --masks center,left
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from machine import describe_machine

from ganfill import masks as mask_kinds
from ganfill.completion import DEFAULT_WEIGHTS, Completer, blend
from ganfill.config import CompletionConfig
from ganfill.data import HELDOUT_FILE, load_folder, read_split
from ganfill.images import to_tensor, to_uint8
from ganfill.metrics import pixel_metrics

CHECKPOINTS = (0, 25, 50, 100, 150, 250, 500, 1000, 1500)
SETUPS = {
    "adam-random": CompletionConfig(init="random", lr=0.01),
    "momentum-random": CompletionConfig(init="random", optimizer="momentum", lr=0.01),
    "adam-encoder": CompletionConfig(init="encoder", lr=0.01),
    "adam-encoder-lr0.04": CompletionConfig(init="encoder", lr=0.04),
}


def run(
    completer: Completer, faces: np.ndarray, known: np.ndarray, cfg: CompletionConfig
) -> tuple[dict[int, float], float]:
    """Mean hole PSNR at each checkpoint step, and seconds per face for the whole search."""
    steps = [c for c in CHECKPOINTS if c <= cfg.iters]
    y, m = to_tensor(faces), torch.from_numpy(known)[:, None]
    cfg = dataclasses.replace(cfg, save_every=25)  # 25 divides every checkpoint; G(z) is kept then
    start = time.perf_counter()
    result = completer.complete(faces, known, cfg, batch_size=len(faces))
    seconds = (time.perf_counter() - start) / len(faces)
    psnr = {}
    for it, hats, _ in result.frames:
        if it in steps:
            done = to_uint8(blend(y, to_tensor(hats), m, cfg.blend))
            psnr[it] = float(
                np.mean(
                    [pixel_metrics(f, d, k)["psnr_hole"] for f, d, k in zip(faces, done, known, strict=True)]
                )
            )
    return psnr, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="data/aligned", help="aligned faces; the held-out split is taken from them"
    )
    parser.add_argument("--model", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--masks", default="center,left")
    parser.add_argument("--iters", type=int, default=1500)
    parser.add_argument(
        "--setups", default=",".join(SETUPS), help="comma-separated names from: " + ", ".join(SETUPS)
    )
    args = parser.parse_args()
    completer = Completer(args.model)
    faces = load_folder(args.data, completer.size, only=read_split(HELDOUT_FILE), limit=args.limit).images
    faces = faces.permute(0, 2, 3, 1).numpy()
    setups = {name: SETUPS[name] for name in args.setups.split(",")}
    if completer.model.encoder is None:
        setups = {name: cfg for name, cfg in setups.items() if cfg.init != "encoder"}
    print(describe_machine())
    print(f"{len(faces)} held-out faces; hole PSNR (dB) after each number of steps; Poisson blend")
    steps = [c for c in CHECKPOINTS if c <= args.iters]
    print("| mask | setup | " + " | ".join(map(str, steps)) + " | s/face |")
    print("|---|---|" + "---|" * (len(steps) + 1))
    for mask in args.masks.split(","):
        known = mask_kinds.make(mask, len(faces), completer.size)
        for name, cfg in setups.items():
            psnr, seconds = run(completer, faces, known, dataclasses.replace(cfg, iters=args.iters))
            print(
                f"| {mask} | {name} | " + " | ".join(f"{psnr[s]:.2f}" for s in steps) + f" | {seconds:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
