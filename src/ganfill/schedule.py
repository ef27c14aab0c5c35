"""The one rule that decides each image's search: where it starts, how far it draws around the
encoder's guess, how many steps and what step size, how many starts and when to prune them.

Measured defaults (BENCHMARKS.md, MODEL_CARD.md). From a random start: the paper's 1500 steps
at 0.01. From the encoder's start, by the kind of mask:
- a hole (centre, eyes, mouth, a stroke): 4 starts drawn around the guess (spread 0.8), pruned
  to the best after 10 steps, 50 steps at 0.04. The guess alone is the mean of the faces that
  fit, an average face; a draw around it brings a real face's detail, and the starts and steps
  fit the context again (fills as detailed as real faces, SWD a third of the guess's);
- a hole in several parts (random blobs): the same with 30 steps, because with context all
  round, longer searches fit it by smoothing the fill again;
- scattered pixels (random, grid): the guess, 100 steps at 0.04: the context pins the face down;
- an open hole (a half face): the guess, 10 steps at 0.01: every draw around the guess or
  longer search loses what the encoder read from the whole kept half (identity).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ganfill import masks
from ganfill.config import CompletionConfig

RANDOM_STEPS, STEP_SIZE = 1500, 0.01
HOLE_STEPS, PARTS_STEPS, SCATTERED_STEPS, OPEN_HOLE_STEPS = 50, 30, 100, 10
ENCODER_STEP_SIZE, SPREAD, STARTS, PRUNE_AFTER = 0.04, 0.8, 4, 10


@dataclass(frozen=True)
class Schedule:
    """Each image's search settings, made concrete from a config's `auto` and `None` fields."""

    init: Literal["random", "encoder"]
    iters: np.ndarray
    """[B] int, steps per image."""
    lr: np.ndarray
    """[B] float, step size per image."""
    spread: np.ndarray
    """[B] float, std of the draws around the encoder's guess (0: the guess itself)."""
    restarts: int
    """Starts per image (the same for the batch)."""
    prune_after: int
    """Steps after which only each image's best start goes on (0: never)."""
    jitter: bool
    """Starts after the first, where spread is 0, are the guess jittered (restarts were asked for)."""

    def part(self, rows: slice) -> Schedule:
        """The schedule of some images of the batch."""
        return dataclasses.replace(self, iters=self.iters[rows], lr=self.lr[rows], spread=self.spread[rows])

    @property
    def steps(self) -> int:
        """The longest search of the batch (a progress bar's length)."""
        return int(self.iters.max(initial=0))


def start_of(config: CompletionConfig, *, has_encoder: bool, lowres: bool = False) -> str:
    """`random` or `encoder`: auto takes the encoder when the model has one (never for lowres)."""
    if config.init != "auto":
        return config.init
    return "encoder" if has_encoder and not lowres else "random"


def _encoder_defaults(known: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, step size, spread) [B] from the encoder's start, by each mask's kind."""
    n = len(known)
    scattered = masks.scattered(known)
    open_hole = masks.open_holes(known) & ~scattered
    parts = masks.fragmented(known) & ~scattered & ~open_hole
    iters = np.full(n, HOLE_STEPS, np.int64)
    iters[parts], iters[scattered], iters[open_hole] = PARTS_STEPS, SCATTERED_STEPS, OPEN_HOLE_STEPS
    lr = np.where(open_hole, STEP_SIZE, ENCODER_STEP_SIZE)
    spread = np.where(scattered | open_hole, 0.0, SPREAD)
    return iters, lr, spread


def plan(
    config: CompletionConfig, known: np.ndarray, *, has_encoder: bool, lowres: bool = False, samples: int = 1
) -> Schedule:
    """The search schedule of each image from its own mask (known [B, H, W] or [H, W], 1 = keep)."""
    known = masks.as_batch(known)
    n = len(known)
    init = start_of(config, has_encoder=has_encoder, lowres=lowres)
    if init == "encoder":
        iters, lr, spread = _encoder_defaults(known)
    else:
        iters, lr, spread = np.full(n, RANDOM_STEPS, np.int64), np.full(n, STEP_SIZE), np.zeros(n)
    if config.iters is not None:
        iters[:] = config.iters
    if config.lr is not None:
        lr = np.full(n, config.lr)
    if config.spread is not None:
        spread = np.full(n, config.spread if init == "encoder" else 0.0)
    drawn = bool((spread > 0).any())
    restarts = config.restarts if config.restarts is not None else STARTS if drawn else 1
    restarts = max(restarts, samples)
    prune = config.prune_after if config.prune_after is not None else PRUNE_AFTER if samples == 1 else 0
    return Schedule(init, iters, lr.astype(np.float64), spread, restarts, prune, config.restarts is not None)  # type: ignore[arg-type]
