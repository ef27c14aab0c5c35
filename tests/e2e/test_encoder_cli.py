"""train-encoder and --init encoder through the CLI."""

from pathlib import Path

from ganfill.checkpoint import load_model
from ganfill.cli import main


def test_cli_train_encoder_and_missing_encoder(
    tiny_model_file: Path, small_faces: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "with_encoder.safetensors"
    encoder_args = ["--out", str(out), "--data", str(small_faces), "--steps", "3", "--batch-size", "8"]
    assert main(["train-encoder", str(tiny_model_file), *encoder_args, "--no-progress"]) == 0
    assert load_model(out).encoder is not None and "encoder" in load_model(out).info
    again = tmp_path / "continued.safetensors"
    continued = ["train-encoder", str(tiny_model_file), "--out", str(again), *encoder_args[2:]]
    continued += ["--no-progress", "--encoder-from", str(out)]
    assert main(continued) == 0
    assert load_model(again).info["encoder"]["total_steps"] == 6
    assert main([*continued[:-1], str(tiny_model_file)]) == 2
    assert "has no encoder to continue from" in capsys.readouterr().err
    args = ["complete", str(small_faces), "--out", str(tmp_path / "o"), "--iters", "1", "--no-progress"]
    assert main([*args, "--model", str(out), "--init", "encoder"]) == 0
    assert main([*args, "--model", str(tiny_model_file), "--init", "encoder"]) == 2
    assert "no encoder" in capsys.readouterr().err
