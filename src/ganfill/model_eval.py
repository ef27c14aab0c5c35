"""The generator alone, against held-out faces: SWD, FD-face, precision and recall, detail.

Used to compare models and training snapshots (`ganfill eval-model MODEL ... --data DIR`):
- SWD (x1e3) of 7x7 Laplacian-pyramid patches of whole samples against the real faces, with the
  real-against-real floor (realism.swd);
- FD-face: FID's Frechet distance on dlib's 128-d face embeddings (optional: the slow part);
- precision and recall (Kynkaanniemi et al. 2019) in the same embedding space: the share of
  samples inside the real faces' k-nearest-neighbour balls, and of real faces inside the samples';
- detail: the samples' mean |Laplacian| in the face's centre over the real faces'.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from ganfill import masks
from ganfill.checkpoint import load_model
from ganfill.config import ModelEvalConfig
from ganfill.data import HELDOUT_FILE, load_folder, read_split
from ganfill.images import to_uint8
from ganfill.metrics import FaceMetrics, frechet_distance
from ganfill.models import generate
from ganfill.realism import detail, detail_region, swd


@dataclass
class ModelScore:
    """One model's scores against the held-out faces."""

    model: str
    samples: int
    swd: float
    swd_floor: float
    fd_face: float | None
    """None (as precision and recall) when scored without face embeddings."""
    precision: float | None
    recall: float | None
    detail: float


def knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest other point."""
    return np.sort(cdist(points, points), axis=1)[:, k]  # column 0 is the point itself


def coverage(queries: np.ndarray, support: np.ndarray, k: int = 3) -> float:
    """Share of queries inside at least one support point's k-NN ball (Kynkaanniemi et al.)."""
    radii = knn_radii(support, k)
    return float((cdist(queries, support) <= radii[None]).any(1).mean())


def centre_detail(images: np.ndarray) -> float:
    """Mean |Laplacian| of the face's centre (the centre mask's hole, eroded) over a set."""
    region = detail_region(masks.make("center", 1, images.shape[1])[0])
    return float(np.mean([detail(im, region) for im in images]))


def embed(images: np.ndarray, faces: FaceMetrics) -> np.ndarray:
    """dlib's 128-d embeddings [N, 128] of uint8 faces [N, S, S, 3]."""
    return np.stack([faces.view(im)[0].embedding for im in images])


def score_model(
    model_path: str | Path,
    real: np.ndarray,
    emb_real: np.ndarray | None,
    *,
    samples: int = 2000,
    seed: int = 0,
    faces: FaceMetrics | None,
) -> ModelScore:
    """Scores of a model file or run folder's generator against real faces uint8 [N, S, S, 3]
    and their embeddings (computed once for every model compared; None: no face scores)."""
    g = load_model(model_path).generator
    fake = np.concatenate(
        [to_uint8(generate(g, min(256, samples - i), seed=seed + i)) for i in range(0, samples, 256)]
    )
    n = min(len(fake), len(real))
    everywhere = np.zeros((n, *real.shape[1:3]), np.float32)  # the whole image is compared
    distance, floor = swd(fake[:n], real[:n], everywhere, seed=seed)
    in_faces: dict[str, float | None] = dict.fromkeys(("fd_face", "precision", "recall"))
    if faces is not None and emb_real is not None:
        emb_fake = embed(fake, faces)
        in_faces = {
            "fd_face": round(frechet_distance(emb_fake, emb_real), 5),
            "precision": round(coverage(emb_fake, emb_real), 4),
            "recall": round(coverage(emb_real, emb_fake), 4),
        }
    return ModelScore(
        model=str(model_path),
        samples=len(fake),
        swd=round(distance, 2),
        swd_floor=round(floor, 2),
        **in_faces,
        detail=round(centre_detail(fake) / centre_detail(real), 4),
    )


def evaluate_models(
    models: list[str | Path],
    data_dir: str | Path,
    config: ModelEvalConfig | None = None,
    *,
    out: str | Path | None = None,
) -> list[ModelScore]:
    """Score each model against the held-out faces under data_dir; with out, append each score
    as a JSON line to that file (a record of training runs)."""
    cfg = config or ModelEvalConfig()
    size = load_model(models[0]).config.image_size
    split = read_split(cfg.split or HELDOUT_FILE)
    real = load_folder(data_dir, size, only=split).images.permute(0, 2, 3, 1).numpy()
    faces = FaceMetrics() if cfg.faces else None
    emb_real = embed(real, faces) if faces is not None else None
    scores = []
    for path in models:
        scores.append(score_model(path, real, emb_real, samples=cfg.samples, seed=cfg.seed, faces=faces))
        if out is not None:
            with Path(out).open("a") as f:
                f.write(json.dumps(asdict(scores[-1])) + "\n")
    return scores


def markdown(scores: list[ModelScore]) -> str:
    """The scores as a Markdown table."""
    lines = ["| model | samples | SWD (floor) | FD-face | precision | recall | detail |", "|---" * 7 + "|"]
    for s in scores:
        in_faces = (
            f"{v:.{d}f}" if v is not None else "-"
            for v, d in ((s.fd_face, 4), (s.precision, 3), (s.recall, 3))
        )
        row = [s.model, s.samples, f"{s.swd:.1f} ({s.swd_floor:.1f})", *in_faces, f"{s.detail:.3f}"]
        lines.append("| " + " | ".join(map(str, row)) + " |")
    return "\n".join(lines)
