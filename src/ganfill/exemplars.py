"""Real faces' detail for the fills of photos: a library of aligned faces and the transfer.

The generator draws the right face at 64 px but softer than a real one: eyes without clear irises
and whites, teeth as a pale band. For each hole, the library face that best matches the face
around it (a ring along the hole's edge, and the whole known face coarsely) and the
generator's fill inside it is taken, contrast-matched and blurred to the photo's own
sharpness; its detail finer than a LOW-px blur replaces the fill's, the fill's coarse content
and colour stay, and the result is Poisson-blended into the known face. Retrieving real content
for a hole follows Hays & Efros (2007); a global model with real local detail, Liu, Shum &
Freeman's face hallucination (2007); the gradient-domain paste, Perez et al. (2003).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ganfill.blending import poisson_blend
from ganfill.checkpoint import EXEMPLARS_KIND, ModelFileError, read_safetensors, write_safetensors
from ganfill.config import ExemplarConfig
from ganfill.data import load_folder
from ganfill.images import GREY

DEFAULT_EXEMPLARS = Path(__file__).resolve().parent / "weights" / "exemplars.safetensors"
LUMA = GREY.astype(np.float32)
RING = 6
"""Width in model pixels of the known ring along the hole's edge that a library face must match."""
NEAR = 1.5
"""Blur (std, model pixels) of the generator's fill and the library faces compared in the hole."""
FAR, FAR_SIDE = 3.0, 16
"""Blur and grid side of the whole known face compared coarsely (who the face is: hair, sex, age)."""
ALPHA, BETA = 4.0, 2.0
"""Weights of the hole's (fill) and the whole face's terms against the ring's."""
GAIN = (2 / 3, 1.5)
"""Bounds of the contrast gain that matches a library face to the photo's face."""
LOW = 1.0
"""Blur (std, model pixels) below which the fill's content is kept and above which the library
face's detail is taken."""
SAME = 3.0
"""Mean grey-level difference (offsets removed) in the hole below which two library faces are one
photo: about 8% of the library's faces have such a twin (most at 0), the nearest other face is
rarely under 4."""
SIGMAS = (0.0, 0.5, 0.7, 0.9, 1.1, 1.4, 1.8, 2.3)
"""Blurs tried, least first, to bring a library face no sharper than the photo around the hole."""


class Library:
    """A library file's aligned faces (grey, mirrored copies added), decoded on first use."""

    def __init__(self, path: str | Path = DEFAULT_EXEMPLARS) -> None:
        self.path = Path(path)
        tensors, meta = read_safetensors(self.path, EXEMPLARS_KIND)
        if set(tensors) != {"jpeg", "offsets"} or "size" not in meta:
            raise ModelFileError(f"{self.path}: not an exemplar library (kind {meta.get('kind')!r})")
        self._jpeg, self._offsets = tensors["jpeg"].numpy(), tensors["offsets"].numpy()
        self.size: int = int(meta["size"])
        self.info: dict = meta.get("info", {})

    def __len__(self) -> int:
        return 2 * self.people

    @property
    def people(self) -> int:
        """How many faces the file holds: face i's mirror is face i + people."""
        return len(self._offsets) - 1

    @cached_property
    def faces(self) -> np.ndarray:
        """uint8 grey faces [N, S, S], the mirrored copies after the originals."""
        try:
            spans = zip(self._offsets[:-1], self._offsets[1:], strict=True)
            faces = np.stack([_decode(self._jpeg[a:b]) for a, b in spans])
        except (cv2.error, ValueError) as exc:
            raise ModelFileError(f"{self.path}: a library face cannot be decoded ({exc})") from None
        if faces.shape[1:] != (self.size, self.size):
            raise ModelFileError(f"{self.path}: faces are {faces.shape[1]} px, the header says {self.size}")
        return _and_mirrored(faces)

    @cached_property
    def near(self) -> np.ndarray:
        """The faces blurred by NEAR [N, S, S] (uint8). The blur is symmetric, so the mirrored
        copies take the originals' blurs mirrored: half the work of the library's first use."""
        return _and_mirrored(np.stack([np.round(_blur(f, NEAR)).astype(np.uint8) for f in self.originals]))

    @cached_property
    def far(self) -> np.ndarray:
        """The faces blurred by FAR on a FAR_SIDE grid [N, FAR_SIDE, FAR_SIDE] (float32), the
        mirrored copies' as near's are."""
        return _and_mirrored(np.stack([_coarse(f) for f in self.originals]))

    @property
    def originals(self) -> np.ndarray:
        """The faces the file holds [people, S, S], without their mirror images."""
        return self.faces[: self.people]


def _and_mirrored(faces: np.ndarray) -> np.ndarray:
    """faces [n, H, W] followed by their mirror images."""
    return np.concatenate([faces, faces[:, :, ::-1]])


def _decode(data: np.ndarray) -> np.ndarray:
    face = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)  # 3.5x PIL's speed here, the same pixels
    if face is None:
        raise ValueError("not a JPEG")
    return face


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    image = image.astype(np.float32)
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0 else image


def _coarse(luma: np.ndarray) -> np.ndarray:
    return cv2.resize(_blur(luma, FAR), (FAR_SIDE, FAR_SIDE), interpolation=cv2.INTER_AREA)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ LUMA


def sharpness(luma: np.ndarray) -> np.ndarray:
    """Fine detail of grey faces [N, S, S] relative to their contrast, over the eyes, nose and mouth."""
    s = luma.shape[-1]
    lap = np.abs(np.stack([cv2.Laplacian(f.astype(np.float32), cv2.CV_32F) for f in luma]))
    region = np.s_[:, s // 4 : 3 * s // 4, s // 8 : 7 * s // 8]
    return lap[region].mean((1, 2)) / (luma[region].astype(np.float32).std((1, 2)) + 1)


def build_library(
    folder: str | Path, out: str | Path, config: ExemplarConfig | None = None, *, exclude: Iterable[str] = ()
) -> int:
    """Write a library of the sharpest faces of an aligned folder, less the stems in exclude
    (grey JPEG in one safetensors file, no pickle); returns how many faces it holds."""
    config = config or ExemplarConfig()
    images = load_folder(folder, config.size, exclude=exclude)
    luma = np.round(images.images.permute(0, 2, 3, 1).numpy().astype(np.float32) @ LUMA).astype(np.uint8)
    score = sharpness(luma)
    chosen = luma[
        np.sort(np.argsort(-score)[: max(1, int(config.keep * len(luma)))])
    ]  # in the folder's order
    blobs = []
    for face in chosen:
        buffer = io.BytesIO()
        Image.fromarray(face).save(buffer, "JPEG", quality=config.quality)
        blobs.append(np.frombuffer(buffer.getvalue(), np.uint8))
    offsets = np.cumsum([0] + [len(b) for b in blobs])
    info = {
        "data": str(folder),
        "faces": len(chosen),
        "of": len(luma),
        "keep": config.keep,
        "quality": config.quality,
    }
    tensors = {"jpeg": torch.from_numpy(np.concatenate(blobs)), "offsets": torch.from_numpy(offsets)}
    write_safetensors(out, tensors, {"kind": EXEMPLARS_KIND, "size": luma.shape[1], "info": info})
    return len(chosen)


def default_library(model_size: int) -> Library | None:
    """The bundled library for a model of this frame size (it holds 64-px faces), if any."""
    return Library() if model_size == 64 and DEFAULT_EXEMPLARS.exists() else None


def _ring(hole: np.ndarray) -> np.ndarray:
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((2 * RING + 1, 2 * RING + 1), np.uint8)) > 0
    return grown & ~hole


def _gathered(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """values [N, H, W] at the True pixels of where [H, W], as float32 [N, P] (np.take: a fast gather)."""
    return np.take(values.reshape(len(values), -1), np.flatnonzero(where), axis=1).astype(np.float32)


def _offset_free(
    a: np.ndarray, a_mean: np.ndarray, b: np.ndarray, b_mean: float, gain: np.ndarray
) -> np.ndarray:
    """Mean squared difference of library values a [N, P] and the photo's b [P], less the means
    a_mean [N, 1] and b_mean, a scaled by gain [N, 1]: expanded into a's moments and one
    matrix-vector product, so that no [N, P] difference is formed."""
    b = (b - b_mean).astype(np.float32)
    spread = (
        np.einsum("ij,ij->i", a, a)[:, None] / a.shape[1] - 2 * a_mean * a.mean(1, keepdims=True) + a_mean**2
    )
    together = (a @ b)[:, None] / a.shape[1] - a_mean * b.mean()
    return (gain**2 * spread - 2 * gain * together)[:, 0] + float((b**2).mean())


def nearest(
    library: Library, face: np.ndarray, known: np.ndarray, fills: np.ndarray
) -> list[tuple[int, float]]:
    """For each completion [K, S, S, 3] of an aligned face [S, S, 3] with known [S, S] (True =
    keep), the library face that best matches both, and its contrast gain; each completion after
    the first takes the best person no earlier one took (nor their mirror, nor a twin of the same
    photo), so a face's alternatives differ in the detail they borrow too. The ring's term and
    the library's gathered pixels are the same for every completion: found once."""
    hole = ~known
    ring = _ring(hole)
    y = _luma(face)[ring]
    lib = _gathered(library.faces, ring)
    lib_mean = lib.mean(1, keepdims=True)
    lib_std = np.sqrt(np.maximum(np.einsum("ij,ij->i", lib, lib)[:, None] / lib.shape[1] - lib_mean**2, 0))
    gain = np.clip((y.std() + 1) / (lib_std + 1), *GAIN)
    around = _offset_free(lib, lib_mean, y, y.mean(), gain)
    near = _gathered(library.near, hole)
    cells = cv2.resize(known.astype(np.float32), (FAR_SIDE, FAR_SIDE), interpolation=cv2.INTER_AREA) > 0.99
    far = _gathered(library.far, cells) if cells.any() else None  # whole cells only: no unknown pixel
    found: list[tuple[int, float]] = []
    for fill in fills:
        luma = _luma(fill)
        d = around + ALPHA * _offset_free(near, lib_mean, _blur(luma, NEAR)[hole], y.mean(), gain)
        if far is not None:  # the completion stands in for the hole
            mine = _coarse(luma)[cells]
            d += BETA * _offset_free(far, far.mean(1, keepdims=True), mine, mine.mean(), gain)
        order = np.argsort(d, kind="stable")  # its first is argmin's
        best = next((int(i) for i in order if _new(i, found, near, library.people)), int(order[0]))
        found.append((best, float(gain[best, 0])))
    return found


def _new(i: int, found: list[tuple[int, float]], near: np.ndarray, people: int) -> bool:
    """Whether library face i is neither a face already found, its mirror, nor a twin of either
    in the hole (near [N, P]: the library's hole pixels)."""
    mine = near[i] - near[i].mean()
    for index, _ in found:
        if index % people == i % people:
            return False
        for other in (near[index], near[(index + people) % len(near)]):  # the face and its mirror
            if np.abs(mine - other + other.mean()).mean() < SAME:
                return False
    return True


def _matched(face: np.ndarray, luma: np.ndarray, ring: np.ndarray, gain: float) -> np.ndarray:
    """face blurred (the least of SIGMAS) so that its ring's fine detail, times gain, is no more
    than the photo's own there."""
    target = np.abs(cv2.Laplacian(luma, cv2.CV_32F))[ring].mean() * 1.05
    for sigma in SIGMAS:
        blurred = _blur(face, sigma)
        if gain * np.abs(cv2.Laplacian(blurred, cv2.CV_32F))[ring].mean() <= target:
            break
    return blurred


def transfer_face(library: Library, face: np.ndarray, known: np.ndarray, fills: np.ndarray) -> np.ndarray:
    """A face's completions [K, S, S, 3] uint8 with their hole's fine detail taken from the
    nearest library face (known [S, S], True = keep)."""
    if known.all() or not known.any():  # nothing to fill, or no face around the hole to match
        return fills
    ring, photo = _ring(~known), _luma(face)
    done = []
    for (index, gain), fill in zip(nearest(library, face, known, fills), fills, strict=True):
        exemplar = _matched(library.faces[index].astype(np.float32), photo, ring, gain)
        luma = _luma(fill)
        detail = _blur(luma, LOW) + gain * (exemplar - _blur(exemplar, LOW))
        source = fill.astype(np.float64) - luma[..., None] + detail[..., None]  # its colour, their detail
        blended = poisson_blend(face.astype(np.float64), source, known.astype(np.float32))
        done.append(np.clip(np.round(blended), 0, 255).astype(np.uint8))
    return np.stack(done)


def transfer(library: Library, faces: np.ndarray, known: np.ndarray, fills: np.ndarray) -> np.ndarray:
    """Completions [N, K, S, S, 3] of aligned faces [N, S, S, 3] (known [N, S, S], 1 = keep) with
    each hole's fine detail from the library (see the module's docstring)."""
    if library.size != faces.shape[1]:
        size = faces.shape[1]
        raise ModelFileError(f"{library.path}: holds {library.size}-px faces, the model's frame is {size}")
    rows = zip(faces, known > 0.5, fills, strict=True)
    return np.stack([transfer_face(library, face, keep, done) for face, keep, done in rows])
