"""Cost of the latent search: FLOPs per iteration, iterations/s, GFLOP/s against a measured
matmul peak, and seconds per image for the reference configuration and ganfill's default.

Seconds per image = seconds per iteration (median of timed iterations on one batch) x the
configuration's iterations / batch size; with --full the whole search runs instead.

    python benchmarks/completion_speed.py [--model M] [--batch-size 64] [--iters 20] [--full]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
import torch
from machine import describe_machine
from torch.utils.flop_counter import FlopCounterMode

from ganfill import masks
from ganfill.completion import DEFAULT_WEIGHTS, Completer
from ganfill.config import CompletionConfig
from ganfill.inversion import invert

REFERENCE = CompletionConfig(iters=1000, optimizer="adam", restarts=1, lam=0.1, weighting="paper")


def matmul_peak(device: torch.device, n: int = 2048, reps: int = 5) -> float:
    """Best GFLOP/s of an n x n float32 matmul on this device, measured now."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = 0.0
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def flops_per_iteration(completer: Completer, y: torch.Tensor, known: torch.Tensor) -> int:
    """FLOPs of one search step: G and D forward, and the backward pass down to z."""
    from ganfill.inversion import frozen, importance_weights
    from ganfill.losses import context_loss, prior_loss

    g, d = completer.model.generator, completer.model.discriminator
    z = (torch.rand(len(y), completer.model.config.z_dim, device=y.device) * 2 - 1).requires_grad_(True)
    with frozen(g, d), FlopCounterMode(display=False) as counter:
        hat = g(z)
        loss = context_loss(hat, y, importance_weights(known)) + prior_loss(d(hat))
        loss.sum().backward()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iters", type=int, default=20, help="timed iterations")
    parser.add_argument("--full", action="store_true", help="run every configuration to its end")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    completer = Completer(args.model, device=device)
    g, d = completer.model.generator, completer.model.discriminator
    size, b = completer.size, args.batch_size
    print(describe_machine())
    y = torch.rand(b, 3, size, size, device=device) * 2 - 1
    known = torch.from_numpy(masks.make("center", b, size))[:, None].to(device)
    starts = torch.rand(b, 1, completer.model.config.z_dim)

    flops = flops_per_iteration(completer, y, known)
    peak = matmul_peak(device)

    per_iter = []
    invert(g, d, y, known, dataclasses.replace(REFERENCE, iters=2), starts.to(device))  # warm-up
    for _ in range(3):
        start = time.perf_counter()
        invert(g, d, y, known, dataclasses.replace(REFERENCE, iters=args.iters), starts.to(device))
        if device.type == "cuda":
            torch.cuda.synchronize()
        per_iter.append((time.perf_counter() - start) / args.iters)
    s_iter = statistics.median(per_iter)
    print(f"batch {b} at {size}x{size}: {flops / 1e9:.2f} GFLOP per iteration, {1 / s_iter:.2f} iterations/s")
    achieved = flops / s_iter / 1e9
    print(f"achieved {achieved:.1f} GFLOP/s; float32 matmul peak measured now {peak:.1f} GFLOP/s", end=" ")
    print(f"({achieved / peak:.0%} of it)")

    configs = {"reference (adam, 1000 it, random start)": REFERENCE, "ganfill default": CompletionConfig()}
    seconds = {}
    images = np.zeros((b, size, size, 3), np.uint8)
    for name, cfg in configs.items():
        if args.full:
            seconds[name] = (
                completer.complete(images, known[:, 0].cpu().numpy(), cfg, batch_size=b).seconds / b
            )
        else:
            seconds[name] = s_iter * cfg.iters * cfg.restarts / b
        print(f"{name}: {cfg.iters} iterations x {cfg.restarts} start(s): {seconds[name]:.3f} s per image")
    ref, ours = seconds.values()
    print(f"speed-up of the default over the reference: {ref / ours:.2f}x")


if __name__ == "__main__":
    main()
