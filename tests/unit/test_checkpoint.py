import json
from pathlib import Path

import pytest
import torch

from ganfill.checkpoint import (
    ModelFileError,
    export,
    load_model,
    read_safetensors,
    save_model,
    write_safetensors,
)
from ganfill.models import Encoder, generate


def test_round_trip_gives_identical_outputs(tiny_model, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(path, tiny_model)
    loaded = load_model(path)
    assert loaded.config == tiny_model.config
    assert loaded.info["note"] == "test"
    assert torch.equal(generate(loaded.generator, 5, seed=1), generate(tiny_model.generator, 5, seed=1))
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(loaded.discriminator(x), tiny_model.discriminator.eval()(x))


def test_half_storage_is_close(tiny_model, tmp_path: Path) -> None:
    save_model(tmp_path / "h.safetensors", tiny_model, half=True)
    tensors, _ = read_safetensors(tmp_path / "h.safetensors", "model")
    assert tensors["generator.project.weight"].dtype == torch.float16
    loaded = load_model(tmp_path / "h.safetensors")
    diff = (generate(loaded.generator, 4) - generate(tiny_model.generator, 4)).abs().max()
    assert diff < 1e-2


def test_export_without_encoder_keeps_g_and_d_alone(tiny_model, tmp_path: Path) -> None:
    """A training start to send to a lent GPU: the same G and D, no encoder tensors."""
    tiny_model.encoder = Encoder(16, 8, 4)
    save_model(tmp_path / "full.safetensors", tiny_model)
    export(tmp_path / "full.safetensors", tmp_path / "gan.safetensors", encoder=False)
    tensors, _ = read_safetensors(tmp_path / "gan.safetensors", "model")
    assert tensors and not any(k.startswith("encoder.") for k in tensors)
    loaded = load_model(tmp_path / "gan.safetensors")
    assert loaded.encoder is None
    assert torch.equal(generate(loaded.generator, 3, seed=2), generate(tiny_model.generator, 3, seed=2))


def test_file_is_safetensors_with_json_header(tiny_model_file: Path) -> None:
    raw = tiny_model_file.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    meta = json.loads(header["__metadata__"]["ganfill"])
    assert meta["model"]["image_size"] == 16


def test_not_a_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=r"bad\.safetensors"):
        load_model(bad)
    with pytest.raises(ModelFileError, match="no such"):
        load_model(tmp_path / "missing.safetensors")
    with pytest.raises(ModelFileError, match="no checkpoints"):
        load_model(tmp_path)


def test_another_kind_of_file_or_a_broken_header_is_named(tiny_model_file: Path, tmp_path: Path) -> None:
    finisher = tmp_path / "finisher.safetensors"
    write_safetensors(finisher, {"w": torch.zeros(2)}, {"kind": "finisher", "spec": {}})
    with pytest.raises(ModelFileError, match=r"finisher\.safetensors: a finisher, not a model file or a"):
        load_model(finisher)
    tensors, meta = read_safetensors(tiny_model_file, "model")
    broken = {"image_size": meta | {"model": {"image_size": 20}}, "items": meta | {"model": 3}}
    for problem, header in broken.items():
        write_safetensors(tmp_path / "b.safetensors", tensors, header)
        with pytest.raises(ModelFileError, match=rf"b\.safetensors: its header's model config.*{problem}"):
            load_model(tmp_path / "b.safetensors")
