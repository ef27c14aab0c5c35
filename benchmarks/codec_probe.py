"""Which codec the training faces can travel in to a lent GPU without a discriminator telling them
from the PNGs the generator was trained on.

Each codec's round trip of the same aligned training faces is set against the originals: the
model's discriminator (trained on PNGs, as a run continued from it starts) is trained on, as in a
GAN, with separate batches of originals (label 1) and round-tripped faces (label 0), and its
accuracy on faces it did not train on is reported; 0.5 = it cannot tell. Session 31's GPU run,
sent WebP and continued from a generator trained on PNGs, had its discriminator win within 100
steps and fell apart (MODEL_CARD.md "Training on a lent GPU"). Also per codec: bytes a face, the
26,920 training faces' size (the device tool sends 64 MiB) and the PSNR of the round trip.

    python benchmarks/codec_probe.py [--faces 6000] [--steps 200] [--model FILE]
"""

from __future__ import annotations

import argparse
import io
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from machine import describe_machine
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from ganfill.checkpoint import load_model
from ganfill.completion import DEFAULT_WEIGHTS
from ganfill.data import HELDOUT_FILE, excluded, stem_of
from ganfill.images import find_images, load_uint8, to_tensor

HERE = Path(__file__).resolve().parent
TRAINING_FACES = 26_920
"""Both sets' aligned faces less the held-out split and its copies (tools/gpu_faces.py)."""
BATCH = 64
HELD = 960
"""Faces of each kind kept out of the probe's training, on which its accuracy is read."""
CODECS: dict[str, dict[str, object]] = {
    "png": {"format": "PNG"},
    "webp q90": {"format": "WEBP", "quality": 90, "method": 6},
    "webp q100": {"format": "WEBP", "quality": 100, "method": 6},
    "jpeg 4:4:4 q90": {"format": "JPEG", "quality": 90, "subsampling": 0},
    "jpeg 4:4:4 q95": {"format": "JPEG", "quality": 95, "subsampling": 0},
    "avif 4:4:4 q90": {"format": "AVIF", "quality": 90, "subsampling": "4:4:4"},
    "avif 4:4:4 q95": {"format": "AVIF", "quality": 95, "subsampling": "4:4:4"},
}
"""Round trips probed; PNG's is lossless: the control (accuracy 0.5)."""


def round_trip(faces: np.ndarray, params: dict[str, object]) -> tuple[np.ndarray, float, float]:
    """uint8 faces [N, H, W, 3] encoded with params and decoded, the mean bytes a face and the
    median PSNR of the round trip (infinite for PNG's, which is exact)."""
    out, size, psnrs = np.empty_like(faces), 0, []
    for i, face in enumerate(faces):
        buffer = io.BytesIO()
        Image.fromarray(face).save(buffer, **params)
        size += buffer.tell()
        out[i] = np.asarray(Image.open(buffer).convert("RGB"))
        with np.errstate(divide="ignore"):
            psnrs.append(peak_signal_noise_ratio(face, out[i], data_range=255))
    return out, size / len(faces), float(np.median(psnrs))


def probe(model: Path, originals: torch.Tensor, others: torch.Tensor, steps: int, seed: int) -> float:
    """The model's discriminator trained for steps to tell originals (1) from others (0), GAN-style
    (separate batches, train mode, Adam 2e-4 / 0.5): its accuracy on the last HELD of each."""
    torch.manual_seed(seed)
    d = load_model(model).discriminator.float().train()
    optimiser = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    n = len(originals) - HELD
    for _ in range(steps):
        real, other = d(originals[torch.randint(n, (BATCH,))]), d(others[torch.randint(n, (BATCH,))])
        loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        loss = loss + F.binary_cross_entropy_with_logits(other, torch.zeros_like(other))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        starts = range(n, len(originals) - BATCH + 1, BATCH)
        right = [(d(originals[i : i + BATCH]) > 0).float().mean() for i in starts]
        right += [(d(others[i : i + BATCH]) < 0).float().mean() for i in starts]
    return float(torch.stack(right).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aligned", type=Path, default=HERE.parent / "data" / "aligned")
    parser.add_argument("--faces", type=int, default=6000, help="training faces drawn (the last 960 judge)")
    parser.add_argument("--steps", type=int, default=200, help="the discriminator's training steps")
    parser.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS, help="whose discriminator probes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    skip = set(excluded(HELDOUT_FILE))
    paths = [p for p in find_images([args.aligned]) if stem_of(p) not in skip]
    random.Random(args.seed).shuffle(paths)
    faces = np.stack([load_uint8(p, 64) for p in paths[: args.faces]])
    originals = to_tensor(faces)
    print(describe_machine())
    print(f"{len(faces)} training faces of {args.aligned}; the discriminator of {args.model}")
    print(f"trained {args.steps} steps\n")
    print("| codec | bytes a face | 26,920 faces (MiB) | PSNR median (dB) | D's accuracy |")
    print("|---|---|---|---|---|")
    for name, params in CODECS.items():
        decoded, size, db = round_trip(faces, params)
        accuracy = probe(args.model, originals, to_tensor(decoded), args.steps, args.seed)
        mib = size * TRAINING_FACES / 2**20
        print(f"| {name} | {size:.0f} | {mib:.1f} | {db:.1f} | {accuracy:.3f} |", flush=True)


if __name__ == "__main__":
    main()
