"""The photo's own grain, measured around a hole and matched inside it.

A face drawn at the model's frame and warped up, even with the finisher's detail, is smoother
at the photo's finest scale (one or two pixels: sensor noise, film grain, JPEG's, pores and
freckles) than the photo around it, and a smooth patch in a grainy photo shows as pasted. The
grain is the photo's residual under a small Gaussian blur; its level is measured robustly (the
median absolute deviation, which edges such as brows and lids do not sway) on known pixels in a
ring around the hole, and on the fill inside it; where the fill has less (by more than SLACK),
white Gaussian grain kept to the residual's band, with the missing covariance (the channels
correlated as the photo's are), is added to the hole. It adds only the finest scale: the edges
of lids and lips are the search's and the finisher's.
"""

from __future__ import annotations

import cv2
import numpy as np

SIGMA, KSIZE = 1.0, 7
"""The blur the grain is the residual of (std and kernel side, photo pixels)."""
RING = 16
"""Width of the ring of known pixels, around the hole, where the photo's grain is measured."""
CLEAR = KSIZE // 2 + 1
"""Distance from the seam at which a pixel's blur no longer reaches the other side of it."""
MIN_PIXELS = 64
"""Fewer pixels than this (a thin stroke's inside, a hole with no ring) measure nothing: no grain."""
SLACK = 0.2
"""A fill whose grain's variance falls short of the photo's by less than this share gets none."""
MAD_TO_STD = 1.4826  # the std of a Gaussian is 1.4826 of its median absolute deviation


def residual(image: np.ndarray) -> np.ndarray:
    """image [H, W(, C)] less its Gaussian blur (float64): the grain and the finest edges."""
    image = image.astype(np.float64)
    return image - cv2.GaussianBlur(image, (KSIZE, KSIZE), SIGMA, borderType=cv2.BORDER_REFLECT)


_IMPULSE = np.zeros((4 * KSIZE + 1,) * 2)
_IMPULSE[2 * KSIZE, 2 * KSIZE] = 1  # a filter applied to it is its kernel
_KERNEL = residual(_IMPULSE)
GRAIN_NORM = float(np.sqrt((_KERNEL**2).sum()))
"""Std of the residual of unit white noise: drawn grain is that residual over this (the residual's
band only, since coarser noise shows as mottling; white, since Gaussian grain as coarse as a
photo's freckles and scanning blur looked like bubbles)."""
GRAIN_GAIN = float((residual(_KERNEL) ** 2).sum()) / GRAIN_NORM**2
"""Variance that the measure (residual) sees of drawn grain of variance 1."""


def grain_covariance(grain: np.ndarray) -> np.ndarray:
    """Robust covariance [C, C] of residual pixels [N, C]: per-channel stds from the median
    absolute deviation, correlations from the pixels within 3 of those stds (no edges)."""
    if len(grain) < MIN_PIXELS:
        return np.zeros((grain.shape[1], grain.shape[1]))
    centred = grain - np.median(grain, 0)
    std = MAD_TO_STD * np.median(np.abs(centred), 0)
    inliers = centred[(np.abs(centred) <= 3 * std + 1e-9).all(1)]
    if len(inliers) < MIN_PIXELS or not std.all():
        return np.diag(std**2)
    corr = np.nan_to_num(np.atleast_2d(np.corrcoef(inliers.T)), nan=0.0)
    np.fill_diagonal(corr, 1.0)
    return corr * np.outer(std, std)


def photo_grain(photo: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Covariance [C, C] of the grain of photo [H, W, C] on the known pixels within RING of the
    hole [H, W] (bool), at least CLEAR px from it so that the hole's old content does not count."""
    ys, xs = np.nonzero(hole)
    if len(ys) == 0:
        return np.zeros((photo.shape[-1],) * 2)
    margin = RING + CLEAR + KSIZE  # only the hole's surroundings are looked at: large photos cost little
    y0, x0 = max(0, ys.min() - margin), max(0, xs.min() - margin)
    window = np.s_[y0 : ys.max() + margin + 1, x0 : xs.max() + margin + 1]
    reach = cv2.distanceTransform((~hole[window]).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (reach >= CLEAR) & (reach <= CLEAR + RING)
    return grain_covariance(residual(photo[window])[ring])


def match_grain(
    image: np.ndarray,
    hole: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
    strength: float = 1.0,
) -> np.ndarray:
    """image [H, W, C] (float, the fill in its photo) with grain added in the hole [H, W] where
    the fill's own grain, measured inside the hole, falls short of target's covariance
    (photo_grain) in any channel; strength scales the added variance (0: none, 1: matched)."""
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5) >= CLEAR
    if strength <= 0 or not target.any() or inside.sum() < MIN_PIXELS:
        return image
    own = grain_covariance(residual(image)[inside])
    std_target, std_own = np.sqrt(np.diag(target)), np.sqrt(np.diag(own))
    missing = np.clip(std_target**2 - std_own**2, 0, None)
    missing[missing < SLACK * std_target**2] = 0  # as grainy as the photo, up to the measure's own noise
    missing = np.sqrt(missing * strength)
    if not missing.any():
        return image
    corr = target / np.outer(std_target, std_target).clip(min=1e-12)
    covariance = corr * np.outer(missing, missing) / GRAIN_GAIN
    values, vectors = np.linalg.eigh(covariance)
    root = vectors * np.sqrt(np.clip(values, 0, None))  # covariance = root @ root.T
    ys, xs = np.nonzero(hole)
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    white = rng.standard_normal((*image[box].shape[:2], image.shape[-1]))  # [h, w, C]
    noise = residual(white) / GRAIN_NORM @ root.T
    out = image.astype(np.float64, copy=True)
    out[box][hole[box]] += noise[hole[box]]
    return out
