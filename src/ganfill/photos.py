"""Completing faces inside ordinary photos: align, complete in the model's frame, warp back.

Only the masked pixels of the photo change; they are Poisson-blended against the untouched
pixels around them. The photo keeps its size, mode and EXIF orientation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

from ganfill.alignment import AlignmentError, Face, FaceAligner, Interpolation, unwarp, warp
from ganfill.blending import poisson_blend_coarse
from ganfill.config import CompletionConfig, MaskConfig
from ganfill.finisher import Finisher, finish
from ganfill.grain import match_grain, photo_grain
from ganfill.images import GREY, GREY_SPREAD, ImageError, to_8bit, white_of
from ganfill.masks import check_region, feather_weights, grow_holes, make

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
KEPT_MODES = ("RGB", "RGBA", "L", "LA", "I", "I;16", "I;16B", "I;16L")
"""Modes a completed photo keeps (PNG holds them, a fill fits them); others come back RGB(A)."""

INTERPOLATION: Interpolation = "cubic"
"""How a completed face is resampled into the photo (linear loses about an eighth of its fine detail)."""
FINISH_ABOVE = 1.25
"""Photo pixels per model pixel above which a face is drawn by the finisher (else warped up)."""
BEYOND_MARGIN = 8
"""Known pixels around the hole's part beyond the faces' frames that its inpainting reads."""

Area = tuple[slice, slice]
"""A rectangle of the photo, as the index of its rows and columns."""
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
    known: np.ndarray
    """The photo's known-mask [H, W] that was filled (1 = keep; upright pixels, the hole grown)."""

    @property
    def image(self) -> Image.Image:
        """The best completion."""
        return self.images[0]


def own_faces(faces: np.ndarray, known: np.ndarray) -> np.ndarray:
    """A CompleteFn that returns the aligned faces themselves [N, 1, S, S, 3]: the true face as
    the fill, to measure what the photo stage alone (warps, finisher, blend, grain) keeps."""
    return faces[:, None]


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A known-mask (1 = keep) of an image of size (width, height) with the box x, y, w, h to fill."""
    x, y, w, h = box
    known = np.ones((size[1], size[0]), np.float32)
    known[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = 0
    if known.all():
        raise ImageError(f"box {x},{y},{w},{h} lies outside the {size[0]}x{size[1]} photo")
    return known


def kind_mask(
    matrices: Sequence[np.ndarray], shape: tuple[int, int], size: int, mask: MaskConfig, *, seed: int = 0
) -> np.ndarray:
    """A photo's known-mask [H, W] (shape) with mask's kind drawn in each face's size x size
    aligned frame, placed by its photo -> frame map (the eyes of every face in a group photo);
    face i takes the draw (seed, i) of a random kind."""
    frames = make(check_region(mask.mask), len(matrices), size, seed=seed, **mask.params())
    hole = np.zeros(shape, bool)
    for matrix, frame in zip(matrices, frames, strict=True):
        drawn = unwarp((frame < 0.5).astype(np.uint8), matrix, shape, interpolation="nearest", border="zero")
        hole |= drawn > 0
    return (~hole).astype(np.float32)


def complete_photo(
    photo: Image.Image,
    known: np.ndarray | MaskConfig,
    aligner: FaceAligner,
    complete: CompleteFn,
    *,
    dilate: int = 0,
    feather: int = 0,
    grain: float = CompletionConfig.grain,
    seed: int = 0,
    finisher: Finisher | None = None,
) -> PhotoCompletion:
    """Complete every face that the mask touches: known [H, W] in the photo's displayed pixels,
    or a mask kind drawn in every face's frame (kind_mask).

    Only the faces' region of the photo is worked on (warped back, blended, clipped), so a
    large photo costs little more than a small one; a hole reaching past every face's frame is
    inpainted there from the photo around it (Telea). dilate grows the hole first and feather
    fades the fill in across the hole's outer pixels (both in photo pixels). A face larger
    in the photo than the model's frame is drawn by the finisher at 3x, with its detail; grain
    adds the photo's own finest grain where the fill is smoother (grain.py; seeded by seed).
    """
    orientation = photo.getexif().get(0x0112, 1)
    base = _returned(photo)
    rgb = _rgb(base)
    found, known = _found_and_known(rgb, known, aligner, dilate, seed)
    hole = known < 0.5
    chosen, known_aligned = _faces_in_hole(found, known, aligner.size)
    aligned = np.stack([warp(rgb, face.matrix, aligner.size) for face in chosen])
    done = complete(aligned, known_aligned.astype(np.float32))  # [N, K, S, S, 3]
    drawn = [_drawn(rgb, known, f.matrix, faces, finisher) for f, faces in zip(chosen, done, strict=True)]
    area = _work_area([f.matrix for f in chosen], aligner.size, hole)
    seen = aligned[known_aligned].astype(np.int16)  # the faces' known pixels [M, 3]
    grey = len(seen) > 0 and int((seen.max(-1) - seen.min(-1)).max()) <= GREY_SPREAD
    crop, hole_crop = rgb[area].astype(np.float64), hole[area]
    matrices = [_shifted(m, area) for m, _ in drawn]
    regions = _shares(hole_crop, matrices, [faces.shape[1] for _, faces in drawn])
    fade = feather_weights(known[area], feather)[..., None]
    filled = np.logical_or.reduce(regions)
    beyond = _beyond_faces(rgb, hole, area, filled)
    target = photo_grain(rgb, hole) if grain > 0 else None
    rng = np.random.default_rng(seed)
    images = []
    for k in range(done.shape[1]):
        out = beyond[area].astype(np.float64)
        for m, (_, faces), region in zip(matrices, drawn, regions, strict=True):
            back = unwarp(faces[k], m, hole_crop.shape, interpolation=INTERPOLATION).astype(np.float64)
            out = _blend_region(out, back, ~region, _coarseness(m))
        if target is not None:
            out = match_grain(out, filled, target, rng, grain)
        if grey:  # a black-and-white photo stored as RGB gets a black-and-white fill
            out = np.repeat(out @ GREY[:, None], 3, axis=-1)
        image = _restore_mode(base, _pasted(beyond, hole, area, fade * out + (1 - fade) * crop), hole)
        if orientation in UNDO_ORIENTATION:
            image = image.transpose(UNDO_ORIENTATION[orientation])
        images.append(_with_metadata(image, photo))
    return PhotoCompletion(images, aligned, done, known)


def photo_known(
    photo: Image.Image,
    known: np.ndarray | MaskConfig,
    aligner: FaceAligner,
    *,
    dilate: int = 0,
    seed: int = 0,
) -> np.ndarray:
    """The known-mask [H, W] (1 = keep, the photo's upright pixels) that complete_photo fills for
    the same arguments: to show a mask kind, or a grown hole, before completing (the page's presets);
    refused as complete_photo refuses it (no face, or a hole that touches none)."""
    found, known = _found_and_known(_rgb(_returned(photo)), known, aligner, dilate, seed)
    _faces_in_hole(found, known, aligner.size)
    return known


def _rgb(base: Image.Image) -> np.ndarray:
    """The upright photo's pixels as 8-bit RGB, as its faces are found and completed."""
    return np.asarray(to_8bit(base).convert("RGB"))


def _grown(known: np.ndarray, size: tuple[int, int], dilate: int) -> np.ndarray:
    """The photo's known-mask with its hole grown by dilate pixels; refuses a mask of another size
    than the photo's, or one that leaves none of the photo's pixels known."""
    if size != (known.shape[1], known.shape[0]):
        raise ImageError(f"mask is {known.shape[1]}x{known.shape[0]}, the photo is {size[0]}x{size[1]}")
    known = grow_holes(known, dilate)
    if not known.any():
        grown = f" grown by {dilate} px" if dilate else ""
        raise ImageError(f"the mask{grown} covers the whole photo; nothing is known to fill it from")
    return known


def _pasted(rgb: np.ndarray, hole: np.ndarray, area: Area, out: np.ndarray) -> np.ndarray:
    """rgb with its hole's pixels in the work area replaced by out's (rounded), the others as they were."""
    result = rgb.copy()
    result[area][hole[area]] = np.clip(np.round(out[hole[area]]), 0, 255).astype(np.uint8)
    return result


def _drawn(
    rgb: np.ndarray, known: np.ndarray, matrix: np.ndarray, faces: np.ndarray, finisher: Finisher | None
) -> tuple[np.ndarray, np.ndarray]:
    """A face's photo -> frame map and its completions [K, s, s, 3] in that frame: the
    finisher's frame (3x the model's, drawn with the photo's pixels around the hole) where the
    photo shows the face larger than the model's frame, else the model's own."""
    if finisher is None or _photo_px_per_model_px(matrix) < FINISH_ABOVE:
        return matrix, faces
    big, side = matrix * finisher.scale, faces.shape[1] * finisher.scale
    context = np.repeat(warp(rgb, big, side)[None], len(faces), 0)
    seen = np.repeat(
        (warp(known.astype(np.float32), big, side, interpolation="nearest") > 0.5)[None], len(faces), 0
    )
    return big, finish(finisher, faces, context, seen)


def _found_and_known(
    rgb: np.ndarray, known: np.ndarray | MaskConfig, aligner: FaceAligner, dilate: int, seed: int
) -> tuple[list[Face], np.ndarray]:
    """The faces found in the photo and its known-mask (a kind drawn in their frames), the hole
    grown by dilate; a mask's size is checked before faces are looked for."""
    size = (rgb.shape[1], rgb.shape[0])
    if not isinstance(known, MaskConfig):
        known = _grown(known, size, dilate)
    found = aligner.detect(rgb)
    if not found:
        raise AlignmentError("no face found in the photo")
    if isinstance(known, MaskConfig):
        in_frames = kind_mask([f.matrix for f in found], rgb.shape[:2], aligner.size, known, seed=seed)
        known = _grown(in_frames, size, dilate)
    return found, known


def _faces_in_hole(faces: list[Face], known: np.ndarray, size: int) -> tuple[list[Face], np.ndarray]:
    """The faces (largest first) whose aligned size x size frame the hole reaches, and their known
    masks in that frame [N, S, S] (True = keep)."""
    framed = [(f, warp(known, f.matrix, size, interpolation="nearest") > 0.5) for f in faces]
    chosen = [(f, k) for f, k in framed if not k.all()]
    if not chosen:
        raise AlignmentError("the mask touches none of the faces found in the photo")
    return [f for f, _ in chosen], np.stack([k for _, k in chosen])


def _work_area(matrices: list[np.ndarray], size: int, hole: np.ndarray) -> Area:
    """The part of the photo the faces' fills can change: the hole's pixels inside the faces'
    frames, plus a 2-pixel rim of known pixels for the blend's boundary."""
    corners = np.float64([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]])
    points = np.concatenate([corners @ cv2.invertAffineTransform(m).T for m in matrices])
    h, w = hole.shape
    x0, y0 = np.clip(np.floor(points.min(0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(points.max(0)).astype(int) + 1, 0, [w, h])
    return _box_around(hole[y0:y1, x0:x1], 2, hole.shape, (y0, x0))


def _box_around(mask: np.ndarray, rim: int, shape: tuple[int, ...], origin: tuple[int, int] = (0, 0)) -> Area:
    """The bounding box of mask's pixels (mask placed at origin in an image of shape), grown by rim."""
    ys, xs = np.nonzero(mask)
    return (
        slice(max(0, origin[0] + ys.min() - rim), min(shape[0], origin[0] + ys.max() + rim + 1)),
        slice(max(0, origin[1] + xs.min() - rim), min(shape[1], origin[1] + xs.max() + rim + 1)),
    )


def _beyond_faces(rgb: np.ndarray, hole: np.ndarray, area: Area, filled: np.ndarray) -> np.ndarray:
    """rgb with the hole's pixels that no face's frame covers (filled: the covered ones in the
    work area; a mask reaching past the faces) inpainted by Telea's method from the photo around
    them, in uint8 on their own box: no face's fill has anything to draw there, and the faces'
    fills are then blended against these pixels where they meet them."""
    rest = hole.copy()
    rest[area] &= ~filled
    if not rest.any():
        return rgb
    box = _box_around(rest, BEYOND_MARGIN, hole.shape)
    if hole[box].all():  # no known pixel near: read the whole photo's
        box = (slice(None), slice(None))
    painted = cv2.inpaint(np.ascontiguousarray(rgb[box]), hole[box].astype(np.uint8), 3, cv2.INPAINT_TELEA)
    out = rgb.copy()
    out[box][rest[box]] = painted[rest[box]]
    return out


def _shifted(matrix: np.ndarray, area: Area) -> np.ndarray:
    """The photo -> frame map of a face, for coordinates inside the work area."""
    origin = np.float64([area[1].start, area[0].start])
    out = matrix.astype(np.float64).copy()
    out[:, 2] += out[:, :2] @ origin
    return out


def _landing(hole: np.ndarray, matrix: np.ndarray, side: int) -> np.ndarray:
    """The hole's pixels that a side x side frame, placed by its photo -> frame map, covers."""
    frame = np.ones((side, side), np.uint8)
    return hole & (unwarp(frame, matrix, hole.shape, interpolation="nearest", border="zero") > 0)


def _shares(hole: np.ndarray, matrices: list[np.ndarray], sides: list[int]) -> list[np.ndarray]:
    """Each face's part of the hole, largest face first: the hole's pixels its frame covers and no
    larger face's does, so that no face's fill is drawn over another's (_beyond_faces fills the
    pixels no frame covers)."""
    taken, shares = np.zeros_like(hole), []
    for matrix, side in zip(matrices, sides, strict=True):
        landing = _landing(hole, matrix, side)
        shares.append(landing & ~taken)
        taken |= landing
    return shares


def _photo_px_per_model_px(matrix: np.ndarray) -> float:
    """How many photo pixels one pixel of the frame covers (the map's scale)."""
    return float(abs(np.linalg.det(matrix[:, :2])) ** -0.5)


def _coarseness(matrix: np.ndarray) -> int:
    """How much coarser than the photo the seam's correction may be solved: the warped-up fill
    has no detail finer than a frame pixel, so keep 4 correction cells per frame pixel."""
    return max(1, int(_photo_px_per_model_px(matrix) / 4))


def _blend_region(target: np.ndarray, source: np.ndarray, keep: np.ndarray, factor: int) -> np.ndarray:
    """Poisson-blend source into target where keep is False, solving on the hole's bounding box
    (the correction `factor` times coarser, see blending.poisson_blend_coarse)."""
    ys, xs = np.nonzero(~keep)
    if len(ys) == 0:
        return target
    y0, y1 = max(0, ys.min() - 1), min(target.shape[0], ys.max() + 2)
    x0, x1 = max(0, xs.min() - 1), min(target.shape[1], xs.max() + 2)
    out = target.copy()
    crop = np.s_[y0:y1, x0:x1]
    out[crop] = poisson_blend_coarse(target[crop], source[crop], keep[crop].astype(np.float32), factor)
    return out


def _with_metadata(image: Image.Image, photo: Image.Image) -> Image.Image:
    """image carrying the photo's EXIF, its print resolution (dpi) and its ICC colour profile
    (Display P3, Adobe RGB), where the profile describes image's channels (not a CMYK one over RGB)."""
    image.info["exif"] = photo.info.get("exif", b"")
    if "dpi" in photo.info:
        image.info["dpi"] = photo.info["dpi"]
    icc = photo.info.get("icc_profile") or b""
    if icc[16:20] == (b"RGB " if image.mode in ("RGB", "RGBA") else b"GRAY"):  # its colour space
        image.info["icc_profile"] = icc
    return image


def _returned(photo: Image.Image) -> Image.Image:
    """The photo upright, in the mode its completion comes back in: its own if KEPT_MODES holds
    it; float grey as 8-bit grey; a palette or other mode as RGBA if it has transparency, else RGB."""
    im = ImageOps.exif_transpose(photo)
    if im.mode == "F":
        return to_8bit(im)
    if im.mode in KEPT_MODES:
        return im
    alpha = im.mode in ("PA", "RGBa", "La") or "transparency" in im.info
    return im.convert("RGBA" if alpha else "RGB")


def _restore_mode(base: Image.Image, rgb: np.ndarray, hole: np.ndarray) -> Image.Image:
    """The completed RGB pixels in the photo's own mode; pixels outside the hole stay as they were
    (alpha and 16-bit values too)."""
    if base.mode == "RGB":
        return Image.fromarray(rgb)
    original = np.array(base)
    if base.mode == "RGBA":
        original[..., :3][hole] = rgb[hole]
        return Image.fromarray(original)
    grey = np.asarray(Image.fromarray(rgb).convert("L"))[hole]  # the grey modes: only the hole
    if base.mode == "LA":
        original[..., 0][hole] = grey
    elif base.mode == "L":
        original[hole] = grey
    else:  # 16- or 32-bit grey: the fill scaled to the photo's white
        original[hole] = np.round(grey * (white_of(base) / 255.0)).astype(original.dtype)
    return Image.fromarray(original)  # the array's type names the mode: base's
