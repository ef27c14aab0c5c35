"""Shared fixtures: tiny models and the bundled example faces."""

from pathlib import Path

import pytest
import torch

from ganfill.checkpoint import Model, save_model
from ganfill.config import ModelConfig
from ganfill.models import build

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "examples" / "faces"
PHOTOS = ROOT / "examples" / "photos"

torch.set_num_threads(1)  # tiny models: one thread is fastest and leaves the other core free


@pytest.fixture
def tiny_config() -> ModelConfig:
    return ModelConfig(image_size=16, z_dim=8, gf_dim=4, df_dim=4)


@pytest.fixture
def tiny_model(tiny_config: ModelConfig) -> Model:
    g, d = build(tiny_config, seed=0)
    return Model(g.eval(), d.eval(), tiny_config, {"note": "test"})


@pytest.fixture
def tiny_model_file(tmp_path: Path, tiny_model: Model) -> Path:
    path = tmp_path / "tiny.safetensors"
    save_model(path, tiny_model)
    return path


@pytest.fixture
def faces_dir() -> Path:
    return FACES


@pytest.fixture
def small_faces(tmp_path: Path) -> Path:
    """The bundled faces downsized to 16x16, as a folder."""
    from PIL import Image

    out = tmp_path / "faces16"
    out.mkdir()
    for f in sorted(FACES.glob("*.png")):
        Image.open(f).resize((16, 16)).save(out / f.name)
    return out
