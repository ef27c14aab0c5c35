"""What a generator draws at shorter codes than its prior's, where the completion's search ends.

The search's codes end at about 0.7 of the prior's typical length (BENCHMARKS.md "Session 32").
For each model, G's samples from the same prior codes scaled by s (eval mode, as completion runs
it) are scored: the mean chroma (CIELAB), the spread of a* over the mouth's box (lips redder than
the skin around them score higher) and the fine detail (realism.detail over the whole face: mean
|Laplacian| of the grey image, 0-255); real aligned faces of each folder give the same figures.

    python benchmarks/code_length.py [--models A.safetensors,B.safetensors] [--n 256]
        [--real ../data/aligned/utkface,../data/aligned/celeba]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from machine import describe_machine
from skimage.color import rgb2lab

from ganfill.checkpoint import load_model
from ganfill.images import find_images, open_rgb, to_uint8
from ganfill.models import sample_z
from ganfill.realism import detail

HERE = Path(__file__).resolve().parent
SCALES = (0.4, 0.55, 0.7, 0.85, 1.0)
MOUTH = np.s_[:, 40:52, 20:44]  # the mouth's box in the 64-px aligned frame


def scores(faces: np.ndarray) -> tuple[float, float, float]:
    """Mean chroma, the mouth box's mean a* spread and mean detail of uint8 faces [N, S, S, 3]."""
    lab = rgb2lab(faces)  # [N, S, S, 3]: the colour axis is the last
    chroma = float(np.hypot(lab[..., 1], lab[..., 2]).mean())
    lips = float(lab[MOUTH][..., 1].std(axis=(1, 2)).mean())
    whole = np.ones(faces.shape[1:3], bool)
    return chroma, lips, float(np.mean([detail(face, whole) for face in faces]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(HERE.parent / "src/ganfill/weights/faces64.safetensors"))
    parser.add_argument("--n", type=int, default=256, help="samples per scale (and real faces per folder)")
    parser.add_argument(
        "--real", default=f"{HERE.parent / 'data/aligned/utkface'},{HERE.parent / 'data/aligned/celeba'}"
    )
    args = parser.parse_args()
    print(describe_machine())
    print("| faces | code length | chroma | mouth a* spread | detail |\n|---|---|---|---|---|")
    for folder in filter(None, args.real.split(",")):
        files = find_images([folder])
        chosen = files[:: max(1, len(files) // args.n)][: args.n]
        faces = np.stack([np.asarray(open_rgb(f)) for f in chosen])
        figures = " | ".join(f"{v:.2f}" for v in scores(faces))
        print(f"| real, {Path(folder).name} ({len(chosen)}) | - | {figures} |")
    for path in args.models.split(","):
        g = load_model(path).generator.eval()
        z = sample_z(args.n, g.config.z_dim, generator=torch.Generator().manual_seed(0))
        for s in SCALES:
            with torch.no_grad():
                faces = to_uint8(g(z * s))
            print(f"| {Path(path).name} | {s:.2f} | {' | '.join(f'{v:.2f}' for v in scores(faces))} |")


if __name__ == "__main__":
    main()
