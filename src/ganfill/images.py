"""The one place that converts image files, PIL images and arrays to tensors in [-1, 1] and back."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ganfill.errors import InputWarning, UserError
from ganfill.files import atomic_write

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".avif", ".bmp", ".gif", ".tif", ".tiff")
NOT_PICTURES = (".csv", ".json", ".txt", ".md", ".log")
"""Reports and notes that a folder of pictures may hold: skipped without a word."""
Image.MAX_IMAGE_PIXELS = 64_000_000  # refuse decompression bombs early
GREY = np.array([0.299, 0.587, 0.114])
"""RGB weights of an image's grey (ITU-R 601 luma, as PIL's convert("L"))."""
GREY_SPREAD = 6
"""Most a pixel's channels differ (JPEG's colour noise) in a photo taken for black-and-white."""


class ImageError(UserError):
    """An input image or mask cannot be used; str() is one line naming the file and the problem."""


def find_images(paths: Iterable[str | Path]) -> list[Path]:
    """Image files among `paths`, folders searched recursively, in a stable sorted order; other
    files in a folder (except hidden ones and reports) are named in one InputWarning."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            found += [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
            other = [f.name for f in files if f.suffix.lower() not in IMAGE_SUFFIXES + NOT_PICTURES]
            if other:
                names = ", ".join(other[:3]) + (f" and {len(other) - 3} more" if len(other) > 3 else "")
                message = f"{p}: skipped {len(other)} file(s) that are not images: {names}"
                warnings.warn(message, InputWarning, stacklevel=2)
        elif p.exists():
            found.append(p)
        else:
            raise ImageError(f"{p}: no such file or folder")
    return found


def flat_names(files: Sequence[Path], root: Path | None = None) -> list[str]:
    """Unique output stems for files: the stem where unique, else the path joined with '__'."""
    stems = [f.name.rsplit(".", 1)[0] for f in files]
    counts: dict[str, int] = {}
    for s in stems:
        counts[s] = counts.get(s, 0) + 1
    names, used = [], set()
    for i, (f, s) in enumerate(zip(files, stems, strict=True)):
        if counts[s] > 1:
            rel = f.relative_to(root) if root is not None and f.is_relative_to(root) else f
            s = "__".join(p for p in rel.with_suffix("").parts if p not in ("/", ".."))
        if s in used:
            s = f"{s}__{i}"
        used.add(s)
        names.append(s)
    return names


@contextlib.contextmanager
def pil_flaws(what: str) -> Iterator[None]:
    """Flaws PIL only warns about while reading (corrupt EXIF data) become one InputWarning each,
    naming `what` (the file), instead of PIL's raw warning with its source line."""
    with warnings.catch_warnings(record=True) as flaws:
        warnings.simplefilter("always")
        yield
    for flaw in flaws:
        if issubclass(flaw.category, ResourceWarning):  # the collector's, about another object
            warnings.warn_explicit(
                flaw.message, flaw.category, flaw.filename, flaw.lineno, source=flaw.source
            )
            continue
        first = str(flaw.message).split(".")[0].strip()
        warnings.warn(f"{what}: {first[:1].lower()}{first[1:]} (ignored)", InputWarning, stacklevel=3)


def open_image(path: str | Path) -> Image.Image:
    """An image file fully loaded as stored (mode, EXIF kept); ImageError if it is not an image."""
    try:
        with pil_flaws(str(path)), Image.open(path) as im:
            im.load()
            im.getexif()  # parsed (and cached) now, inside pil_flaws
            return im
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: image has too many pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: not a readable image ({type(exc).__name__})") from None


DEEP_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def white_of(im: Image.Image) -> float:
    """The value of white in a 16- or 32-bit grey image: 65535 in the 16-bit modes or where
    values pass 255, else 255."""
    return 65535.0 if im.mode.startswith("I;16") or np.asarray(im).max(initial=0) > 255 else 255.0


def to_8bit(im: Image.Image) -> Image.Image:
    """16- and 32-bit grey images scaled to 8 bits (PIL's convert would clip them to white)."""
    if im.mode not in DEEP_GREY:
        return im
    values = np.asarray(im, dtype=np.float64) * (255.0 / white_of(im))
    return Image.fromarray(np.clip(values, 0, 255).round().astype(np.uint8), mode="L")


def upright(im: Image.Image) -> Image.Image:
    """An image with its EXIF orientation applied and high bit depths reduced to 8 bits."""
    return to_8bit(ImageOps.exif_transpose(im))


def upright_size(im: Image.Image) -> tuple[int, int]:
    """The (width, height) the image has once its EXIF orientation is applied, without applying
    it (orientations 5-8 turn it a quarter)."""
    return (im.height, im.width) if im.getexif().get(0x0112, 1) in (5, 6, 7, 8) else im.size


def open_rgb(path: str | Path) -> Image.Image:
    """An image file as RGB with its EXIF orientation applied; ImageError if it is not an image."""
    return upright(open_image(path)).convert("RGB")


def center_crop(im: Image.Image, crop: int) -> Image.Image:
    """The central crop x crop square (clamped to the image), as carpedm20's 108 crop of CelebA."""
    side = min(crop, im.width, im.height)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    return im.crop((left, top, left + side, top + side))


def load_uint8(path: str | Path, size: int, *, crop: int | None = None) -> np.ndarray:
    """An image file as a uint8 array [size, size, 3], centre-cropped first if asked."""
    im = open_rgb(path)
    if crop:
        im = center_crop(im, crop)
    if im.size != (size, size):
        im = im.resize((size, size), Image.BICUBIC)
    return np.asarray(im, dtype=np.uint8)


def uint8_batch(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """uint8 images [B, H, W, 3] (one image [H, W, 3] too) as a writable array; refuses other dtypes
    rather than casting them (floats in [0, 1] would become a black image) and other channels."""
    array = images.numpy(force=True) if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.dtype != np.uint8:
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        raise ImageError(
            f"images must be uint8 in 0-255, got {array.dtype} in [{low:g}, {high:g}]"
            " (floats in [0, 1]: np.round(images * 255).astype(np.uint8))"
        )
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ImageError(f"images must be RGB [B, H, W, 3] (or one [H, W, 3]), got shape {array.shape}")
    return np.array(array)  # a copy: the caller's array may be read-only


def photo_from_array(array: np.ndarray) -> Image.Image:
    """A photo given as an array: uint8 grey [H, W], RGB [H, W, 3] or RGBA [H, W, 4]."""
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        shape = f"{array.dtype} {array.shape}"
        raise ImageError(f"a photo array must be uint8 [H, W], [H, W, 3] or [H, W, 4], got {shape}")
    return Image.fromarray(array)


def per_face(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A setting given once or once per face [B], as [1 or B, 1, 1, 1] on like's device and dtype
    (like [B, C, H, W]); any other count is a ValueError (broadcast, it would give each face the
    first's)."""
    out = torch.as_tensor(value, dtype=like.dtype, device=like.device).reshape(-1, 1, 1, 1)
    if len(out) not in (1, len(like)):
        raise ValueError(f"{len(out)} strengths for {len(like)} faces")
    return out


def to_tensor(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images [B, H, W, 3] (or [H, W, 3]) -> float tensor [B, 3, H, W] in [-1, 1]."""
    t = torch.as_tensor(np.asarray(images))
    if t.ndim == 3:
        t = t[None]
    return t.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images [B, 3, H, W] in [-1, 1] -> uint8 array [B, H, W, 3], rounded."""
    x = images.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round()
    return np.ascontiguousarray(x.to(torch.uint8).permute(0, 2, 3, 1).numpy())


def load_mask_file(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A mask file as a `known` array (1 = keep): white (>= 128) in the file means *to fill*."""
    try:
        with Image.open(path) as im:
            im.load()
            return mask_to_known(im, size, what=str(path))
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: mask has too many pixels") from None
    except FileNotFoundError:
        raise ImageError(f"{path}: no such mask file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{path}: not a readable mask image") from None


def mask_to_known(im: Image.Image, size: tuple[int, int] | None, *, what: str) -> np.ndarray:
    """A mask image (white >= 128 = fill) as `known` [H, W] (1 = keep): the one place the file
    convention meets the code's; refuses a mask of the wrong size, or one that fills nothing or all."""
    gray = np.asarray(upright(im).convert("L"))
    if size is not None and gray.shape != (size[1], size[0]):
        shape = f"{gray.shape[1]}x{gray.shape[0]}"
        raise ImageError(f"{what}: {shape}, but the image is {size[0]}x{size[1]} (a mask must match it)")
    known = (gray < 128).astype(np.float32)
    if known.all():
        raise ImageError(f"{what}: marks nothing to fill (no white pixels)")
    if not known.any():
        raise ImageError(f"{what}: marks every pixel to fill (all white); nothing is known")
    return known


def known_to_mask_image(known: np.ndarray) -> Image.Image:
    """A `known` array (1 = keep) as a mask file image in the tools' convention (white = fill)."""
    return Image.fromarray(((1 - known) * 255).astype(np.uint8), mode="L")


def show_holes(images: np.ndarray, known: np.ndarray) -> np.ndarray:
    """uint8 images [B, H, W, 3] with their holes (known [B, H, W] == 0) shown white."""
    k = known[..., None]
    return (images * k + 255 * (1 - k)).astype(np.uint8)


def grid(images: np.ndarray, *, ncols: int | None = None, pad: int = 2) -> np.ndarray:
    """uint8 images [B, H, W, 3] tiled into one uint8 picture, ncols defaulting to a square."""
    b, h, w, c = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(b)))
    nrows = int(np.ceil(b / ncols))
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), 255, np.uint8)
    for i, im in enumerate(images):
        r, col = divmod(i, ncols)
        out[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + col * (w + pad) : pad + col * (w + pad) + w,
        ] = im
    return out


def side_by_side(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Equal-length uint8 image sets [B, H, W, 3] as one picture: a row per image, a column per set."""
    tiles = np.stack([column[i] for i in range(len(columns[0])) for column in columns])
    return grid(tiles, ncols=len(columns))


def carried(image: Image.Image) -> dict[str, object]:
    """Save parameters that keep the photo metadata an image carries in its info (EXIF, dpi; the
    ICC profile PNG writes from info itself), for every writer of completed photos."""
    return {"exif": image.info.get("exif", b""), "dpi": image.info.get("dpi")}


def save_atomic(image: Image.Image, path: str | Path, **params: object) -> None:
    """Write an image so that a reader never sees a half-written file (write, then rename)."""
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}.get(
        Path(path).suffix.lower(), "PNG"
    )
    with atomic_write(path) as tmp:
        image.save(tmp, format=fmt, **params)


def save_png(array: np.ndarray, path: str | Path) -> None:
    """A uint8 array [H, W, 3] (or [H, W]) as a PNG, written atomically."""
    save_atomic(Image.fromarray(array), path)


def save_gif(frames: Sequence[np.ndarray], path: str | Path, *, ms_per_frame: int = 80) -> None:
    """uint8 frames [H, W, 3] as a looping animated GIF (the reference's ImageMagick step)."""
    pics = [Image.fromarray(f) for f in frames]
    save_atomic(pics[0], path, save_all=True, append_images=pics[1:], duration=ms_per_frame, loop=0)
