"""Hostile and odd input files, made in memory from one example face (no binary corpus in git)."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from conftest import FACES
from PIL import Image

SIZE = 16  # the tiny test models' frame


def face() -> Image.Image:
    return Image.open(FACES / "celeba_000053.png").convert("RGB").resize((SIZE, SIZE))


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height pixels, with no pixel data: a decompression bomb
    as far as any reader that trusts the header is concerned."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def bad_crc(png: bytes) -> bytes:
    at = png.index(b"IDAT") + 8  # a byte inside the compressed pixels
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1 :]


def corrupt_exif_jpeg() -> bytes:
    tiff = b"MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\xff\xff\xff\xff\x00\x01"  # 5 entries, data for 1
    return encode(face(), "JPEG", exif=b"Exif\x00\x00" + tiff)


def rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    return encode(face(), "JPEG", quality=95, exif=exif.tobytes())


def sixteen_bit() -> bytes:
    grey = np.asarray(face().convert("L"), np.uint16) * 257
    return encode(Image.fromarray(grey), "PNG")


def animated_gif() -> bytes:
    frames = [face(), face().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


@dataclass(frozen=True)
class Case:
    """One input file: its name and bytes, and what must happen to it. problem=None: a usable
    image that must complete (saying warning, if given, on one line); otherwise the CLI's line
    and the API's error must say problem (status: the HTTP code)."""

    name: str
    data: bytes
    problem: str | None = None
    status: int = 200
    warning: str | None = None
    """A usable file's flaw, said in one warning line."""


def image_cases() -> list[Case]:
    png, jpeg = encode(face(), "PNG"), encode(face(), "JPEG")
    broken = "not a readable image"
    return [
        Case("empty.png", b"", broken, 415),
        Case("zero.jpg", b"", broken, 415),
        Case("text.png", b"hello, this is not a picture\n", broken, 415),
        Case("noise.jpg", np.random.default_rng(0).bytes(3000), broken, 415),
        Case("html.webp", b"<html><body>404</body></html>", broken, 415),
        Case("half.png", png[: len(png) // 2], broken, 415),
        Case("half.jpg", jpeg[: len(jpeg) // 2], broken, 415),
        Case("badcrc.png", bad_crc(png), broken, 415),
        Case("half.webp", encode(face(), "WEBP")[:40], broken, 415),
        Case("header.bmp", encode(face(), "BMP")[:60], broken, 415),
        Case("junk.gif", b"GIF89a" + b"\x00" * 20, broken, 415),
        Case("bomb.png", png_header_only(20_000, 20_000), "too many pixels", 413),
        Case("sixteen.png", sixteen_bit()),
        Case("cmyk.jpg", encode(face().convert("CMYK"), "JPEG")),
        Case("palette.png", encode(face().convert("P"), "PNG")),
        Case("grey_alpha.png", encode(face().convert("LA"), "PNG")),
        Case("transparent.png", encode(face().convert("RGBA"), "PNG")),
        Case("bilevel.png", encode(face().convert("1"), "PNG")),
        Case("grey.jpg", encode(face().convert("L"), "JPEG")),
        Case("animated.gif", animated_gif()),
        Case("float.tif", encode(Image.fromarray(np.asarray(face().convert("L"), np.float32)), "TIFF")),
        Case("png_named.jpg", png),
        Case("rotated.jpg", rotated_jpeg()),
        Case("bad_exif.jpg", corrupt_exif_jpeg(), warning="corrupt EXIF data (ignored)"),
    ]


def mask_cases() -> list[Case]:
    hole = np.zeros((SIZE, SIZE), np.uint8)
    hole[4:12, 4:12] = 255
    png = encode(Image.fromarray(hole), "PNG")
    return [
        Case("small_mask.png", encode(Image.fromarray(hole[:8, :8]), "PNG"), "8x8, but the image is", 422),
        Case("black_mask.png", encode(Image.new("L", (SIZE, SIZE), 0), "PNG"), "marks nothing to fill", 422),
        Case("white_mask.png", encode(Image.new("L", (SIZE, SIZE), 255), "PNG"), "every pixel to fill", 422),
        Case("text_mask.png", b"not a mask", "not a readable", 415),
        Case("half_mask.png", png[: len(png) // 2], "not a readable", 415),
        Case("bomb_mask.png", png_header_only(20_000, 20_000), "too many pixels", 413),
        Case("sixteen_mask.png", encode(Image.fromarray(hole.astype(np.uint16) * 257), "PNG")),
    ]
