"""Quality metrics: pixel metrics from scikit-image, face metrics from dlib's shipped networks.

Pixel metrics reward blur, so faces are also judged by whether they still are the same face:
dlib's face-recognition ResNet gives a 128-d embedding per face (distance < 0.6 = same person
for dlib), FD-face is FID's Frechet distance on those embeddings, and the landmark check asks
whether dlib still finds the face with its landmarks where the original's are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

UPSCALE = 4  # dlib's detector and predictor need faces larger than 64 px


def pixel_metrics(original: np.ndarray, result: np.ndarray, known: np.ndarray) -> dict[str, float]:
    """PSNR (whole image, and hole only), SSIM and mean L1 in the hole (0..255) of uint8 images."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    hole = known < 0.5
    with np.errstate(divide="ignore"):
        psnr = peak_signal_noise_ratio(original, result, data_range=255)
        psnr_hole = (
            peak_signal_noise_ratio(original[hole], result[hole], data_range=255) if hole.any() else np.inf
        )
    return {
        "psnr": float(psnr),
        "psnr_hole": float(psnr_hole),
        "ssim": float(structural_similarity(original, result, channel_axis=-1, data_range=255)),
        "l1_hole": float(np.abs(original[hole].astype(np.float64) - result[hole]).mean())
        if hole.any()
        else 0.0,
    }


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID's formula between two sets of feature vectors [N, D]."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


@dataclass
class FaceView:
    """What dlib sees in one face image: 68 landmarks (None if no face found) and an embedding."""

    landmarks: np.ndarray | None
    embedding: np.ndarray


class FaceMetrics:
    """dlib's detector, 68-point predictor and face-recognition ResNet over 64x64 aligned faces."""

    def __init__(self) -> None:
        import dlib

        from ganfill.alignment import predictor_path

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(predictor_path()))
        self.encoder = dlib.face_recognition_model_v1(
            str(predictor_path("dlib_face_recognition_resnet_model_v1.dat"))
        )

    def _up(self, image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.repeat(np.repeat(image, UPSCALE, 0), UPSCALE, 1))

    def view(self, image: np.ndarray, reference_shape: object | None = None) -> tuple[FaceView, object]:
        """Landmarks found by detection, and the embedding taken at reference_shape (or its own)."""
        big = self._up(image)
        rects = self.detector(big, 0)
        found = self.predictor(big, max(rects, key=lambda r: r.area())) if rects else None
        shape = reference_shape or found
        if shape is None:  # no face detected: landmarks from the whole frame
            h, w = big.shape[:2]
            shape = self.predictor(big, self.dlib.rectangle(0, -h // 4, w - 1, h - 1))
        embedding = np.asarray(self.encoder.compute_face_descriptor(big, shape))
        points = None if found is None else np.float32([(p.x, p.y) for p in found.parts()]) / UPSCALE
        return FaceView(points, embedding), shape


def landmark_error(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Mean distance in pixels between two landmark sets; inf when either face was not found."""
    if a is None or b is None:
        return float("inf")
    return float(np.linalg.norm(a - b, axis=1).mean())
