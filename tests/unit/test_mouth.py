"""The mouth redraw: a pair of the mouth's box searched again over the face fill's mouth."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ganfill import masks
from ganfill.checkpoint import Model, ModelFileError, save_model
from ganfill.completion import Completer
from ganfill.config import CompletionConfig, ModelConfig
from ganfill.models import build
from ganfill.mouth import load_mouth, redraw
from ganfill.schedule import MOUTH_STEPS, plan


@pytest.fixture
def mouth16() -> Model:
    """A mouth pair of the 16-px frame (box rows 7-13, columns 2-14) with fresh batch statistics."""
    cfg = ModelConfig(image_size=16, region="mouth", z_dim=8, gf_dim=8, df_dim=4)
    g, d = build(cfg, seed=0)
    with torch.no_grad():
        g.train()(torch.rand(64, 8) * 2 - 1)
    return Model(g.eval(), d.eval(), cfg)


def test_the_redraw_changes_only_the_hole_inside_the_box(mouth16: Model) -> None:
    torch.manual_seed(0)
    images, hats = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    known = torch.ones(2, 1, 16, 16)
    known[:, :, 9:16, 5:11] = 0  # across the box's lower edge (row 13)
    out = redraw(mouth16, images, known, hats, torch.tensor([5, 0]), CompletionConfig())
    box = torch.zeros(16, 16, dtype=torch.bool)
    box[7:13, 2:14] = True
    changed = (out != hats).any(1)  # [B, H, W]
    assert changed[0].any() and not changed[1].any()  # steps 0: that fill stays as it was
    assert not (changed[0] & ~box).any()  # outside the box: the face fill
    assert not (changed[0] & (known[0, 0] > 0.5)).any()  # the known pixels: the face fill's too
    again = redraw(mouth16, images, known, hats, torch.tensor([5, 0]), CompletionConfig())
    assert torch.equal(out, again)  # seeded starts: the same fill each time


def test_the_mouth_steps_follow_the_kind_of_hole() -> None:
    kinds = ("mouth", "center", "eyes", "left", "random", "strokes")
    known = np.concatenate([masks.make(k, 1, 64, seed=1) for k in kinds])
    box = ModelConfig(region="mouth").box
    default = plan(CompletionConfig(), known, has_encoder=True, mouth_box=box).mouth
    assert default.tolist() == [MOUTH_STEPS, MOUTH_STEPS, 0, 0, 0, 0]  # holes over the mouth
    given = plan(CompletionConfig(mouth_steps=20), known, has_encoder=True, mouth_box=box).mouth
    assert given[[0, 1, 3]].tolist() == [20] * 3 and given[2] == 0  # wherever a hole reaches the box
    assert not plan(CompletionConfig(), known, has_encoder=True).mouth.any()  # no mouth model
    assert not plan(CompletionConfig(), known, has_encoder=True, lowres=True, mouth_box=box).mouth.any()
    assert not plan(CompletionConfig(init="random"), known, has_encoder=True, mouth_box=box).mouth.any()


def test_face_and_mouth_files_are_not_taken_for_each_other(
    mouth16: Model, tiny_model_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "mouth.safetensors"
    save_model(path, mouth16)
    assert load_mouth(path).config.region == "mouth"
    with pytest.raises(ModelFileError, match="not a mouth model"):
        load_mouth(tiny_model_file)
    with pytest.raises(ModelFileError, match="mouth only"):
        Completer(path)


def test_a_completer_redraws_the_mouth_it_is_given(mouth16: Model, tiny_model_file: Path) -> None:
    faces = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    plain = Completer(tiny_model_file).complete(faces, "mouth", iters=3, mouth_steps=5)
    redrawn = Completer(tiny_model_file, mouth=mouth16).complete(faces, "mouth", iters=3, mouth_steps=5)
    differs = (plain.images != redrawn.images).any(-1)
    assert differs.any() and not differs[:, :6].any()  # the mouth's rows only, not the eyes'
    assert np.array_equal(plain.hats, redrawn.hats)  # the face's own search is unchanged


def test_a_completer_freezes_the_mouth_pair_it_is_given(mouth16: Model, tiny_model_file: Path) -> None:
    mouth16.generator.train().requires_grad_(True)
    Completer(tiny_model_file, mouth=mouth16)
    nets = (mouth16.generator, mouth16.discriminator)
    assert not any(net.training or any(p.requires_grad for p in net.parameters()) for net in nets)
