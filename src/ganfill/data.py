"""Image folders decoded once into a uint8 tensor, and the fixed held-out split."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganfill.errors import UserError
from ganfill.images import GREY, IMAGE_SUFFIXES, ImageError, find_images, load_uint8

HELDOUT_FILE = Path(__file__).parent / "splits" / "heldout.txt"


class DataError(UserError):
    """The data folder cannot be trained on; str() says why."""


@dataclass
class ImageSet:
    """Decoded images kept in memory so that no epoch after the first decodes a file."""

    images: torch.Tensor
    """uint8 [N, 3, S, S]."""
    names: list[str]
    skipped: list[str]
    """One line per file that could not be read."""

    def __len__(self) -> int:
        return len(self.names)


def read_split(path: str | Path = HELDOUT_FILE) -> tuple[str, ...]:
    """File stems listed in a split file (one per line, '#' comments allowed)."""
    lines = Path(path).read_text().splitlines()
    return tuple(s for line in lines if (s := line.split("#", 1)[0].strip()))


TWIN_CORRELATION = 0.94
"""Correlation of two standardised grey faces above which they are one photo (UTKFace holds the
same chip under several names, re-encoded or recoloured; different people stay below 0.94)."""


def excluded(path: str | Path | None) -> tuple[str, ...]:
    """Stems to leave out of training: a split file's, and its twins' (`NAME_twins.txt` beside it:
    other files that are copies of its faces) if that file exists; none without a split."""
    if not path:
        return ()
    twins = Path(path).with_name(f"{Path(path).stem}_twins.txt")
    return read_split(path) + (read_split(twins) if twins.exists() else ())


def find_twins(
    faces: ImageSet, split: Iterable[str], min_correlation: float = TWIN_CORRELATION
) -> list[tuple[str, str, float]]:
    """(split face, other face, correlation) for every face outside the split that is a copy of
    one inside it: aligned faces whose standardised grey pixels correlate above min_correlation."""
    grey = faces.images.float().permute(0, 2, 3, 1) @ torch.as_tensor(GREY, dtype=torch.float32)
    grey = grey.reshape(len(grey), -1)
    grey = (grey - grey.mean(1, keepdim=True)) / (grey.std(1, keepdim=True) + 1e-3)
    inside = set(split)
    mine = [i for i, name in enumerate(faces.names) if name in inside]
    others = [i for i, name in enumerate(faces.names) if name not in inside]
    if not mine or not others:
        return []
    correlation = grey[mine] @ grey[others].T / grey.shape[1]
    pairs = [
        (faces.names[mine[r]], faces.names[others[c]], float(correlation[r, c]))
        for r, c in torch.nonzero(correlation > min_correlation).tolist()
    ]
    return sorted(pairs, key=lambda pair: -pair[2])


def stem_of(path: Path) -> str:
    """The name that identifies a face across formats: file name without its last suffix."""
    return path.name.rsplit(".", 1)[0]


def load_folder(
    root: str | Path,
    size: int,
    *,
    crop: int | None = None,
    workers: int = 2,
    exclude: Iterable[str] = (),
    only: Iterable[str] | None = None,
    limit: int | None = None,
    warn: bool = True,
) -> ImageSet:
    """Every readable image under `root` resized to size x size, minus the stems in `exclude`."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    files = find_images([root])
    banned = set(exclude)
    files = [f for f in files if stem_of(f) not in banned]
    if only is not None:
        wanted = set(only)
        files = [f for f in files if stem_of(f) in wanted]
    if limit is not None:
        files = files[:limit]
    if not files:
        looked_for = ", ".join(suffix[1:] for suffix in IMAGE_SUFFIXES)
        raise DataError(f"{root}: no images found (looked for {looked_for}, recursively)")

    def decode(path: Path) -> np.ndarray | str:
        try:
            return load_uint8(path, size, crop=crop)
        except ImageError as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(decode, files))
    arrays = [r for r in results if isinstance(r, np.ndarray)]
    names = [stem_of(f) for f, r in zip(files, results, strict=True) if isinstance(r, np.ndarray)]
    skipped = [r for r in results if isinstance(r, str)]
    if warn:
        for line in skipped:
            print(f"warning: skipped {line}", file=sys.stderr)
    if not arrays:
        raise DataError(f"{root}: none of the {len(files)} files is a readable image")
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()  # [N, 3, S, S]
    return ImageSet(images, names, skipped)
