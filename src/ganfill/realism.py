"""Realism metrics that see blur and texture, which PSNR, SSIM and identity distance do not.

- detail ratio: mean |Laplacian| of the fill's grey image inside the hole (eroded, so the seam
  does not count) over the same for the true face: 1.0 = as much fine detail as a real face,
  below 1 = blur, above 1 = noise. Its distance from 1 is what to minimise.
- SWD: the sliced Wasserstein distance between 7x7 patches of a Laplacian pyramid taken inside
  the holes of the fills and of the true faces (Karras et al. 2018, "Progressive Growing of
  GANs", section 5 and appendix D). Both sets are normalised by the true patches' statistics
  (not each by its own, as Karras et al. do), so that a blurred fill's weaker detail counts.
  Fills of one half of the faces (the even ones) are compared with the truth of the other half,
  and the floor is the truth of one half against the other: a fill as real as the truth scores
  the floor.
- colour ratio: the spread of red against green (R - G) inside the hole, fill over truth: lips,
  irises and cheeks differ from skin in it, and an average face's are paler (below 1).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import binary_erosion, convolve, zoom

from ganfill.images import GREY

LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)
PATCH, LEVELS, DIRECTIONS = 7, 3, 256
PER_IMAGE = 64
"""Patches drawn from each image's hole per pyramid level (enough for a 64-px face's hole)."""
IMAGES_PER_SET = 64
"""A set compares at most this many images' worth of patches (IMAGES_PER_SET * per_image)."""


def _grey(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ GREY  # [H, W] in 0..255


def detail_region(known: np.ndarray, erode: int = 2) -> np.ndarray:
    """The hole (known == 0) eroded by `erode` pixels: where the fill's own detail is judged."""
    hole = known < 0.5
    return binary_erosion(hole, iterations=erode, border_value=1) if erode else hole


def detail(image: np.ndarray, region: np.ndarray) -> float:
    """Mean |Laplacian| of an RGB uint8 image's grey values inside region (nan if empty)."""
    if not region.any():
        return float("nan")
    return float(np.abs(convolve(_grey(image), LAPLACIAN, mode="reflect"))[region].mean())


def detail_ratio(fill: np.ndarray, truth: np.ndarray, known: np.ndarray, *, erode: int = 2) -> float:
    """detail(fill) / detail(truth) inside the eroded hole: 1.0 = as detailed as the real face."""
    region = detail_region(known, erode)
    reference = detail(truth, region)
    return detail(fill, region) / reference if reference > 0 else float("nan")


def detail_ratio_at(
    fill: np.ndarray, truth: np.ndarray, known: np.ndarray, factor: int = 1, *, erode: int = 2
) -> float:
    """detail_ratio with the images downsampled by factor (area averaging; a pixel is known where
    all it averages was): the detail a photo shows at a smaller size, edges rather than grain."""
    if factor > 1:
        size = (truth.shape[1] // factor, truth.shape[0] // factor)
        images = (fill, truth, known.astype(np.float32))
        fill, truth, share = (cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in images)
        known = (share > 0.999).astype(np.float32)
    return detail_ratio(fill, truth, known, erode=erode)


def colour_ratio(fill: np.ndarray, truth: np.ndarray, known: np.ndarray) -> float:
    """Standard deviation of R - G inside the hole (known < 0.5) of an RGB fill over the truth's:
    1.0 = as much colour contrast as the real face there (nan for an empty or flat hole)."""
    hole = known < 0.5
    if not hole.any():
        return float("nan")
    mine, theirs = ((image[..., 0].astype(np.float64) - image[..., 1])[hole].std() for image in (fill, truth))
    return mine / theirs if theirs > 0 else float("nan")


def laplacian_pyramid(image: np.ndarray, levels: int = LEVELS) -> list[np.ndarray]:
    """Band-pass levels [H / 2^l, W / 2^l, C] of a float image, finest first (the last is the
    low-pass residual only when levels == 1)."""
    out, current = [], image.astype(np.float64)
    for _ in range(levels):
        small = zoom(current, (0.5, 0.5, 1), order=1)
        up = zoom(small, (current.shape[0] / small.shape[0], current.shape[1] / small.shape[1], 1), order=1)
        out.append(current - up)
        current = small
    return out


def hole_patches(
    images: np.ndarray, known: np.ndarray, level: int, rng: np.random.Generator, per_image: int = PER_IMAGE
) -> np.ndarray:
    """7x7 patches [N, 147] of one pyramid level whose centres lie in each image's hole."""
    out = []
    r = PATCH // 2
    for image, k in zip(images, known, strict=True):
        band = laplacian_pyramid(image, level + 1)[level]
        hole = zoom((k < 0.5).astype(np.float64), band.shape[0] / k.shape[0], order=0) > 0.5
        hole[:r], hole[-r:], hole[:, :r], hole[:, -r:] = False, False, False, False
        ys, xs = np.nonzero(hole)
        if len(ys) == 0:
            continue
        pick = rng.choice(len(ys), min(per_image, len(ys)), replace=False)
        out += [
            band[y - r : y + r + 1, x - r : x + r + 1].ravel()
            for y, x in zip(ys[pick], xs[pick], strict=True)
        ]
    return np.asarray(out, np.float64).reshape(-1, PATCH * PATCH * images.shape[-1])


def sliced_wasserstein(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, directions: int = DIRECTIONS
) -> float:
    """Mean over random unit directions of the 1-D Wasserstein distance between two equal-size
    point sets [N, D] (sorted projections compared one to one)."""
    dirs = rng.standard_normal((a.shape[1], directions))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
    return float(np.abs(pa - pb).mean())


def _equal(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, most: int
) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(a), len(b), most)
    return a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)]


def swd_levels(
    fills: np.ndarray, truths: np.ndarray, known: np.ndarray, *, seed: int = 0, per_image: int = PER_IMAGE
) -> list[tuple[float, float]]:
    """Per pyramid level, finest first (three at 64 px, fewer for small images): (SWD of the
    fills' hole patches against the truth's, its real-against-real floor), x1000 as Karras et
    al. report it; fills, truths uint8 [N, H, W, 3]. Empty when a level has too few patches.
    per_image patches are drawn from each hole: a photo's large holes need more than a 64-px
    face's for the score to depend on the faces rather than on which patches were drawn."""
    half = len(fills) // 2
    a, b = slice(0, 2 * half, 2), slice(1, 2 * half, 2)  # interleaved: sets sorted by source mix evenly
    out = []
    levels = max(1, min(LEVELS, int(np.log2(fills.shape[1] / PATCH))))  # levels with room for patches
    for level in range(levels):
        patches = {}
        for name, images, part in (("fa", fills, a), ("fb", fills, b), ("ta", truths, a), ("tb", truths, b)):
            rng = np.random.default_rng([seed, level, "ab".index(name[1])])  # same places in fill and truth
            patches[name] = hole_patches(images[part], known[part], level, rng, per_image)
        if min(len(p) for p in patches.values()) < 2:
            return []
        real = np.concatenate([patches["ta"], patches["tb"]])
        mean, std = real.mean(0), real.std(0) + 1e-8
        norm = {k: (v - mean) / std for k, v in patches.items()}
        rng = np.random.default_rng([seed, level, 9])
        most = IMAGES_PER_SET * per_image
        cross = [
            sliced_wasserstein(*_equal(norm["fa"], norm["tb"], rng, most), rng),
            sliced_wasserstein(*_equal(norm["fb"], norm["ta"], rng, most), rng),
        ]
        floor = sliced_wasserstein(*_equal(norm["ta"], norm["tb"], rng, most), rng)
        out.append((1e3 * float(np.mean(cross)), 1e3 * floor))
    return out


def swd(
    fills: np.ndarray, truths: np.ndarray, known: np.ndarray, *, seed: int = 0, per_image: int = PER_IMAGE
) -> tuple[float, float]:
    """(SWD of the fills' hole patches against the truth's, its real-against-real floor), each
    the mean over pyramid levels (swd_levels); nan when the holes hold too few patches."""
    levels = swd_levels(fills, truths, known, seed=seed, per_image=per_image)
    if not levels:
        return float("nan"), float("nan")
    scores, floors = zip(*levels, strict=True)
    return float(np.mean(scores)), float(np.mean(floors))
