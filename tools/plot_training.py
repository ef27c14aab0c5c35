"""Loss curves and D's outputs from a run's metrics.csv, as one PNG (for MODEL_CARD.md).

python tools/plot_training.py runs/faces64 docs/training.png
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(run_dir: str, out: str) -> None:
    rows = list(csv.DictReader((Path(run_dir) / "metrics.csv").open()))
    step = [int(r["step"]) for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
    for key in ("d_loss", "g_loss"):
        a.plot(step, [float(r[key]) for r in rows], label=key, lw=0.8)
    a.set_xlabel("step")
    a.set_ylim(0, 8)
    a.legend()
    a.set_title("losses")
    for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        b.plot(step, [float(r[key]) for r in rows], label=label, lw=0.8)
    b.set_xlabel("step")
    b.legend()
    b.set_title("discriminator outputs (mean sigmoid)")
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out} ({len(rows)} rows, last step {step[-1]})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
