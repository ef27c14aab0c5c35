"""Face alignment as OpenFace does it: dlib detection, 68 landmarks, affine warp to a template."""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from ganfill.config import AlignConfig
from ganfill.errors import UserError
from ganfill.images import ImageError, find_images, flat_names, open_rgb, save_png

# OpenFace's mean landmark positions, min-max normalised to the unit square (openface/align_dlib.py).
TEMPLATE = {
    33: (0.494951, 0.514441),
    36: (0.194157, 0.169267),
    39: (0.363785, 0.177947),
    42: (0.618963, 0.172778),
    45: (0.788859, 0.158171),
    57: (0.500204, 0.750584),
}
LANDMARK_SETS = {"inner-eyes-bottom-lip": (39, 42, 57), "outer-eyes-nose": (36, 45, 33)}
REPORT_FIELDS = ["file", "status", "faces", "outputs"]
DETECT_SIDE = 1200
"""Photos larger than this are searched for faces on a copy this large (HOG's cost grows with pixels)."""
CNN_DETECTOR = "mmod_human_face_detector.dat"
CNN_MIN_SIDE = 40
"""dlib's CNN detector finds no face in an image narrower than this once upsampled, and on one
much narrower it fails or corrupts memory (a 400x8 image aborts the process): such images skip it."""


class AlignmentError(UserError):
    """Alignment is impossible for this input (no face, or no dlib); str() names the file."""


def _dlib():
    try:
        import dlib
    except ImportError:
        raise AlignmentError("face alignment needs dlib: pip install 'ganfill[align]'") from None
    return dlib


def predictor_path(name: str = "shape_predictor_68_face_landmarks.dat") -> Path:
    """A model file shipped by the face_recognition_models package (found without importing it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise AlignmentError("face alignment needs face_recognition_models: pip install 'ganfill[align]'")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


@dataclass
class Face:
    """One detected face: its box, landmarks [68, 2] and the affine map photo -> aligned frame."""

    box: tuple[int, int, int, int]
    """left, top, right, bottom in photo pixels."""
    landmarks: np.ndarray
    matrix: np.ndarray
    """2x3 affine matrix sending photo coordinates to the aligned size x size frame."""

    @property
    def area(self) -> int:
        """The detection box's area in photo pixels (the largest face comes first)."""
        left, top, right, bottom = self.box
        return (right - left) * (bottom - top)


class FaceAligner:
    """Finds faces and maps them to OpenFace's template at size x size pixels."""

    def __init__(
        self,
        size: int = 64,
        *,
        landmarks: str = "inner-eyes-bottom-lip",
        assume_cropped: bool = False,
        cnn_fallback: bool = True,
    ):
        if landmarks not in LANDMARK_SETS:
            raise AlignmentError(
                f"unknown landmark set {landmarks!r}; choose from {', '.join(LANDMARK_SETS)}"
            )
        dlib = _dlib()
        self.size, self.indices = size, LANDMARK_SETS[landmarks]
        self.assume_cropped, self.cnn_fallback = assume_cropped, cnn_fallback
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(predictor_path()))
        self.template = size * np.float32([TEMPLATE[i] for i in self.indices])
        self._cnn = None

    def _boxes(self, rgb: np.ndarray) -> list:
        """Face rectangles in photo pixels, searched for on a copy no larger than DETECT_SIDE."""
        dlib = _dlib()
        scale = min(1.0, DETECT_SIDE / max(rgb.shape[:2]))
        image = rgb if scale == 1 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rects = [
            dlib.rectangle(*(round(v / scale) for v in (r.left(), r.top(), r.right(), r.bottom())))
            for r in self._find(image)
        ]
        if not rects and self.assume_cropped:  # a face crop: let the landmarks place the face
            h, w = rgb.shape[:2]
            side = 0.7 * min(h, w)
            cx, cy = w / 2, h * 0.55
            return [
                dlib.rectangle(int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2))
            ]
        return rects

    def _find(self, image: np.ndarray) -> list:
        """HOG detection, upsampling small images; dlib's CNN detector where HOG finds nothing
        (dark, low-contrast or turned faces; about 0.2 s for a CelebA image, 1 s at 400 px)."""
        # Small faces (CelebA at 89x109) are only found on an upsampled image.
        upsamples = (1, 2) if min(image.shape[:2]) < 400 else (0, 1)
        for upsample in upsamples:
            rects = list(self.detector(image, upsample))
            if rects:
                return rects
        if not self.cnn_fallback or min(image.shape[:2]) << upsamples[0] < CNN_MIN_SIDE:
            return []
        if self._cnn is None:
            self._cnn = _dlib().cnn_face_detection_model_v1(str(predictor_path(CNN_DETECTOR)))
        return [d.rect for d in self._cnn(image, upsamples[0])]

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Every face in an RGB uint8 image, largest first."""
        faces = []
        for rect in self._boxes(rgb):
            shape = self.predictor(rgb, rect)
            points = np.float32([(p.x, p.y) for p in shape.parts()])  # [68, 2]
            matrix = cv2.getAffineTransform(points[list(self.indices)], self.template)
            faces.append(Face((rect.left(), rect.top(), rect.right(), rect.bottom()), points, matrix))
        return sorted(faces, key=lambda f: f.area, reverse=True)

    def warp(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """The face cut out of the photo into the aligned size x size frame."""
        return warp(rgb, face.matrix, self.size)


_CV2_FLAGS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}
Interpolation = Literal["nearest", "linear", "cubic"]
"""nearest for masks; cubic keeps more of a detailed face's fine detail than linear."""


def warp(
    image: np.ndarray, matrix: np.ndarray, size: int, *, interpolation: Interpolation = "linear"
) -> np.ndarray:
    """image warped by a 2x3 affine matrix into a size x size frame (reflecting at borders)."""
    flags = _CV2_FLAGS[interpolation]
    return cv2.warpAffine(image, matrix, (size, size), flags=flags, borderMode=cv2.BORDER_REFLECT)


def unwarp(
    aligned: np.ndarray,
    matrix: np.ndarray,
    shape: tuple[int, int],
    *,
    interpolation: Interpolation = "linear",
    border: Literal["replicate", "zero"] = "replicate",
) -> np.ndarray:
    """An aligned frame mapped back into photo coordinates (height, width) by the inverse map;
    beyond the frame its edge pixels carried out (replicate) or zeros."""
    flags = _CV2_FLAGS[interpolation] | cv2.WARP_INVERSE_MAP
    mode = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
    return cv2.warpAffine(aligned, matrix, (shape[1], shape[0]), flags=flags, borderMode=mode)


# -- folders ---------------------------------------------------------------------------------------
_worker: FaceAligner | None = None


def _init_worker(cfg: AlignConfig) -> None:
    global _worker
    cv2.setNumThreads(1)
    _worker = FaceAligner(
        cfg.size, landmarks=cfg.landmarks, assume_cropped=cfg.assume_cropped, cnn_fallback=cfg.cnn_fallback
    )


def _align_one(job: tuple[Path, Path, str, bool]) -> dict[str, str | int]:
    src, dst_dir, name, all_faces = job
    assert _worker is not None
    try:
        rgb = np.asarray(open_rgb(src))
    except ImageError:
        return {"file": str(src), "status": "unreadable", "faces": 0, "outputs": ""}
    faces = _worker.detect(rgb)
    if not faces:
        return {"file": str(src), "status": "no_face", "faces": 0, "outputs": ""}
    outputs = []
    for i, face in enumerate(faces if all_faces else faces[:1]):
        out = dst_dir / (f"{name}.png" if i == 0 else f"{name}_face{i}.png")
        save_png(_worker.warp(rgb, face), out)
        outputs.append(out.name)
    return {
        "file": str(src),
        "status": "aligned",
        "faces": len(faces),
        "outputs": " ".join(outputs),
    }


@dataclass
class AlignSummary:
    """Counts of what happened to each file of a folder."""

    read: int = 0
    aligned: int = 0
    no_face: int = 0
    unreadable: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return (
            f"read {self.read}, aligned {self.aligned}, no face {self.no_face}, "
            f"unreadable {self.unreadable}, skipped (done before) {self.skipped}"
        )


def align_folder(
    src: str | Path, dst: str | Path, config: AlignConfig | None = None, *, progress: bool = True
) -> AlignSummary:
    """Align every image under src into flat size x size PNGs in dst, with align_report.csv."""
    from tqdm import tqdm

    cfg = config or AlignConfig()
    src, dst = Path(src), Path(dst)
    _dlib(), predictor_path()  # a missing extra is reported here, not inside the workers
    files = find_images([src])
    dst.mkdir(parents=True, exist_ok=True)
    report_path = dst / "align_report.csv"
    done: dict[str, dict[str, str]] = {}
    if report_path.exists():
        with report_path.open() as f:
            done = {row["file"]: row for row in csv.DictReader(f)}
    summary = AlignSummary()
    jobs = []
    for f, name in zip(files, flat_names(files, src), strict=True):
        if str(f) in done and done[str(f)]["status"] != "unreadable":
            summary.skipped += 1
        else:
            jobs.append((f, dst, name, cfg.all_faces))
    with report_path.open("a", newline="") as out:
        writer = csv.DictWriter(out, REPORT_FIELDS)
        if not done:
            writer.writeheader()
        for row in tqdm(
            _run(jobs, cfg),
            total=len(jobs),
            disable=not progress,
            unit="img",
        ):
            writer.writerow(row)
            out.flush()
            summary.read += 1
            setattr(summary, str(row["status"]), getattr(summary, str(row["status"])) + 1)
    return summary


def _run(jobs: list, cfg: AlignConfig) -> Iterator[dict]:
    if cfg.workers <= 1:
        _init_worker(cfg)
        yield from map(_align_one, jobs)
        return
    with ProcessPoolExecutor(cfg.workers, initializer=_init_worker, initargs=(cfg,)) as pool:
        yield from pool.map(_align_one, jobs, chunksize=16)
