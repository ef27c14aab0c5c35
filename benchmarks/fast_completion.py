"""The reference search against ganfill's default, side by side in one run on held-out faces.

(a) the reference: the paper's search (Adam, 1500 steps, random start, lam 0.003, 7x7 weights);
(b) ganfill's default (the encoder's start, 100 steps at step size 0.01, or 0.04 on a scattered
mask such as random pixels; lam 0). Both run through `ganfill eval` on the same held-out faces
and seeded masks; per mask this prints seconds per face, their ratio, and hole PSNR / SSIM /
identity distance of each, with the paired difference per image (b - a, mean and 95% interval)
and a verdict: better, equal (interval holds 0) or worse.

    python benchmarks/fast_completion.py --data data/aligned --limit 32 --out out/bench_fast
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from machine import describe_machine

from ganfill.completion import DEFAULT_WEIGHTS, Completer
from ganfill.config import EvalConfig
from ganfill.data import HELDOUT_FILE
from ganfill.evaluation import evaluate

REFERENCE = "ganfill:init=random:iters=1500:lam=0.003:optimizer=adam:weighting=paper"
DEFAULT = "ganfill"
METRICS = {"psnr_hole": +1, "ssim": +1, "identity": -1}  # +1: higher is better


def paired(rows: list[dict], mask: str, key: str) -> tuple[float, float, float, float]:
    """Means of a and b, and mean and 95% half-width of the per-image difference b - a."""
    a = {r["image"]: float(r[key]) for r in rows if r["mask"] == mask and r["method"] == REFERENCE}
    b = {r["image"]: float(r[key]) for r in rows if r["mask"] == mask and r["method"] == DEFAULT}
    pairs = [(a[k], b[k]) for k in a if k in b and math.isfinite(a[k]) and math.isfinite(b[k])]
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    diff = y - x
    half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff))
    return float(x.mean()), float(y.mean()), float(diff.mean()), float(half)


def verdict(diff: float, half: float, sign: int) -> str:
    """better / equal / worse for b against a, from the paired interval."""
    if abs(diff) <= half:
        return "equal"
    return "better" if diff * sign > 0 else "worse"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/aligned", help="aligned faces holding the held-out split")
    parser.add_argument("--model", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--masks", default="center,random,left,pattern")
    parser.add_argument("--out", default="out/bench_fast")
    args = parser.parse_args()
    print(describe_machine())
    completer = Completer(args.model)
    report = evaluate(
        args.data,
        args.out,
        completer,
        EvalConfig(
            masks=tuple(args.masks.split(",")),
            methods=(REFERENCE, DEFAULT),
            split=str(HELDOUT_FILE),
            limit=args.limit,
        ),
    )
    n = report.summary[0]["n"]
    schedule = "the default schedule, ganfill.schedule.plan"
    print(f"\n(a) {REFERENCE}\n(b) {DEFAULT} ({schedule})\n{n} held-out faces per mask")
    print("| mask | s/face (a) | s/face (b) | speed-up | metric | (a) | (b) | b - a (95%) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mask in args.masks.split(","):
        sec = {s["method"]: float(s["seconds"]) for s in report.summary if s["mask"] == mask}
        head = f"| {mask} | {sec[REFERENCE]:.2f} | {sec[DEFAULT]:.3f} | {sec[REFERENCE] / sec[DEFAULT]:.1f}x"
        for i, (key, sign) in enumerate(METRICS.items()):
            a, b, diff, half = paired(report.rows, mask, key)
            lead = head if i == 0 else "| | | |"
            change = f"{diff:+.3f} ± {half:.3f} | {verdict(diff, half, sign)}"
            print(f"{lead} | {key} | {a:.3f} | {b:.3f} | {change} |")


if __name__ == "__main__":
    main()
