"""The one rule that decides each image's search: where it starts, how far it draws around the
encoder's guess, how many steps and what step size, how many starts and when to prune them,
whether G is tuned to the face, whether the mouth generator redraws the fill's mouth, how
strongly the detail pass redraws the fill's finest detail and the colouriser its colours, and
the number format of its steps.

Measured defaults (BENCHMARKS.md, MODEL_CARD.md). From a random start: the paper's 1500 steps
at 0.01, nothing after. From the encoder's start, the guess (the mean of the faces that fit the
context: the closest to the person, but soft), then the detail pass, which draws fine detail
over G(z*) and keeps its coarse content (detail near a real face's, identity about kept; draws
around the guess brought detail too, but cost identity), by the kind of mask:
- a hole (centre, eyes, mouth, strokes, blobs): 100 steps at 0.01;
- scattered pixels (random, grid): 100 steps at 0.04: the context pins the face down;
- an open hole (a half face): 10 steps at 0.01: a longer search loses what the encoder read
  from the whole kept half (identity);
- then, on holes that cover a quarter of the mouth mask's box or more and leave the eyes (the
  mouth's, not the centre's or the eyes'), pivotal tuning (tuning.py, 50 steps): the fill is
  drawn by a copy of G fitted to the face's known pixels around z*, which can draw this face's
  mouth where G draws the average grin;
- then, on holes that cover a quarter of the mouth's box or more, the mouth generator's own
  search over the box (mouth.py, 150 steps; with a mouth model only: none is bundled yet); the
  passes below treat its mouth as the rest of the fill;
- the detail pass at full strength, but at 0.6 on narrow holes (blobs, strokes, scattered
  pixels), where the blend carries the context's own detail in and the full pass overshoots a
  real face's detail and costs hole PSNR;
- then, where a missing pixel's mirror across the face's centre line is known and agrees with
  the fill's coarse colours (within 0.25; 0.3 on a half face, whose kept half is the only source
  of the person's detail), the mirror's detail (symmetry.py): the person's own, which no drawn
  detail matches (a half face; the parts of blobs and strokes beside other holes); finer than
  4 px, but only the finest (1.5 px) on narrow holes, whose context pins the rest down, and
  there wherever half of that band's blur is real (on other holes all of it: no strip along an
  off-centre box);
- then the colouriser's colours under the fill's luma (colouring.py), half-way from the
  generator's, on holes (centre, eyes, mouth, boxes: where it was measured), not on narrow holes
  or scattered pixels, whose colours the blend carries in from around them, nor on half faces.
The steps from the encoder's start run in bfloat16 where the hardware multiplies it natively
(fast_bfloat16) and the batch is large enough to gain (BFLOAT16_ROWS; a photo's one face is
not): fills within float noise of float32's, completions 1.45-1.9x faster. The paper's
search always runs in float32, as it always has.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ganfill import masks
from ganfill.config import CompletionConfig
from ganfill.errors import InputWarning
from ganfill.symmetry import BAND, NARROW_BAND, NARROW_REACH, REACH

RANDOM_STEPS, STEP_SIZE = 1500, 0.01
GUESS_STEPS, OPEN_HOLE_STEPS, SCATTERED_STEP_SIZE = 100, 10, 0.04
DETAIL, NARROW_DETAIL = 1.0, 0.6  # the detail pass's strength
COLOUR = 0.5
"""The colouriser's strength on holes: half-way between the generator's chroma and its own, the
nearest to the truth's of 0, 0.5 and 1 on 256 held-out faces (BENCHMARKS.md "Session 41")."""
TUNE_STEPS, EYES_COVER = 50, 0.1
"""Pivotal tuning's steps (tuning.py), on holes over the mouth that leave the eyes (less than
EYES_COVER of the eyes mask's box unknown): in held-out photos it made the mouth mask's fills
nearer the truth and as real or more, the eyes' and the centre's (19% of the eyes' box) less
real and less like the person; 30 steps were nearer the truth but less real (BENCHMARKS.md
"Session 48")."""
MOUTH_STEPS, MOUTH_COVER = 150, 0.25
"""The mouth redraw's search steps, and the least share of the mouth's box a hole must cover."""
NARROW = {"reach": 3, "share": 0.55}  # most missing pixels within 3 px of a known one
SYMMETRY, OPEN_HOLE_SYMMETRY = 0.25, 0.3  # the mirror detail's tolerance
STARTS, PRUNE_AFTER = 4, 10  # when draws around the guess are asked for (spread > 0)
BFLOAT16_ROWS = 8
"""Fewest rows (images x starts) searched at once for bfloat16 steps: below, its conversions cost
about what its products save, or more (whole completions per face on the AMX Xeon: 0.78x
float32's speed at 1 row, 0.99x at 2, 0.97x at 4, 1.38x at 8, 1.32x at 16;
benchmarks/completion_speed.py --batches 1,2,4,8,16)."""


PER_IMAGE = ("iters", "lr", "spread", "detail", "symmetry", "band", "reach", "colour", "mouth", "tune")
"""The Schedule's fields that hold one value per image."""


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
    detail: np.ndarray
    """[B] float, strength of the detail pass over each fill (0: none, or the model has none)."""
    symmetry: np.ndarray
    """[B] float, tolerance of the mirror detail over each fill (0: none)."""
    band: np.ndarray
    """[B] float, the mirror detail's band: detail finer than this blur (in sides) is mirrored."""
    reach: np.ndarray
    """[B] float, share of the band's blur around a pixel that must be real for it to be mirrored."""
    colour: np.ndarray
    """[B] float, strength of the colouriser over each fill's hole (0: none, or there is none)."""
    mouth: np.ndarray
    """[B] int, search steps of the mouth redraw (0: none, or there is no mouth model)."""
    tune: np.ndarray
    """[B] int, steps of pivotal tuning of G on each image after the search (0: none)."""
    precision: Literal["float32", "bfloat16"] = "float32"
    """Number format of the search's passes through G."""

    def part(self, rows: slice) -> Schedule:
        """The schedule of some images of the batch."""
        return dataclasses.replace(self, **{name: getattr(self, name)[rows] for name in PER_IMAGE})

    def settle(self, config: CompletionConfig) -> CompletionConfig:
        """config with the batch-wide choices made concrete (start, starts, pruning, number
        format), as invert() takes them; the per-image ones travel as arrays."""
        return dataclasses.replace(
            config,
            init=self.init,
            restarts=self.restarts,
            prune_after=self.prune_after,
            precision=self.precision,
        )

    @property
    def steps(self) -> int:
        """The longest search of the batch (a progress bar's length)."""
        return int(self.iters.max(initial=0))


def start_of(config: CompletionConfig, *, has_encoder: bool, lowres: bool = False) -> str:
    """`random` or `encoder`: auto takes the encoder when the model has one (never for lowres)."""
    if config.init != "auto":
        return config.init
    return "encoder" if has_encoder and not lowres else "random"


def _open_holes(known: np.ndarray) -> np.ndarray:
    """[B] bool: the masks that leave a hole open to the frame's edge (a half face)."""
    return masks.open_holes(known) & ~masks.scattered(known)


def _encoder_defaults(known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps, step size) [B] from the encoder's start, by each mask's kind."""
    scattered, open_hole = masks.scattered(known), _open_holes(known)
    iters = np.where(open_hole, OPEN_HOLE_STEPS, GUESS_STEPS).astype(np.int64)
    lr = np.where(scattered, SCATTERED_STEP_SIZE, STEP_SIZE)
    return iters, lr


def _strength(given: float | None, default: np.ndarray, available: bool) -> np.ndarray:
    """A pass's strength per image [B]: 0 where it is not available, else the value given for
    every image, else its default by each image's hole."""
    if not available:
        return np.zeros(len(default))
    return default.astype(np.float64) if given is None else np.full(len(default), float(given))


def covered(known: np.ndarray, kind: str) -> np.ndarray:
    """[B] the share of a mask kind's hole (a box: "eyes", "mouth"), drawn in this frame, that
    each mask (known [B, S, S], 1 = keep) leaves unknown."""
    box = masks.make(kind, 1, known.shape[-1])[0] < 0.5
    return 1 - known[:, box].mean(1)


def _mouth_steps(
    given: int | None, known: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int] | None
) -> np.ndarray:
    """[B] the mouth redraw's search steps: given (where a hole reaches the box), or MOUTH_STEPS on
    the holes that cover MOUTH_COVER of it; none without a mouth model's box."""
    if box is None:
        return np.zeros(len(known), np.int64)
    top, left, height, width = box
    cover = 1 - known[:, top : top + height, left : left + width].mean((1, 2))
    if given is not None:
        return np.where(cover > 0, given, 0)
    return np.where(hole & (cover >= MOUTH_COVER), MOUTH_STEPS, 0)


def plan(
    config: CompletionConfig,
    known: np.ndarray,
    *,
    has_encoder: bool,
    has_detail: bool = False,
    has_colour: bool = False,
    mouth_box: tuple[int, int, int, int] | None = None,
    lowres: bool = False,
    samples: int = 1,
    fast_bfloat16: bool = False,
) -> Schedule:
    """The search schedule of each image from its own mask (known [B, H, W] or [H, W], 1 = keep);
    mouth_box: (top, left, height, width) of the mouth model's box, when there is one."""
    known = masks.as_batch(known)
    n = len(known)
    init = start_of(config, has_encoder=has_encoder, lowres=lowres)
    if init == "encoder":
        iters, lr = _encoder_defaults(known)
    else:
        iters, lr = np.full(n, RANDOM_STEPS, np.int64), np.full(n, STEP_SIZE)
    if config.iters is not None:
        iters[:] = config.iters
    if config.lr is not None:
        lr = np.full(n, config.lr)
    spread = np.full(n, config.spread if config.spread and init == "encoder" else 0.0)
    drawn = bool((spread > 0).any())
    restarts = config.restarts if config.restarts is not None else STARTS if drawn else 1
    restarts = max(restarts, samples)
    prune = config.prune_after if config.prune_after is not None else PRUNE_AFTER if samples == 1 else 0
    narrow, open_hole, on = masks.scattered(known, **NARROW), _open_holes(known), init == "encoder"
    detail = _strength(config.detail, np.where(narrow, NARROW_DETAIL, DETAIL) * on, has_detail and not lowres)
    symmetry = _strength(config.symmetry, np.where(open_hole, OPEN_HOLE_SYMMETRY, SYMMETRY) * on, not lowres)
    hole = ~narrow & ~open_hole & on  # the holes the colouriser and the mouth redraw were measured on
    colour = _strength(config.colour, COLOUR * hole, has_colour and not lowres)
    mouth_only = hole & (covered(known, "mouth") >= MOUTH_COVER) & (covered(known, "eyes") < EYES_COVER)
    tune = _strength(config.tune, TUNE_STEPS * mouth_only, not lowres).astype(np.int64)
    fast = fast_bfloat16 and init == "encoder" and n * restarts >= BFLOAT16_ROWS
    precision = config.precision or ("bfloat16" if fast else "float32")
    if precision == "bfloat16" and not fast_bfloat16:
        message = "precision bfloat16: this device does not multiply it natively (a CPU without AMX): slower"
        warnings.warn(f"{message} than float32, not faster", InputWarning, stacklevel=2)
    return Schedule(
        init=init,  # type: ignore[arg-type]
        iters=iters,
        lr=lr.astype(np.float64),
        spread=spread,
        restarts=restarts,
        prune_after=prune,
        detail=detail,
        symmetry=symmetry,
        band=np.where(narrow, NARROW_BAND, BAND),
        reach=np.where(narrow, NARROW_REACH, REACH),
        colour=colour,
        mouth=_mouth_steps(config.mouth_steps, known, hole, None if lowres else mouth_box),
        tune=tune,
        precision=precision,
    )
