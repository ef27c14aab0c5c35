"""Shared fixtures (tiny models, a planted generator, one dlib aligner, the example faces) and
the tiers: tests under unit/ are marked unit, e2e/ e2e, browser/ browser (pytest -m "unit")."""

from pathlib import Path

import pytest
import torch

from ganfill.checkpoint import Model, save_model
from ganfill.config import ModelConfig
from ganfill.models import Discriminator, Generator, build

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "examples" / "faces"
PHOTOS = ROOT / "examples" / "photos"
TIERS = ("unit", "e2e", "browser")

torch.set_num_threads(1)  # tiny models: one thread is fastest and leaves the other core free


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(item.fspath).relative_to(ROOT / "tests").parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


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
def planted() -> Model:
    """A small generator with PyTorch's default init, so that G(z) varies strongly with z."""
    torch.manual_seed(0)
    cfg = ModelConfig(image_size=16, z_dim=8, gf_dim=8, df_dim=4)
    g, d = Generator(cfg), Discriminator(cfg)
    with torch.no_grad():  # fresh batch-norm statistics for eval mode
        g.train()
        for _ in range(4):
            g(torch.rand(64, 8) * 2 - 1)
    return Model(g.eval(), d.eval(), cfg)


@pytest.fixture(scope="session")
def aligner16():
    """dlib's detector and landmark model for the tiny models' 16x16 frame, loaded once."""
    from ganfill.alignment import FaceAligner

    return FaceAligner(16)


@pytest.fixture
def tiny_completer(tiny_model_file: Path, aligner16):
    from ganfill.completion import Completer

    return Completer(tiny_model_file, aligner=aligner16)


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
