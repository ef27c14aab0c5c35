"""tools/soup.py: the weight interpolation of two continuations of one model."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganfill.checkpoint import Model, ModelFileError
from ganfill.config import ModelConfig
from ganfill.models import build

SOUP = Path(__file__).resolve().parents[2] / "tools" / "soup.py"


def _tool():
    spec = importlib.util.spec_from_file_location("soup", SOUP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model(config: ModelConfig, seed: int) -> Model:
    g, d = build(config, seed=seed)
    return Model(g.eval(), d.eval(), config)


def test_the_soup_lies_halfway_and_keeps_a_discriminator(tiny_config: ModelConfig) -> None:
    a, b = _model(tiny_config, 0), _model(tiny_config, 1)
    wa = a.generator.project.weight.clone()  # a linear layer: no batch-norm statistic
    wb = b.generator.project.weight.clone()
    da = {k: v.clone() for k, v in a.discriminator.state_dict().items()}
    souped = _tool().soup(a, b, 0.25, shorten=0.5, seed=3)
    assert torch.allclose(souped.generator.project.weight, 0.75 * wa + 0.25 * wb)
    assert all(torch.equal(v, da[k]) for k, v in souped.discriminator.state_dict().items())
    assert souped.info["soup"]["alpha"] == 0.25 and not souped.generator.training


def test_two_different_networks_are_refused(tiny_config: ModelConfig) -> None:
    wider = ModelConfig(image_size=16, z_dim=8, gf_dim=8, df_dim=4)
    with pytest.raises(ModelFileError, match="differ"):
        _tool().soup(_model(tiny_config, 0), _model(wider, 0), 0.5, shorten=0.0)


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path) -> None:
    missing, out = tmp_path / "missing.safetensors", tmp_path / "out.safetensors"
    run = subprocess.run(
        [sys.executable, str(SOUP), str(missing), str(missing), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and not out.exists()
    assert run.stderr.count("\n") == 1 and f"{missing}: no such model file" in run.stderr
