"""Batch completion throughput: 1 process x 2 threads against 2 processes x 1 thread (torchrun,
gloo), and one process with and without background decode/write, on the same faces, side by
side in one run (rounds alternate). Each variant is a whole `ganfill complete` command into a
fresh folder; images/s = faces / wall seconds, start-up included; search process-s/face is the
search seconds the processes report, summed, over the faces (with 2 processes, each on 1 thread).

    python benchmarks/batch_scaling.py [--faces heldout_256.txt] [--data ../data/aligned] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe_machine

from ganfill.data import read_split, stem_of
from ganfill.images import find_images

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "1 process x 2 threads": (1, 2, []),
    "2 processes x 1 thread": (2, 1, []),
    "1 process x 2 threads, no background I/O": (1, 2, ["--no-background-io"]),
}


def run(variant: str, faces: Path, out: Path) -> tuple[float, float]:
    """Wall seconds of the command, and the search seconds its processes report."""
    procs, threads, flags = VARIANTS[variant]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs)]
    cmd = [*(launcher if procs > 1 else [sys.executable]), "-m", "ganfill", "complete", str(faces)]
    cmd += ["--out", str(out), "--no-progress", "--mask", "center", *flags]
    start = time.perf_counter()
    done = subprocess.run(
        cmd, env={**os.environ, "OMP_NUM_THREADS": str(threads)}, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{variant}: failed\n{done.stderr[-2000:]}")
    search = sum(float(s) for s in re.findall(r"in ([\d.]+) s into", done.stdout))
    return wall, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, default=HERE / "heldout_256.txt")
    parser.add_argument("--data", type=Path, default=HERE.parent / "data" / "aligned")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(describe_machine())
    stems = set(read_split(args.faces))
    files = [f for f in find_images([args.data]) if stem_of(f) in stems]
    with tempfile.TemporaryDirectory() as tmp:
        faces = Path(tmp) / "faces"
        faces.mkdir()
        for f in files:
            shutil.copy(f, faces / f"{f.parent.name}_{f.name}")
        n = len(files)
        results: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
        for r in range(args.rounds):
            for k, variant in enumerate(VARIANTS):
                results[variant].append(run(variant, faces, Path(tmp) / f"round{r}_variant{k}"))
    best = max(n / min(w for w, _ in runs) for v, runs in results.items() if VARIANTS[v][0] == 1)
    print(f"{n} faces, centre mask, the bundled model's default search; best of {args.rounds} rounds")
    print("| variant | images/s | of the best 1-process | search process-s/face |")
    print("|---|---|---|---|")
    for variant, runs in results.items():
        wall, search = min(runs)
        print(f"| {variant} | {n / wall:.2f} | {n / wall / best:.0%} | {search / n:.3f} |")


if __name__ == "__main__":
    main()
