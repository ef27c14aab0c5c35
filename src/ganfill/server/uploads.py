"""What a request carries: the body read up to the limit, images checked by content, the mask
converted by images.mask_to_known (the same rule as the CLI), options validated by the configs."""

from __future__ import annotations

import base64
import difflib
import io
from dataclasses import dataclass

import numpy as np
from fastapi import HTTPException, Request
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ValidationError

from ganfill.config import CompletionConfig, ConfigError, MaskConfig, OutputConfig, RunConfig, ServeConfig
from ganfill.errors import UserError
from ganfill.images import mask_to_known, pil_flaws, upright
from ganfill.masks import KINDS, check_region
from ganfill.photos import box_mask
from ganfill.server.schemas import CompleteJSON, Options, split_options

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"}
ACCEPTED = "PNG, JPEG, WebP, BMP, GIF or TIFF"  # ALLOWED_FORMATS, as an error message says them


class ApiError(HTTPException):
    """A client error answered as JSON {"error": ...}."""


def error(status: int, message: str, **headers: str) -> ApiError:
    """A client error with status and one-line message (headers such as Retry-After)."""
    return ApiError(status_code=status, detail=message, headers=headers or None)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes limit bytes (chunked or not)."""
    declared = int(request.headers.get("content-length") or 0)
    close = {"Connection": "close"}  # the server stops reading: the rest of the body is not drained
    if declared > limit:
        raise error(413, f"request is {declared} bytes; the limit is {limit}", **close)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise error(413, f"request is more than {limit} bytes; the limit is {limit}", **close)
    request._body = bytes(body)
    return request._body


def decode_image(data: bytes, what: str, config: ServeConfig) -> Image.Image:
    """An uploaded image checked by content: a known format, not too many pixels."""
    try:
        with pil_flaws(what):
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise error(413, f"{what}: the image has too many pixels") from None
    except (UnidentifiedImageError, OSError):
        raise error(415, f"{what}: not a readable image ({ACCEPTED})") from None
    if im.format not in ALLOWED_FORMATS:
        raise error(415, f"{what}: {im.format} images are not accepted ({ACCEPTED})")
    if im.width * im.height > config.max_pixels:
        raise error(413, f"{what}: {im.width}x{im.height} is more than {config.max_pixels} pixels")
    try:
        with pil_flaws(what):
            im.load()
            im.getexif()
    except Image.DecompressionBombError:
        raise error(413, f"{what}: the image has too many pixels") from None
    except OSError:
        raise error(415, f"{what}: not a readable image (its data is broken)") from None
    return im


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.split(",", 1)[1] if text.startswith("data:") else text, validate=True)
    except ValueError:
        raise error(400, f"{what}: not valid base64") from None


@dataclass
class Upload:
    """A checked completion request."""

    image: Image.Image
    known: np.ndarray | MaskConfig
    """[H, W] in the image's upright pixels, 1 = keep; or a mask kind (every face's, in a photo)."""
    options: BaseModel
    config: CompletionConfig
    run: RunConfig


async def _parts(request: Request, body: bytes) -> tuple[bytes, bytes | str | None, dict]:
    """Image bytes, the mask (its file's bytes, a mask kind's name, or None: a box instead) and raw
    options from a multipart form or a JSON body."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        data = CompleteJSON.model_validate_json(body)
        mask = data.mask if data.mask is None or data.mask in KINDS else _b64(data.mask, "mask")
        return _b64(data.image, "image"), mask, data.model_dump(exclude={"image", "mask"})
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        image, mask = form.get("image"), form.get("mask")
        if image is None or isinstance(image, str):
            raise error(400, "missing file field(s): image")
        if isinstance(mask, str) and mask not in KINDS:
            raise error(400, f"mask: send a file or a mask kind ({', '.join(KINDS)}), or box instead")
        raw = {k: v for k, v in form.items() if k not in ("image", "mask")}
        if mask is not None and not isinstance(mask, str):  # a file, not a kind's name
            mask = await mask.read()
        return await image.read(), mask, raw
    raise error(415, "send multipart/form-data (image, mask or box, options) or application/json")


def _first_problem(exc: ValidationError) -> str:
    """A request's first invalid field and why, an unknown one with the nearest option's name."""
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"])) or "body"
    if first["type"] != "extra_forbidden":
        return f"{where}: {first['msg']}"
    near = difflib.get_close_matches(where, [*CompleteJSON.model_fields], n=1)
    return f"{where}: not an option" + (f" (did you mean {near[0]}?)" if near else " (see /docs)")


def _check_limits(config: CompletionConfig, run: RunConfig, limits: ServeConfig) -> None:
    if (config.iters or 0) > limits.max_iters:
        raise error(422, f"iters: at most {limits.max_iters}")
    if (config.restarts or 1) > limits.max_restarts:
        raise error(422, f"restarts: at most {limits.max_restarts}")
    if run.samples > limits.max_samples:
        raise error(422, f"samples: at most {limits.max_samples}")


def _known(
    mask: bytes | str | None, options: BaseModel, size: tuple[int, int], limits: ServeConfig
) -> np.ndarray | MaskConfig:
    """The request's known-mask in the upright image's pixels (from the mask file, or box as the
    CLI's --box), or a mask kind (with align, a region drawn in every face's frame); exactly one
    of mask and box."""
    if (mask is None) == (options.box is None):
        raise error(400, "send exactly one of a mask (a file or a kind) or box (x,y,w,h in photo pixels)")
    try:
        if isinstance(mask, bytes):
            return mask_to_known(decode_image(mask, "mask", limits), size, what="mask")
        if mask is None:
            return box_mask(size, OutputConfig(align=options.align, box=options.box).box_tuple)
        return MaskConfig(mask=check_region(mask) if options.align else mask)
    except UserError as exc:
        raise error(422, str(exc)) from None


async def read_upload(request: Request, limits: ServeConfig, size: int) -> Upload:
    """The image, known mask and options of a completion request, within the limits."""
    body = await read_body(request, int(limits.max_upload_mb * 2**20))
    try:
        image_bytes, mask_bytes, raw = await _parts(request, body)
        options = Options(**raw)
        config, run = split_options(options)
    except ValidationError as exc:
        raise error(422, _first_problem(exc)) from None
    except ConfigError as exc:
        raise error(422, str(exc)) from None
    _check_limits(config, run, limits)
    image = decode_image(image_bytes, "image", limits)
    shown = upright(image)
    known = _known(mask_bytes, options, shown.size, limits)
    if not options.align and shown.size != (size, size):
        raise error(422, f"with align off the image must be an aligned {size}x{size} face")
    return Upload(image, known, options, config, run)
