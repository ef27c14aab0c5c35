"""The one rule that decides each image's search: where it starts, how many steps, what step size.

Measured defaults (BENCHMARKS.md, MODEL_CARD.md): from a random start the paper's 1500 steps;
from the encoder's start 100 steps, but 10 on an open hole such as a half face (longer searches
fit the one seam at the cost of what the encoder read from the kept half); step size 0.01, but
0.04 from the encoder's start on a scattered mask such as random pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ganfill import masks
from ganfill.config import CompletionConfig

RANDOM_STEPS, ENCODER_STEPS, OPEN_HOLE_STEPS = 1500, 100, 10
STEP_SIZE, SCATTERED_STEP_SIZE = 0.01, 0.04


@dataclass(frozen=True)
class Schedule:
    """Each image's search settings, made concrete from a config's `auto` and `None` fields."""

    init: Literal["random", "encoder"]
    iters: np.ndarray
    """[B] int, steps per image."""
    lr: np.ndarray
    """[B] float, step size per image."""

    @property
    def steps(self) -> int:
        """The longest search of the batch (a progress bar's length)."""
        return int(self.iters.max(initial=0))


def start_of(config: CompletionConfig, *, has_encoder: bool, lowres: bool = False) -> str:
    """`random` or `encoder`: auto takes the encoder when the model has one (never for lowres)."""
    if config.init != "auto":
        return config.init
    return "encoder" if has_encoder and not lowres else "random"


def plan(config: CompletionConfig, known: np.ndarray, *, has_encoder: bool, lowres: bool = False) -> Schedule:
    """The search schedule of each image from its own mask (known [B, H, W] or [H, W], 1 = keep)."""
    known = masks.as_batch(known)
    n = len(known)
    init = start_of(config, has_encoder=has_encoder, lowres=lowres)
    from_encoder = init == "encoder"
    iters = np.full(n, RANDOM_STEPS if not from_encoder else ENCODER_STEPS, np.int64)
    lr = np.full(n, STEP_SIZE, np.float64)
    needs_kinds = from_encoder and (config.iters is None or config.lr is None)
    if needs_kinds:  # the masks' kinds matter only for the encoder's defaults; classifying costs time
        scattered = masks.scattered(known)
        iters[masks.open_holes(known) & ~scattered] = OPEN_HOLE_STEPS
        lr[scattered] = SCATTERED_STEP_SIZE
    if config.iters is not None:
        iters[:] = config.iters
    if config.lr is not None:
        lr[:] = config.lr
    return Schedule(init, iters, lr)  # type: ignore[arg-type]
