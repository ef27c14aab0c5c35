"""The colouriser: what it may change in a fill, what it learns, and its file."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ganfill.checkpoint import ModelFileError
from ganfill.colour_training import colour_loss, train_colouriser
from ganfill.colouring import Colouriser, from_ycc, load_colouriser, recolour, save_colouriser, to_ycc
from ganfill.config import ColouriserTrainConfig

SKIN, LIPS = (0.80, 0.62, 0.52), (0.72, 0.38, 0.40)  # RGB in [0, 1]: lips darker and redder


def _faces(n: int, side: int = 32) -> torch.Tensor:
    """uint8 [n, 3, side, side]: skin of random brightness, a darker, redder band (the lips) at a
    random height; the band's colour follows from its luma, as lips' does in real faces."""
    rng = np.random.default_rng(0)
    faces = np.empty((n, side, side, 3))
    for i in range(n):
        gain = rng.uniform(0.8, 1.1)
        faces[i] = np.array(SKIN) * gain
        top = rng.integers(side // 4, side // 2)
        faces[i, top : top + 8] = np.array(LIPS) * gain
    return torch.from_numpy(np.round(255 * faces.clip(0, 1))).byte().permute(0, 3, 1, 2)


def test_ycc_round_trips() -> None:
    rgb = torch.rand(2, 3, 8, 8)
    assert torch.allclose(from_ycc(to_ycc(rgb)), rgb, atol=1e-5)


def test_recolouring_keeps_the_fills_luma_and_every_known_pixel() -> None:
    torch.manual_seed(0)
    images, hats = torch.rand(2, 3, 32, 32) - 0.5, torch.rand(2, 3, 32, 32) - 0.5  # no clipping
    known = torch.ones(2, 1, 32, 32)
    known[:, :, 8:24, 8:24] = 0
    out = recolour(Colouriser(8), images, hats, known)
    luma = lambda x: to_ycc(x * 0.5 + 0.5)[:, :1]  # noqa: E731
    assert torch.allclose(luma(out), luma(hats), atol=1e-5)  # the luma is what the search drew
    assert torch.allclose(out * known, hats * known, atol=1e-5)  # the blend takes the rest
    assert (out - hats).abs().amax() > 0.01  # an untrained network's colours do change the hole
    weak = recolour(Colouriser(8), images, hats, known, torch.tensor([0.0, 1.0]))
    assert torch.allclose(weak[0], hats[0], atol=1e-5) and not torch.allclose(weak[1], hats[1], atol=1e-3)
    with pytest.raises(ValueError, match="3 strengths for 2 faces"):
        recolour(Colouriser(8), images, hats, known, torch.ones(3))


def test_training_learns_the_colours_under_the_luma_and_the_file_round_trips(tmp_path: Path) -> None:
    faces, path = _faces(64), tmp_path / "colouriser.safetensors"
    config = ColouriserTrainConfig(steps=150, batch_size=16, width=8, holes=("center",), save_every=100)
    log = train_colouriser(faces, path, config, progress=False)
    assert log[-1]["l1"] < 0.5 * log[0]["l1"]
    net = load_colouriser(path)
    assert net.info["steps_done"] == 150 and net.spec == {"width": 8}
    # a grey fill whose luma draws the band: the hole's band turns redder than the hole's skin
    grey = to_ycc(faces[:8].float() / 255)[:, :1].repeat(1, 3, 1, 1) * 2 - 1
    known = torch.ones(8, 1, 32, 32)
    known[:, :, 4:28, 4:28] = 0
    out = recolour(net, faces[:8].float() / 127.5 - 1, grey, known)
    red = to_ycc(out * 0.5 + 0.5)[:, 2]  # Cr
    band = (faces[:8, 1] < faces[:8, 0] * 0.7) & (known[:, 0] < 0.5)  # the band's hole pixels
    assert red[band].mean() > red[(~band) & (known[:, 0] < 0.5)].mean() + 0.03
    assert colour_loss(net, faces[:16].float() / 255, known[:1].expand(16, -1, -1, -1)) < 0.02


def test_a_model_file_is_not_a_colouriser(tiny_model_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="a model file, not a colouriser"):
        load_colouriser(tiny_model_file)
    fresh = Colouriser(8)
    save_colouriser(tmp_path / "c.safetensors", fresh, {}, half=True)
    weight = load_colouriser(tmp_path / "c.safetensors").down1[0][0].weight
    assert weight.dtype == torch.float32 and torch.allclose(weight, fresh.down1[0][0].weight, atol=1e-3)


def test_a_black_and_white_face_gets_a_grey_fill() -> None:
    torch.manual_seed(0)
    grey = (torch.rand(2, 1, 32, 32) - 0.5).repeat(1, 3, 1, 1)
    grey[1, 0] += 0.2  # the second image is in colour
    hats = torch.rand(2, 3, 32, 32) - 0.5
    known = torch.ones(2, 1, 32, 32)
    known[:, :, 8:24, 8:24] = 0
    out = to_ycc(recolour(Colouriser(8), grey, hats, known, 0.5) * 0.5 + 0.5)
    own = to_ycc(hats * 0.5 + 0.5)
    hole = known[0, 0] < 0.5
    assert torch.allclose(out[0, 1:], own[0, 1:] / 2, atol=1e-5)  # half-way to grey, all over the hat
    assert not torch.allclose(out[1, 1:][:, hole], own[1, 1:][:, hole] / 2, atol=1e-3)
