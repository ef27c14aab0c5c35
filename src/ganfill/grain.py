"""The photo's own grain, measured around a hole and matched inside it.

A face drawn at the model's frame and warped up, even with the finisher's detail, is smoother
at the photo's finest scale (one or two pixels: sensor noise, film grain, JPEG's, pores and
freckles) than the photo around it, and a smooth patch in a grainy photo shows as pasted. The
grain is the photo's residual under a small Gaussian blur; its level is measured robustly (the
median absolute deviation, which edges such as brows and lids do not sway) on the calmer known
pixels of a ring around the hole (hair's texture is not grain), and on the fill inside it;
where the fill has less (by more than SLACK), Gaussian grain kept to the residual's band, with
the missing covariance (the channels correlated as the photo's are), is added to the hole. The
drawn grain is as coarse as the photo's: a photo's grain is rarely white (demosaicing, JPEG and
scanning blur it over a pixel or two; the astronaut's neighbouring residuals correlate
0.25-0.47, white grain's -0.17), and white grain in such a photo shows as speckle; so white
noise is blurred first, by the std whose residual, as the measure sees it, has the ring's
neighbour correlation. It adds only the finest scale: the edges of lids and lips are the
search's and the finisher's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIGMA, KSIZE = 1.0, 7
"""The blur the grain is the residual of (std and kernel side, photo pixels)."""
RING = 16
"""Width of the ring of known pixels, around the hole, where the photo's grain is measured."""
CALMEST, CALM_SIGMA = 0.75, 4.0
"""Share of the ring's pixels the grain is measured on: the calmest, by their residual's mean
magnitude around them (a Gaussian window of CALM_SIGMA px), leaving out hair and brows, whose
texture the median absolute deviation alone took for grain. The astronaut's eyes box: std
4.8-5.7 on the whole ring (a box of speckle, looked at), 3.9-4.6 on its calmest three quarters,
3.6-5.9 on her cheeks and forehead; on the calmest half (3.2-3.7) the box showed smoother."""
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


BLURS = np.linspace(0.3, 1.5, 25)
"""Stds (px) of the blur of white noise that drawn grain may have: 0.3 is white to the residual,
1.5 as coarse as it may be (a cap: scans blur grain over a pixel or two, not more)."""


def _drawn_kernel(blur: float) -> np.ndarray:
    """The filter drawn grain is made with: a Gaussian blur of this std, then the residual."""
    impulse = np.zeros((4 * KSIZE + 1,) * 2)
    impulse[2 * KSIZE, 2 * KSIZE] = 1  # a filter applied to it is its kernel
    return residual(cv2.GaussianBlur(impulse, (0, 0), blur, borderType=cv2.BORDER_CONSTANT))


def _neighbour_correlation(kernel: np.ndarray) -> float:
    """Correlation of horizontally neighbouring pixels of white noise filtered by kernel."""
    return float((kernel[:, 1:] * kernel[:, :-1]).sum() / (kernel**2).sum())


CORRELATIONS = np.array([_neighbour_correlation(residual(_drawn_kernel(b))) for b in BLURS])
"""Neighbour correlation that the measure (the residual) sees of grain drawn with each of BLURS
(increasing)."""


@dataclass(frozen=True)
class Grain:
    """A photo's grain: what match_grain draws to look like it."""

    covariance: np.ndarray
    """Robust covariance [C, C] of the photo's residual (grain_covariance)."""
    blur: float
    """Std of the blur of white noise whose residual is as coarse as the photo's (within BLURS'
    range, interpolated)."""


def _robust_centre(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel median and robust std (from the median absolute deviation) of pixels [N, C]:
    edges, a minority of any region, sway neither."""
    median = np.median(pixels, 0)
    return median, MAD_TO_STD * np.median(np.abs(pixels - median), 0)


def grain_covariance(grain: np.ndarray) -> np.ndarray:
    """Robust covariance [C, C] of residual pixels [N, C]: per-channel stds from the median
    absolute deviation, correlations from the pixels within 3 of those stds (no edges)."""
    if len(grain) < MIN_PIXELS:
        return np.zeros((grain.shape[1], grain.shape[1]))
    median, std = _robust_centre(grain)
    centred = grain - median
    inliers = centred[(np.abs(centred) <= 3 * std + 1e-9).all(1)]
    if len(inliers) < MIN_PIXELS or not std.all():
        return np.diag(std**2)
    corr = np.nan_to_num(np.atleast_2d(np.corrcoef(inliers.T)), nan=0.0)
    np.fill_diagonal(corr, 1.0)
    return corr * np.outer(std, std)


def grain_blur(grain: np.ndarray, region: np.ndarray) -> float:
    """The std of BLURS whose drawn grain is as coarse as grain [H, W, C] (a residual) on region
    [H, W] (bool): its neighbouring pixels, both in region and within 3 robust stds (no edges),
    correlate as that grain's do; BLURS[0] (white) where too few pixels tell."""
    if region.sum() < MIN_PIXELS:
        return float(BLURS[0])
    median, std = _robust_centre(grain[region])
    centred = grain - median
    calm = region & (np.abs(centred) <= 3 * std + 1e-9).all(-1)
    across, down = calm[:, 1:] & calm[:, :-1], calm[1:] & calm[:-1]
    first = np.concatenate([centred[:, 1:][across], centred[1:][down]])
    second = np.concatenate([centred[:, :-1][across], centred[:-1][down]])
    scale = np.sqrt((first**2).sum() * (second**2).sum())
    if len(first) < MIN_PIXELS or scale == 0:
        return float(BLURS[0])
    return float(np.interp((first * second).sum() / scale, CORRELATIONS, BLURS))


def photo_grain(photo: np.ndarray, hole: np.ndarray) -> Grain:
    """The grain of photo [H, W, C] on the calmest known pixels within RING of the hole [H, W]
    (bool), at least CLEAR px from it so that the hole's old content does not count."""
    ys, xs = np.nonzero(hole)
    if len(ys) == 0:
        return Grain(np.zeros((photo.shape[-1],) * 2), float(BLURS[0]))
    margin = RING + CLEAR + KSIZE  # only the hole's surroundings are looked at: large photos cost little
    y0, x0 = max(0, ys.min() - margin), max(0, xs.min() - margin)
    window = np.s_[y0 : ys.max() + margin + 1, x0 : xs.max() + margin + 1]
    reach = cv2.distanceTransform((~hole[window]).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (reach >= CLEAR) & (reach <= CLEAR + RING)
    grain = residual(photo[window])
    texture = cv2.GaussianBlur(np.abs(grain).mean(-1), (0, 0), CALM_SIGMA)
    if ring.any():
        ring &= texture <= np.quantile(texture[ring], CALMEST)
    return Grain(grain_covariance(grain[ring]), grain_blur(grain, ring))


def match_grain(
    image: np.ndarray,
    hole: np.ndarray,
    target: Grain,
    rng: np.random.Generator,
    strength: float = 1.0,
) -> np.ndarray:
    """image [H, W, C] (float, the fill in its photo) with grain added in the hole [H, W] where
    the fill's own grain, measured inside the hole, falls short of target's covariance
    (photo_grain) in any channel, as coarse as target's; strength scales the added variance
    (0: none, 1: matched)."""
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5) >= CLEAR
    if strength <= 0 or not target.covariance.any() or inside.sum() < MIN_PIXELS:
        return image
    own = grain_covariance(residual(image)[inside])
    std_target, std_own = np.sqrt(np.diag(target.covariance)), np.sqrt(np.diag(own))
    missing = np.clip(std_target**2 - std_own**2, 0, None)
    missing[missing < SLACK * std_target**2] = 0  # as grainy as the photo, up to the measure's own noise
    missing = np.sqrt(missing * strength)
    if not missing.any():
        return image
    kernel = _drawn_kernel(target.blur)
    norm = np.sqrt((kernel**2).sum())  # std of drawn grain before scaling: it is scaled to 1
    gain = (residual(kernel) ** 2).sum() / norm**2  # variance the measure sees of grain of variance 1
    corr = target.covariance / np.outer(std_target, std_target).clip(min=1e-12)
    covariance = corr * np.outer(missing, missing) / gain
    values, vectors = np.linalg.eigh(covariance)
    root = vectors * np.sqrt(np.clip(values, 0, None))  # covariance = root @ root.T
    ys, xs = np.nonzero(hole)
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    white = rng.standard_normal((*image[box].shape[:2], image.shape[-1]))  # [h, w, C]
    blurred = cv2.GaussianBlur(white, (0, 0), target.blur, borderType=cv2.BORDER_REFLECT)
    noise = residual(blurred).reshape(white.shape) / norm @ root.T
    out = image.astype(np.float64, copy=True)
    out[box][hole[box]] += noise[hole[box]]
    return out
