"""Careless input through the CLI: one line naming the problem, exit status 2, nothing lost."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfill.cli import main


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--mask", "random", "--fraction", "1.5"], "fraction must be in (0, 1)"),
        (["--center-scale", "0.6"], "center_scale must be in (0, 0.5)"),
        (["--samples", "0"], "samples must be >= 1"),
        (["--batch-size", "0"], "batch_size must be >= 1"),
        (["--box", "1,2,3,4"], "box needs align"),
        (["--align", "--box", "1,2,0,4"], "box wants x,y,w,h"),
        (["--spread", "-1"], "spread must be >= 0"),
    ],
)
def test_nonsense_options_stop_before_any_work(
    small_faces: Path, tiny_model_file: Path, tmp_path: Path, capsys, flags, message
) -> None:
    out = tmp_path / "out"
    args = ["complete", str(small_faces), "--out", str(out), "--model", str(tiny_model_file), "--no-progress"]
    assert main([*args, *flags]) == 2
    assert message in one_line_error(capsys)
    assert not out.exists()  # nothing was started


def test_output_folder_among_the_inputs_is_refused(small_faces: Path, tiny_model_file: Path, capsys) -> None:
    before = sorted(p.name for p in small_faces.iterdir())
    args = ["complete", str(small_faces), "--model", str(tiny_model_file), "--iters", "1", "--no-progress"]
    assert main([*args, "--out", str(small_faces)]) == 2
    assert "among the inputs" in one_line_error(capsys)
    assert main([*args, "--out", str(small_faces / "done")]) == 2  # inside an input folder too
    assert sorted(p.name for p in small_faces.iterdir()) == before  # the originals are untouched


def test_sixteen_bit_images_and_masks_are_read_as_such(tiny_model_file: Path, tmp_path: Path) -> None:
    """A 16-bit grey PNG is scaled to 8 bits, not clipped to white; a 16-bit mask marks its white."""
    face = (np.arange(16 * 16).reshape(16, 16) * 200).astype(np.uint16)  # up to 51,000 of 65,535
    Image.fromarray(face).save(tmp_path / "face.png")
    mask = np.zeros((16, 16), np.uint16)
    mask[4:12, 4:12] = 65535
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    args = ["complete", str(tmp_path / "face.png"), "--out", str(out), "--mask", str(tmp_path / "mask.png")]
    assert main([*args, "--model", str(tiny_model_file), "--iters", "1", "--no-progress"]) == 0
    done = np.asarray(Image.open(out / "face.png").convert("L")).astype(int)
    expected = np.round(face / 65535 * 255).astype(int)
    keep = mask == 0
    assert np.abs(done[keep] - expected[keep]).max() <= 1 and done[keep].std() > 20  # not white


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "{model}", "--out", "{tmp}/s.png", "-n", "0"], "number of samples must be >= 1"),
        (["train-encoder", "{model}", "--out", "{tmp}/e.safetensors", "--steps", "0"], "steps must be >= 1"),
        (["train", "{tmp}", "--out", "{tmp}/run", "--epochs", "0"], "epochs must be >= 1"),
        (["sample", "{tmp}/finisher.safetensors", "--out", "{tmp}/s.png"], "safetensors: a finisher"),
        (["eval", "{tmp}", "--out", "{tmp}/e", "--split", "{tmp}/no.txt"], "{tmp}/no.txt: No such file"),
        pytest.param(
            ["train-encoder", "{model}", "--out", "{tmp}/e.safetensors", "--steps", "1", "--device", "cuda"],
            "device cuda: no CUDA GPU is available",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is here"),
        ),
    ],
)
def test_other_verbs_refuse_nonsense_in_one_line(
    tiny_model_file: Path, tmp_path: Path, capsys, args, message
) -> None:
    from ganfill.finisher import Finisher, save_finisher

    save_finisher(tmp_path / "finisher.safetensors", Finisher(8, 1), {})
    filled = [a.format(model=tiny_model_file, tmp=tmp_path) for a in args]
    assert main(filled) == 2
    assert message.format(tmp=tmp_path) in one_line_error(capsys)
