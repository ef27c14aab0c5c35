"""Cost of the latent search: FLOPs per iteration, iterations/s, GFLOP/s against a measured
matmul peak, and seconds per image for the reference configuration and ganfill's default (the
encoder's start, 100 steps, lam 0: no D passes, then the detail pass, the mirror detail and the
colouriser; its steps in bfloat16 where the hardware multiplies it natively), and the default
with float32 steps beside it. The defaults are timed as whole completions of one batch of centre
holes; the reference as seconds per step (median of timed steps) x its steps / batch size, or
whole searches with --full. With --batches, also the default's seconds per face with float32 and with
bfloat16 steps at each of those batch sizes (where bfloat16 starts to pay: schedule.BFLOAT16_ROWS).

    python benchmarks/completion_speed.py [--model M] [--batch-size 64] [--iters 20] [--full]
        [--batches 1,2,4,8,16]
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
from ganfill.colouring import recolour
from ganfill.completion import DEFAULT_WEIGHTS, Completer
from ganfill.config import CompletionConfig, ModelSource
from ganfill.finisher import add_detail
from ganfill.inversion import invert
from ganfill.schedule import STEP_SIZE, SYMMETRY
from ganfill.symmetry import mirror_detail

REFERENCE_NAME = "reference (adam, 1000 it, random start, lam 0.1)"
DEFAULT = "ganfill default"
FLOAT32 = "ganfill default, float32 steps"
REFERENCE = CompletionConfig(
    iters=1000, lr=0.01, optimizer="adam", restarts=1, lam=0.1, weighting="paper", init="random"
)


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


def flops_per_iteration(completer: Completer, y: torch.Tensor, known: torch.Tensor, lam: float) -> int:
    """FLOPs of one search step: G (and D when lam > 0) forward, and the backward pass to z."""
    from ganfill.inversion import frozen, importance_weights
    from ganfill.losses import context_loss, prior_loss

    g, d = completer.model.generator, completer.model.discriminator
    z = (torch.rand(len(y), completer.model.config.z_dim, device=y.device) * 2 - 1).requires_grad_(True)
    with frozen(g, d), FlopCounterMode(display=False) as counter:
        hat = g(z)
        loss = context_loss(hat, y, importance_weights(known))
        if lam > 0:
            loss = loss + lam * prior_loss(d(hat))
        loss.sum().backward()
    return counter.get_total_flops()


def precision_by_batch(
    completer: Completer, images: np.ndarray, known: np.ndarray, batches: list[int]
) -> None:
    """Print seconds per face of whole default completions with float32 and with bfloat16 steps
    at each batch size (a warm-up completion first; at least 16 faces timed at each)."""
    print("| batch | float32 s/face | bfloat16 s/face | bfloat16 speed-up |\n|---|---|---|---|")
    for b in batches:
        per_face = []
        for precision in ("float32", "bfloat16"):
            cfg = CompletionConfig(precision=precision)
            completer.complete(images[:b], known[:b], cfg)
            rounds = max(1, 16 // b)
            start = time.perf_counter()
            for _ in range(rounds):
                completer.complete(images[:b], known[:b], cfg)
            per_face.append((time.perf_counter() - start) / (rounds * b))
        print(f"| {b} | {per_face[0]:.3f} | {per_face[1]:.3f} | {per_face[0] / per_face[1]:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iters", type=int, default=20, help="timed iterations")
    parser.add_argument("--full", action="store_true", help="run every configuration to its end")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", help="batch sizes to time float32 and bfloat16 steps at: 1,2,4,8")
    args = parser.parse_args()
    device = torch.device(args.device)
    completer = Completer.load(ModelSource(model=args.model, device=args.device))  # with its detail pass
    g, d = completer.model.generator, completer.model.discriminator
    size, b = completer.size, args.batch_size
    print(describe_machine())
    y = torch.rand(b, 3, size, size, device=device) * 2 - 1
    known = torch.from_numpy(masks.make("center", b, size))[:, None].to(device)
    starts = torch.rand(b, 1, completer.model.config.z_dim)

    peak = matmul_peak(device)
    configs = {
        REFERENCE_NAME: REFERENCE,
        DEFAULT: CompletionConfig(),
        FLOAT32: CompletionConfig(precision="float32"),
    }
    images = np.random.default_rng(0).integers(0, 256, (b, size, size, 3), dtype=np.uint8)
    seconds = {}
    for name, cfg in configs.items():
        flops = flops_per_iteration(completer, y, known, cfg.lam)
        precision = completer.plan(known[:, 0].cpu().numpy(), cfg).precision
        timed = dataclasses.replace(cfg, iters=args.iters, lr=cfg.lr or STEP_SIZE, precision=precision)
        invert(g, d, y, known, dataclasses.replace(timed, iters=2), starts.to(device))  # warm-up
        per_iter = []
        for _ in range(3):
            start = time.perf_counter()
            invert(g, d, y, known, timed, starts.to(device))
            if device.type == "cuda":
                torch.cuda.synchronize()
            per_iter.append((time.perf_counter() - start) / args.iters)
        s_iter = statistics.median(per_iter)
        achieved = flops / s_iter / 1e9
        print(
            f"{name}: batch {b} at {size}x{size}, {precision}: {flops / 1e9:.2f} GFLOP per step, "
            f"{1 / s_iter:.2f} steps/s,"
        )
        print(
            f"  {achieved:.1f} GFLOP/s = {achieved / peak:.0%} of the float32 matmul peak "
            f"measured now ({peak:.1f})"
        )
        if args.full or name != REFERENCE_NAME:
            done = completer.complete(images, known[:, 0].cpu().numpy(), cfg, batch_size=b)
            seconds[name] = done.seconds / b
            how = f"whole completions, {done.iterations.max()} steps"
        else:
            seconds[name] = s_iter * cfg.iters * cfg.restarts / b
            how = f"{cfg.iters} steps x {cfg.restarts} start(s), {cfg.init} start"
        print(f"  {how}: {seconds[name]:.3f} s per image")
    if completer.detail is not None:
        start = time.perf_counter()
        add_detail(completer.detail, y)
        print(f"of the default's time, the detail pass: {(time.perf_counter() - start) / b:.4f} s per image")
    if completer.colouriser is not None:
        start = time.perf_counter()
        recolour(completer.colouriser, y, y, known.float())
        print(f"of the default's time, the colouriser: {(time.perf_counter() - start) / b:.4f} s per image")
    start = time.perf_counter()
    mirror_detail(y, y, known.float(), SYMMETRY)
    print(f"of the default's time, the mirror detail: {(time.perf_counter() - start) / b:.4f} s per image")
    ref, ours, float32 = seconds.values()
    print(f"speed-up of the default over the reference: {ref / ours:.1f}x")
    print(f"speed-up of the default over its float32 steps: {float32 / ours:.2f}x")
    if args.batches:
        batches = [int(n) for n in args.batches.split(",")]
        precision_by_batch(completer, images, known[:, 0].cpu().numpy(), batches)


if __name__ == "__main__":
    main()
