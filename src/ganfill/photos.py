"""Completing faces inside ordinary photos: align, complete in the model's frame, warp back.

Only the masked pixels of the photo change; they are Poisson-blended against the untouched
pixels around them. The photo keeps its size, mode and EXIF orientation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from ganfill.alignment import AlignmentError, FaceAligner, unwarp, warp
from ganfill.blending import poisson_blend
from ganfill.images import ImageError

# Image.transpose operations that undo each EXIF orientation (inverse of ImageOps.exif_transpose).
UNDO_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
SUPPORTED_MODES = ("RGB", "RGBA", "L")

CompleteFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(aligned faces uint8 [N, S, S, 3], known [N, S, S]) -> completions uint8 [N, K, S, S, 3], best first."""


@dataclass
class PhotoCompletion:
    """The completed photos (K alternatives, best first) and the aligned faces that were completed."""

    images: list[Image.Image]
    faces: np.ndarray
    """Aligned inputs [N, S, S, 3] of the completed faces."""
    completed: np.ndarray
    """Their completions [N, K, S, S, 3]."""

    @property
    def image(self) -> Image.Image:
        """The best completion."""
        return self.images[0]


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A known-mask (1 = keep) of an image of size (width, height) with the box x, y, w, h to fill."""
    x, y, w, h = box
    known = np.ones((size[1], size[0]), np.float32)
    known[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = 0
    if known.all():
        raise ImageError(f"box {x},{y},{w},{h} lies outside the {size[0]}x{size[1]} photo")
    return known


def complete_photo(
    photo: Image.Image,
    known: np.ndarray,
    aligner: FaceAligner,
    complete: CompleteFn,
) -> PhotoCompletion:
    """Complete every face that the mask touches; known [H, W] is in the photo's displayed pixels."""
    orientation = photo.getexif().get(0x0112, 1)
    upright = ImageOps.exif_transpose(photo)
    if upright.size != (known.shape[1], known.shape[0]):
        raise ImageError(
            f"mask is {known.shape[1]}x{known.shape[0]}, the photo is {upright.width}x{upright.height}"
        )
    mode = upright.mode if upright.mode in SUPPORTED_MODES else "RGB"
    base = upright.convert(mode)
    rgb = np.asarray(base.convert("RGB"))
    size = aligner.size
    faces, chosen = aligner.detect(rgb), []
    for face in faces:
        known_aligned = warp(known, face.matrix, size, nearest=True)
        if (known_aligned < 0.5).any():
            chosen.append((face, (known_aligned > 0.5).astype(np.float32)))
    if not faces:
        raise AlignmentError("no face found in the photo")
    if not chosen:
        raise AlignmentError("the mask touches none of the faces found in the photo")
    aligned = np.stack([warp(rgb, face.matrix, size) for face, _ in chosen])
    done = complete(aligned, np.stack([k for _, k in chosen]))  # [N, K, S, S, 3]
    hole = known < 0.5
    frame = np.ones((size, size), np.uint8)
    regions = [hole & (unwarp(frame, f.matrix, rgb.shape[:2], nearest=True) > 0) for f, _ in chosen]
    images = []
    for k in range(done.shape[1]):
        out = rgb.astype(np.float64)
        for (face, _), face_done, region in zip(chosen, done[:, k], regions, strict=True):
            back = unwarp(face_done, face.matrix, rgb.shape[:2]).astype(np.float64)
            out = _blend_region(out, back, ~region)
        result = np.where(hole[..., None], np.clip(np.round(out), 0, 255), rgb).astype(np.uint8)
        image = _restore_mode(base, result, hole)
        if orientation in UNDO_ORIENTATION:
            image = image.transpose(UNDO_ORIENTATION[orientation])
        image.info["exif"] = photo.info.get("exif", b"")
        images.append(image)
    return PhotoCompletion(images, aligned, done)


def _blend_region(target: np.ndarray, source: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Poisson-blend source into target where keep is False, solving on the hole's bounding box."""
    ys, xs = np.nonzero(~keep)
    if len(ys) == 0:
        return target
    y0, y1 = max(0, ys.min() - 1), min(target.shape[0], ys.max() + 2)
    x0, x1 = max(0, xs.min() - 1), min(target.shape[1], xs.max() + 2)
    out = target.copy()
    crop = np.s_[y0:y1, x0:x1]
    out[crop] = poisson_blend(target[crop], source[crop], keep[crop].astype(np.float32))
    return out


def _restore_mode(base: Image.Image, rgb: np.ndarray, hole: np.ndarray) -> Image.Image:
    """The completed RGB pixels in the photo's own mode; pixels outside the hole stay as they were."""
    if base.mode == "RGB":
        return Image.fromarray(rgb)
    original = np.array(base)
    if base.mode == "RGBA":
        original[..., :3][hole] = rgb[hole]
    else:  # L: only the hole is converted to grey
        grey = np.asarray(Image.fromarray(rgb).convert("L"))
        original[hole] = grey[hole]
    return Image.fromarray(original, mode=base.mode)
