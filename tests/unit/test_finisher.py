from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganfill.checkpoint import ModelFileError
from ganfill.config import FinisherTrainConfig
from ganfill.finisher import Finisher, consistent, finish, load_finisher, save_finisher
from ganfill.finisher_training import blurred, hole_crops, train_finisher


def test_consistent_sets_each_block_mean_to_the_low_pixel() -> None:
    high, low = torch.randn(2, 3, 12, 12), torch.randn(2, 3, 4, 4)
    assert torch.allclose(F.avg_pool2d(consistent(high, low), 3), low, atol=1e-6)
    assert not torch.allclose(F.avg_pool2d(high, 3), low, atol=0.1)  # it had to move


def test_the_finisher_cannot_change_what_the_search_decided() -> None:
    torch.manual_seed(0)
    finisher = Finisher(width=8, blocks=1).eval()
    low = torch.rand(2, 3, 8, 8) - 0.5
    context, known = torch.rand(2, 3, 24, 24) * 2 - 1, (torch.rand(2, 1, 24, 24) > 0.5).float()
    with torch.no_grad():
        out = finisher(low, context, known)
    assert out.shape == (2, 3, 24, 24)
    assert torch.allclose(F.avg_pool2d(out, 3), low, atol=1e-5)


def test_keep_2_holds_the_completions_2x2_means_and_frees_its_pixels() -> None:
    torch.manual_seed(0)
    finisher = Finisher(width=8, blocks=1, keep=2).eval()
    low = torch.rand(2, 3, 8, 8) - 0.5
    context, known = torch.rand(2, 3, 24, 24) * 2 - 1, torch.zeros(2, 1, 24, 24)
    with torch.no_grad():
        out = finisher(low, context, known)
    assert torch.allclose(F.avg_pool2d(out, 6), F.avg_pool2d(low, 2), atol=1e-5)
    assert not torch.allclose(F.avg_pool2d(out, 3), low, atol=1e-3)  # the 64-px pixels may move


def _striped_faces(n: int, side: int = 48) -> torch.Tensor:
    """Images whose detail lives below the 3x3 block scale: fine stripes of random phase."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:side, 0:side]
    out = []
    for _ in range(n):
        colour = rng.uniform(60, 190, 3)
        stripes = 50 * np.sin(2 * np.pi * (xx + yy) / 4 + rng.uniform(0, 6))
        out.append(np.clip(colour[:, None, None] + stripes[None], 0, 255))
    return torch.from_numpy(np.stack(out)).round().byte()


def test_training_learns_the_detail_and_the_file_round_trips(tmp_path: Path) -> None:
    faces, path = _striped_faces(32), tmp_path / "finisher.safetensors"
    config = FinisherTrainConfig(steps=60, batch_size=8, lr=2e-3, width=16, blocks=1, save_every=30)
    log = train_finisher(faces, path, config, progress=False)
    assert log[-1]["l1"] < 0.8 * log[0]["l1"]
    finisher = load_finisher(path)
    assert finisher.info["steps_done"] == 60
    assert finisher.spec == {"width": 16, "blocks": 1, "scale": 3, "keep": 1}
    images = faces[:4].permute(0, 2, 3, 1).numpy()
    low = F.avg_pool2d(faces[:4].float(), 3).round().byte().permute(0, 2, 3, 1).numpy()
    known = np.ones((4, 48, 48), np.float32)
    known[:, 12:36, 12:36] = 0
    out = finish(finisher, low, images, known).astype(float)
    blurred = F.interpolate(
        torch.from_numpy(low).permute(0, 3, 1, 2).float(), scale_factor=3, mode="bilinear"
    )
    blurred = blurred.permute(0, 2, 3, 1).numpy()
    hole = known == 0
    # closer to the true stripes in the hole than the upsampled block means are
    assert np.abs(out - images)[hole].mean() < 0.8 * np.abs(blurred - images)[hole].mean()
    again = train_finisher(faces, tmp_path / "more.safetensors", config, init_from=path, progress=False)
    assert (
        again[0]["l1"] < log[0]["l1"]
        and load_finisher(tmp_path / "more.safetensors").info["steps_done"] == 120
    )


def test_a_model_file_is_not_a_finisher(tiny_model_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a finisher file"):
        load_finisher(tiny_model_file)
    fresh = Finisher(8, 1)
    save_finisher(tmp_path / "f.safetensors", fresh, {}, half=True)
    loaded = load_finisher(tmp_path / "f.safetensors")
    weight = loaded.head.weight
    assert weight.dtype == torch.float32 and torch.allclose(weight, fresh.head.weight, atol=1e-3)


def test_crops_are_cut_around_the_hole_on_the_block_grid() -> None:
    faces = torch.arange(2 * 3 * 60 * 60, dtype=torch.float32).view(2, 3, 60, 60)
    known = torch.ones(2, 1, 60, 60)
    known[0, :, 50:55, 2:6] = 0  # a hole near a corner
    known[1, :, 20:40, 20:40] = 0
    cut, cut_known = hole_crops(faces, known, 24, np.random.default_rng(0))
    assert cut.shape == (2, 3, 24, 24) and cut_known.shape == (2, 1, 24, 24)
    assert (cut_known == 0).any(dim=(1, 2, 3)).all()  # every crop holds hole pixels
    for face, crop in zip(faces, cut, strict=True):
        top, left = (int(v) for v in torch.nonzero(face[0] == crop[0, 0, 0])[0])
        assert top % 3 == 0 and left % 3 == 0


def test_softened_means_keep_their_average_and_lose_detail(tmp_path: Path) -> None:
    images = _striped_faces(2, 24).float()
    soft = blurred(images, 1.0)
    assert torch.allclose(soft.mean((2, 3)), images.mean((2, 3)), atol=0.5)
    edges = lambda x: (x[..., 1:, :] - x[..., :-1, :]).abs().mean()  # noqa: E731
    assert edges(soft) < 0.5 * edges(images) and torch.equal(blurred(images, 0.0), images)
    config = FinisherTrainConfig(steps=2, batch_size=2, width=8, blocks=1, soften=1.0, save_every=2)
    assert len(train_finisher(_striped_faces(4), tmp_path / "f.safetensors", config, progress=False)) == 2
