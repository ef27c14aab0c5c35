"""Passes over the same searches, compared at the cost of scoring alone: the default search's
fills of held-out faces without the passes after it, searched once per mask and kept on disk,
and one line of `ganfill eval`'s scores for each set of fills."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganfill import masks
from ganfill.completion import Completer
from ganfill.evaluation import _Scorer, _summarise
from ganfill.realism import swd_levels


def search_alone(completer: Completer, faces: np.ndarray, kind: str, cache: Path) -> tuple[np.ndarray, dict]:
    """(known, the stored fills and hats) of faces with ganfill eval's `kind` masks (its seed 0),
    searched once without the detail pass or the mirror detail, then read from cache/KIND.npz."""
    known = masks.make(kind, len(faces), 64, seed=0)
    cached = cache / f"{kind}.npz"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        done = completer.complete(faces, known, detail=0.0, symmetry=0.0)
        np.savez_compressed(cached, fills=done.images, hats=done.hats)
    return known, dict(np.load(cached))


def scores(
    scorer: _Scorer, rows: list[dict], done: np.ndarray, known: np.ndarray, name: str, kind: str
) -> str:
    """The fills `done` of scorer's faces scored (their rows appended to rows) as one line: hole
    PSNR, detail, SWD with its floor, excess and excess per pyramid band, identity, FD-face."""
    new, fd = scorer.score(done, known, name, kind, 0.0)
    rows += new
    s = _summarise(name, kind, rows, fd)
    levels = swd_levels(done, scorer.originals, known, seed=0)
    score, floor = (float(np.mean(v)) for v in zip(*levels, strict=True))
    bands = " / ".join(f"{a - b:.1f}" for a, b in levels)
    return (
        f"hole PSNR {s['psnr_hole']:.2f}  detail {s['detail']:.3f}  SWD {score:.1f} (floor "
        f"{floor:.1f}, excess {score - floor:.1f}; per band {bands})  identity {s['identity']:.4f}  "
        f"FD-face {s['fd_face']:.4f}"
    )
