"""Classical inpainting methods that ganfill is compared against, in one small registry.

Each method takes uint8 images [H, W, 3] with a known mask [H, W] (1 = keep) and returns the
completed uint8 image; known pixels are returned unchanged. A method returns None for a mask
it cannot handle (the lowres mask has no known pixel to inpaint from).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Method = Callable[[np.ndarray, np.ndarray, int], np.ndarray | None]


def _fill_mask(known: np.ndarray) -> np.ndarray:
    return ((known < 0.5) * 255).astype(np.uint8)  # OpenCV: non-zero = inpaint


def telea(image: np.ndarray, known: np.ndarray, lowres_factor: int) -> np.ndarray | None:
    """OpenCV's fast marching method (Telea 2004), radius 3."""
    import cv2

    if not known.any():
        return None
    return cv2.inpaint(image, _fill_mask(known), 3, cv2.INPAINT_TELEA)


def ns(image: np.ndarray, known: np.ndarray, lowres_factor: int) -> np.ndarray | None:
    """OpenCV's Navier-Stokes inpainting (Bertalmio et al. 2001), radius 3."""
    import cv2

    if not known.any():
        return None
    return cv2.inpaint(image, _fill_mask(known), 3, cv2.INPAINT_NS)


def biharmonic(image: np.ndarray, known: np.ndarray, lowres_factor: int) -> np.ndarray | None:
    """scikit-image's biharmonic inpainting."""
    from skimage.restoration import inpaint_biharmonic

    if not known.any():
        return None
    out = inpaint_biharmonic(image.astype(np.float64) / 255, known < 0.5, channel_axis=-1)
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def patchmatch(image: np.ndarray, known: np.ndarray, lowres_factor: int) -> np.ndarray | None:
    """PatchMatch inpainting (Barnes et al. 2009) from PyPatchMatch, radius-3 patches, seed 0."""
    import patchmatch as pm

    if not known.any():
        return None
    pm.set_random_seed(0)
    return pm.inpaint(image, (known < 0.5).astype(np.uint8), patch_size=3)


def mean(image: np.ndarray, known: np.ndarray, lowres_factor: int) -> np.ndarray | None:
    """The mean colour of the known pixels in every hole pixel."""
    if not known.any():
        return None
    k = known.astype(bool)
    out = image.copy()
    out[~k] = np.round(image[k].mean(0)).astype(np.uint8)
    return out


def bicubic(image: np.ndarray, known: np.ndarray, lowres_factor: int) -> np.ndarray | None:
    """For the lowres mask only: bicubic upsampling of the known low-resolution view."""
    from PIL import Image

    if known.any():
        return None
    h, w = known.shape
    small = image.reshape(h // lowres_factor, lowres_factor, w // lowres_factor, lowres_factor, 3).mean(
        (1, 3)
    )
    up = Image.fromarray(np.round(small).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(up)


METHODS: dict[str, Method] = {
    "telea": telea,
    "ns": ns,
    "biharmonic": biharmonic,
    "patchmatch": patchmatch,
    "mean": mean,
    "bicubic": bicubic,
}
