"""Mask generators. Every mask here is a `known` array: 1 = pixel kept, 0 = pixel to fill.

Each image gets its own draw from numpy's generator seeded with (seed, image index), so a mask
does not depend on batch size or on the other images of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import maximum_filter, zoom

from ganfill.errors import UserError

MaskFn = Callable[..., np.ndarray]
STROKE_WIDTHS = {"thin": (0.03, 0.07), "medium": (0.07, 0.12), "thick": (0.12, 0.2)}


class MaskError(UserError):
    """An unknown mask name or bad parameter; str() lists the valid choices."""


def _share(name: str, value: float, high: float = 1.0) -> float:
    """value, if it lies in (0, high): a mask that is all hole or has none is a MaskError."""
    if not 0 < value < high:
        raise MaskError(f"{name} must be in (0, {high:g}), got {value}")
    return value


def center(rng: np.random.Generator, size: int, *, scale: float = 0.25) -> np.ndarray:
    """A square hole from scale*size to (1-scale)*size: 32x32 at 64 for the default 0.25."""
    known = np.ones((size, size), np.float32)
    lo, hi = int(_share("scale", scale, 0.5) * size), int((1 - scale) * size)
    known[lo:hi, lo:hi] = 0
    return known


def random(rng: np.random.Generator, size: int, *, fraction: float = 0.8) -> np.ndarray:
    """Each pixel missing with probability `fraction` (the paper's 80%)."""
    return (rng.random((size, size)) >= _share("fraction", fraction)).astype(np.float32)


def _half(side: str) -> MaskFn:
    def half(rng: np.random.Generator, size: int) -> np.ndarray:
        known = np.ones((size, size), np.float32)
        h = size // 2
        region = {
            "left": np.s_[:, :h],
            "right": np.s_[:, h:],
            "top": np.s_[:h, :],
            "bottom": np.s_[h:, :],
        }
        known[region[side]] = 0
        return known

    half.__doc__ = f"The {side} half missing."
    return half


def _box(name: str, top: float, bottom: float, left: float, right: float) -> MaskFn:
    def box(rng: np.random.Generator, size: int) -> np.ndarray:
        known = np.ones((size, size), np.float32)
        known[round(top * size) : round(bottom * size), round(left * size) : round(right * size)] = 0
        return known

    box.__doc__ = f"A box over the {name} of an aligned face (OpenFace's template)."
    return box


def rectangle(rng: np.random.Generator, size: int, *, tilt: float = 15.0) -> np.ndarray:
    """A rectangle of random size and place over the face, tilted by up to `tilt` degrees: what a
    box drawn on a photo becomes in the face's aligned frame (over the eyes, the mouth, a cheek)."""
    width, height = rng.uniform(0.2, 0.8) * size, rng.uniform(0.12, 0.45) * size
    centre = (rng.uniform(0.25, 0.75) * size, rng.uniform(0.15, 0.8) * size)
    corners = cv2.boxPoints((centre, (width, height), rng.uniform(-tilt, tilt)))
    known = np.ones((size, size), np.float32)
    cv2.fillPoly(known, [np.round(corners).astype(np.int32)], 0.0)
    return known


def grid(rng: np.random.Generator, size: int, *, step: int = 4) -> np.ndarray:
    """Only every `step`-th pixel in each direction is known."""
    known = np.zeros((size, size), np.float32)
    known[::step, ::step] = 1
    return known


def lowres(rng: np.random.Generator, size: int) -> np.ndarray:
    """No full-resolution pixel is known; the search compares downsampled views instead."""
    return np.zeros((size, size), np.float32)


def pattern(rng: np.random.Generator, size: int, *, fraction: float = 0.25) -> np.ndarray:
    """Random blobs covering about `fraction` of the image (the paper's 'pattern' mask)."""
    coarse = rng.random((6, 6))
    field = zoom(coarse, size / 6, order=3)[:size, :size]  # smooth noise at image size
    return (field >= np.quantile(field, _share("fraction", fraction))).astype(np.float32)


def strokes(rng: np.random.Generator, size: int, *, width: str = "medium") -> np.ndarray:
    """Free-form brush strokes in LaMa's style: random polylines of random thickness."""
    lo, hi = STROKE_WIDTHS[width]
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(1, 5)):
        x, y = rng.uniform(0, size, 2)
        w = max(1, int(rng.uniform(lo, hi) * size))
        for _ in range(rng.integers(2, 7)):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(0.1, 0.35) * size
            nx = float(np.clip(x + length * np.cos(angle), 0, size - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, size - 1))
            draw.line([(x, y), (nx, ny)], fill=255, width=w)
            draw.ellipse([nx - w / 2, ny - w / 2, nx + w / 2, ny + w / 2], fill=255)  # round joints
            x, y = nx, ny
    return (np.asarray(canvas) < 128).astype(np.float32)


KINDS: dict[str, MaskFn] = {
    "center": center,
    "random": random,
    "left": _half("left"),
    "right": _half("right"),
    "top": _half("top"),
    "bottom": _half("bottom"),
    "grid": grid,
    "lowres": lowres,
    "pattern": pattern,
    "strokes": strokes,
    "eyes": _box("eyes", 0.08, 0.33, 0.1, 0.9),  # 16x48 at 64
    "mouth": _box("mouth", 0.53, 0.81, 0.25, 0.75),  # 18x32 at 64
    "rectangle": rectangle,
}


REGIONS = ("center", "left", "right", "top", "bottom", "eyes", "mouth", "pattern", "strokes", "rectangle")
"""Kinds that are holes in a face (not scattered pixels or a low-resolution view): those a
photo's faces can have drawn in their aligned frames."""


def check_region(kind: str) -> str:
    """kind, if it is one of REGIONS (a hole of a face in a photo), else a MaskError saying why."""
    if kind in REGIONS:
        return kind
    what = "scattered pixels or a low-resolution view, for aligned faces" if kind in KINDS else "unknown"
    raise MaskError(
        f"mask {kind!r} is {what}; in a photo choose a region of each face ({', '.join(REGIONS)}),"
        " a mask file or a box"
    )


def make(kind: str, n: int, size: int, *, seed: int = 0, start: int = 0, **params: object) -> np.ndarray:
    """n known-masks [n, size, size] of one kind; image i uses the draw for (seed, start + i)."""
    if kind not in KINDS:
        raise MaskError(f"unknown mask {kind!r}; choose from {', '.join(KINDS)} or a mask file")
    fn = KINDS[kind]
    try:
        drawn = [fn(np.random.default_rng([seed, start + i]), size, **params) for i in range(n)]
        return np.stack(drawn) if drawn else np.ones((0, size, size), np.float32)
    except (TypeError, KeyError) as exc:
        raise MaskError(f"mask {kind!r}: bad parameter ({exc})") from None


def mixed(kinds: Sequence[str], n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """n known-masks [n, size, size], each of a kind and with a seed drawn from rng (training)."""
    chosen, seeds = rng.choice(kinds, n), rng.integers(0, 2**31, n)
    return np.stack([make(str(k), 1, size, seed=int(s))[0] for k, s in zip(chosen, seeds, strict=True)])


def missing_fraction(known: np.ndarray) -> float:
    """Share of pixels to fill."""
    return float(1 - known.mean())


def as_batch(known: np.ndarray) -> np.ndarray:
    """One mask [H, W] or a batch [B, H, W] -> [B, H, W]."""
    known = np.asarray(known)
    return known[None] if known.ndim == 2 else known


def scattered(known: np.ndarray, *, reach: int = 2, share: float = 0.9) -> np.ndarray:
    """[B] bool: masks whose missing pixels nearly all lie within `reach` px of a known pixel.

    Such masks (random pixels, a grid) pin the whole face down, so the search can take larger
    steps; holes (centre, halves, blobs, most strokes) leave much of the answer to the prior.
    """
    known = as_batch(known)
    near = maximum_filter(known > 0, size=(1, 2 * reach + 1, 2 * reach + 1))
    missing = known == 0
    counts = missing.sum((1, 2))
    return (near & missing).sum((1, 2)) >= share * np.maximum(counts, 1)


def open_holes(known: np.ndarray, *, share: float = 0.5) -> np.ndarray:
    """[B] bool: masks whose hole is bounded more by the image's edge than by known pixels.

    A half-face hole (left, right, top, bottom) has known pixels on one side only: the search
    can fit that one seam in many ways and drifts from the encoder's guess, which saw the whole
    kept half. Measured as the share of the hole's outline (pixel sides) on the image frame.
    """
    missing = as_batch(known) == 0
    edges = (missing[:, 0], missing[:, -1], missing[:, :, 0], missing[:, :, -1])
    frame = sum(e.sum(1) for e in edges)
    seams = np.diff(missing, axis=1).sum((1, 2)) + np.diff(missing, axis=2).sum((1, 2))
    return frame > share * np.maximum(frame + seams, 1)


def grow_holes(known: np.ndarray, pixels: int) -> np.ndarray:
    """known ([H, W] or [B, H, W], 1 = keep) with every hole grown by `pixels` (to a disc's
    reach, the Euclidean distance), as inpainting tools grow a selection."""
    if pixels <= 0:
        return known
    batch = as_batch(known)
    far = [cv2.distanceTransform((k > 0.5).astype(np.uint8), cv2.DIST_L2, 5) > pixels for k in batch]
    grown = np.stack(far).astype(known.dtype)
    return grown if known.ndim == 3 else grown[0]


def feather_weights(known: np.ndarray, pixels: int) -> np.ndarray:
    """The fill's weight per pixel of known [H, W]: 0 on kept pixels, rising across the hole's
    outer `pixels` from 1 / pixels next to the kept ones to 1 (1 everywhere in the hole if 0)."""
    hole = (known < 0.5).astype(np.uint8)
    if pixels <= 0:
        return hole.astype(np.float32)
    inside = cv2.distanceTransform(hole, cv2.DIST_L2, 5)  # 1 next to a kept pixel
    return np.clip(inside / pixels, 0, 1).astype(np.float32)
