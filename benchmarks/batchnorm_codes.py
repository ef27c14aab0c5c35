"""How far a generator's eval-mode faces move when its batch-norm statistics are recomputed from
another draw of codes, by the number of codes (models.recalibrate_batchnorm, run at every export).

Each count is drawn twice (seeds 1 and 2) on a copy of the model's generator. Its faces from the
same 256 codes at 0.7 of the prior's length (where the completion's search ends) are compared:
mean |difference| in grey levels (0-255) over the whole face and over the mouth's box, between
the two draws and between a draw and the statistics the file carries. Seconds per recalibration.

    python benchmarks/batchnorm_codes.py [--model FILE] [--codes 512,4096,16384] [--shorten 0]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
from code_length import MOUTH
from machine import describe_machine

from ganfill.checkpoint import load_model
from ganfill.models import Generator, recalibrate_batchnorm, sample_z

HERE = Path(__file__).resolve().parent
BATCH = 64  # recalibrate_batchnorm's batch size


@torch.no_grad()
def faces_after(
    g: Generator, z: torch.Tensor, codes: int, seed: int, shorten: float
) -> tuple[torch.Tensor, float]:
    """G's eval-mode faces of z (grey levels) after a copy's statistics are recomputed, and the
    seconds that took."""
    g = copy.deepcopy(g)
    start = time.perf_counter()
    recalibrate_batchnorm(g, batches=codes // BATCH, batch_size=BATCH, seed=seed, shorten=shorten)
    seconds = time.perf_counter() - start
    return g.eval()(z) * 127.5, seconds


def apart(a: torch.Tensor, b: torch.Tensor) -> str:
    """Mean |a - b| over whole faces and over the mouth's box, as two table cells."""
    d = (a - b).abs().permute(0, 2, 3, 1)  # [N, S, S, 3], as code_length's MOUTH indexes
    return f"{d.mean():.2f} | {d[MOUTH].mean():.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(HERE.parent / "src/ganfill/weights/faces64.safetensors"))
    parser.add_argument("--codes", default="512,4096,16384")
    parser.add_argument("--shorten", type=float, default=0.0, help="as the model trained (train --shorten)")
    args = parser.parse_args()
    g = load_model(args.model).generator.eval()
    z = sample_z(256, g.config.z_dim, generator=torch.Generator().manual_seed(99)) * 0.7
    with torch.no_grad():
        own = g(z) * 127.5
    print(describe_machine())
    print(f"{Path(args.model).name}: 256 faces at 0.7 of the prior's length, grey levels 0-255")
    print("| codes | two draws apart: face | mouth | a draw and the file's own: face | mouth | s each |")
    print("|---|---|---|---|---|---|")
    for codes in map(int, args.codes.split(",")):
        first, s1 = faces_after(g, z, codes, 1, args.shorten)
        second, s2 = faces_after(g, z, codes, 2, args.shorten)
        print(f"| {codes} | {apart(first, second)} | {apart(first, own)} | {(s1 + s2) / 2:.1f} |")


if __name__ == "__main__":
    main()
