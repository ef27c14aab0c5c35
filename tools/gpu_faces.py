"""Pack the aligned training faces small enough to travel to a lent GPU machine.

The device tool sends the working tree, 64 MiB at most, and the bundled weights alone are 42 MB:
the aligned faces as PNG (9 KB each at 64 px, 230 MB) cannot go. Re-encoded as AVIF at quality 90
with full-resolution colour (4:4:4; about 1.7 KB a face) the 26,920 training faces of both sets
are 42.6 MiB (37.1 MiB as one tar.gz). Not WebP, which sessions 28 and 31 sent: its colour is
always at half resolution (4:2:0), and a discriminator tells such faces from the PNGs a generator
was trained on within 200 steps (benchmarks/codec_probe.py: accuracy 1.00 for WebP at quality 90
and 100, 0.55 for AVIF 4:4:4 at 90), which broke session 31's run continued from a CPU-trained
generator. The held-out split and its copies are left out (`ganfill.data.excluded`); each face
keeps its stem, one subfolder per set, so `ganfill train` and `train-encoder` read the folder as
they read the aligned ones.
The held-out faces go to a folder of their own (--heldout-out; 0.9 MiB), against which the
machine chooses among the run's snapshots (`ganfill eval-model --no-faces`). Prints the count,
the size and how far each face moved (PSNR of the re-encoded face).

    python tools/gpu_faces.py data/aligned/utkface data/aligned/celeba --out gpu/faces \
        --heldout-out gpu/heldout

MODEL_CARD.md "Training on a lent GPU" has the rest of the recipe.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from ganfill.data import HELDOUT_FILE, excluded, read_split, stem_of
from ganfill.images import find_images


def pack(src: Path, out: Path, stems: set[str], quality: int, *, keep: bool) -> tuple[int, int, list[float]]:
    """Re-encode src's faces into out as AVIF (4:4:4), those whose stems are in stems (keep) or not:
    (faces, bytes, each face's PSNR in dB)."""
    out.mkdir(parents=True, exist_ok=True)
    count, size, psnrs = 0, 0, []
    for path in find_images([src]):
        if (stem_of(path) in stems) != keep:
            continue
        face = Image.open(path).convert("RGB")
        buffer = io.BytesIO()
        face.save(buffer, "AVIF", quality=quality, subsampling="4:4:4")
        data = buffer.getvalue()
        (out / f"{stem_of(path)}.avif").write_bytes(data)
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        psnrs.append(peak_signal_noise_ratio(np.asarray(face), decoded, data_range=255))  # as metrics.py
        count, size = count + 1, size + len(data)
    return count, size, psnrs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aligned", nargs="+", type=Path, help="folders of aligned faces (ganfill align)")
    parser.add_argument("--out", type=Path, default=Path("gpu/faces"))
    parser.add_argument("--heldout-out", type=Path, help="also pack the held-out split's faces here")
    parser.add_argument("--exclude-file", type=Path, default=HELDOUT_FILE)
    parser.add_argument("--quality", type=int, default=90, help="AVIF quality")
    args = parser.parse_args()
    jobs = [(args.out, set(excluded(args.exclude_file)), False)]  # training: all but the split and twins
    if args.heldout_out:
        jobs.append((args.heldout_out, set(read_split(args.exclude_file)), True))  # the split itself
    for out, stems, keep in jobs:
        total = 0
        for folder in args.aligned:
            count, size, psnrs = pack(folder, out / folder.name, stems, args.quality, keep=keep)
            total += size
            low, median = np.percentile(psnrs, [1, 50]) if psnrs else (0.0, 0.0)
            quality = f"PSNR median {median:.1f} dB (1st percentile {low:.1f})"
            print(f"{folder} -> {out}: {count} faces, {size / 2**20:.1f} MiB, {quality}")
        print(f"{out}: {total / 2**20:.1f} MiB in all")


if __name__ == "__main__":
    main()
