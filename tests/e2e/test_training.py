import copy
import csv
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganfill.checkpoint import load_model, read_safetensors
from ganfill.cli import main
from ganfill.config import ModelConfig, TrainConfig
from ganfill.data import DataError, load_folder
from ganfill.devices import bfloat16_is_fast
from ganfill.models import Generator, recalibrate_batchnorm
from ganfill.training import train

TINY = ModelConfig(image_size=16, z_dim=8, gf_dim=4, df_dim=4)
TINY_FLAGS = ["--image-size", "16", "--z-dim", "8", "--gf-dim", "4", "--df-dim", "4", "--batch-size", "4"]


def tiny_train(**kw) -> TrainConfig:
    base = dict(
        model=TINY,
        batch_size=4,
        max_steps=6,
        sample_every=3,
        checkpoint_every=3,
        log_every=1,
        epochs=5,
    )
    return TrainConfig(**(base | kw))


def test_train_writes_a_self_describing_run(small_faces: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = train(small_faces, run, tiny_train(), progress=False)
    assert result.step == 6 and not result.interrupted
    assert (run / "config.json").exists()
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step_0000003.png",
        "step_0000006.png",
    ]
    assert Image.open(run / "samples" / "step_0000006.png").size == (8 * 18 + 2, 8 * 18 + 2)
    assert (run / "checkpoints" / "latest.safetensors").exists()
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert set(rows[0]) == {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "img_per_s"}
    assert list((run / "tb").glob("events.out.tfevents.*"))
    model = load_model(run)  # a run folder is a model too (EMA generator)
    assert model.config == TINY


def test_resume_continues_exactly(small_faces: Path, tmp_path: Path) -> None:
    straight = train(small_faces, tmp_path / "a", tiny_train(), progress=False)
    assert straight.step == 6
    train(small_faces, tmp_path / "b", tiny_train(max_steps=3), progress=False)
    with (tmp_path / "b" / "metrics.csv").open("a") as f:  # logged after the checkpoint, then killed
        f.write("4,0,9,9,0.5,0.5,1\n5,0,9,9,0.5,0.5,1\n")
    resumed = train(small_faces, tmp_path / "b", tiny_train(max_steps=6), resume=True, progress=False)
    assert resumed.step == 6
    rows_a = list(csv.DictReader((tmp_path / "a" / "metrics.csv").open()))
    rows_b = list(csv.DictReader((tmp_path / "b" / "metrics.csv").open()))
    assert [r["step"] for r in rows_b] == ["1", "2", "3", "4", "5", "6"]
    for ra, rb in zip(rows_a, rows_b, strict=True):
        assert (ra["d_loss"], ra["g_loss"]) == (rb["d_loss"], rb["g_loss"])
    wa, _ = read_safetensors(tmp_path / "a" / "checkpoints" / "latest.safetensors", "training")
    wb, _ = read_safetensors(tmp_path / "b" / "checkpoints" / "latest.safetensors", "training")
    for key in ("generator.project.weight", "discriminator.head.weight", "opt_g.0.exp_avg"):
        assert torch.equal(wa[key], wb[key]), key


def test_batchnorm_statistics_are_recomputed_once_per_step_and_fit_the_saved_weights(
    small_faces: Path, tmp_path: Path, monkeypatch
) -> None:
    """Samples and a checkpoint at one step share one recalibration of the EMA generator, and the
    saved EMA generator's statistics are those its final weights give."""
    calls = []

    def counted(g: Generator, **kw) -> None:
        calls.append(kw)
        recalibrate_batchnorm(g, **kw)

    monkeypatch.setattr("ganfill.training.recalibrate_batchnorm", counted)
    cfg = tiny_train()  # samples and checkpoints at steps 3 and 6, and both again at the end
    train(small_faces, tmp_path / "r", cfg, progress=False)
    assert len(calls) == 2
    saved = load_model(tmp_path / "r").generator
    fresh = copy.deepcopy(saved)
    recalibrate_batchnorm(fresh, seed=cfg.seed, shorten=cfg.shorten)
    for (name, mine), theirs in zip(saved.named_buffers(), fresh.buffers(), strict=True):
        assert torch.allclose(mine.float(), theirs.float()), name


def test_checkpoints_are_pruned(small_faces: Path, tmp_path: Path) -> None:
    train(
        small_faces,
        tmp_path / "r",
        tiny_train(checkpoint_every=1, keep_checkpoints=2),
        progress=False,
    )
    names = sorted(p.name for p in (tmp_path / "r" / "checkpoints").iterdir())
    assert names == ["latest.safetensors", "step_0000005.safetensors", "step_0000006.safetensors"]


def test_unreadable_files_are_skipped_and_counted(small_faces: Path, tmp_path: Path, capsys) -> None:
    (small_faces / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (small_faces / "notes.jpg").write_text("not an image")
    (small_faces / "readme.txt").write_text("ignored: not an image suffix")
    data = load_folder(small_faces, 16)
    assert len(data) == 16 and len(data.skipped) == 2
    err = capsys.readouterr().err
    assert "corrupt.png" in err and "notes.jpg" in err
    assert data.images.dtype == torch.uint8 and data.images.shape == (16, 3, 16, 16)


def test_exclusion_and_crop(small_faces: Path, tmp_path: Path) -> None:
    split = tmp_path / "split.txt"
    names = sorted(p.stem for p in small_faces.iterdir())[:3]
    split.write_text("# held out\n" + "\n".join(names) + "\n")
    from ganfill.data import read_split

    data = load_folder(small_faces, 8, crop=12, exclude=read_split(split))
    assert len(data) == 13 and not set(names) & set(data.names)


def test_empty_folder_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        load_folder(tmp_path / "empty", 16)


def test_cli_train_sample_export(small_faces: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    args = [
        "train",
        str(small_faces),
        "--out",
        str(run),
        *TINY_FLAGS,
        "--max-steps",
        "2",
        "--no-progress",
    ]
    assert main(args) == 0
    assert (
        main(
            [
                "train",
                str(small_faces),
                "--out",
                str(run),
                "--max-steps",
                "4",
                "--resume",
                "--no-progress",
            ]
        )
        == 0
    )
    assert "step 4" in capsys.readouterr().out
    assert main(["sample", str(run), "--out", str(tmp_path / "grid.png"), "-n", "9"]) == 0
    assert Image.open(tmp_path / "grid.png").size == (3 * 18 + 2, 3 * 18 + 2)
    assert main(["export", str(run), str(tmp_path / "m.safetensors"), "--half"]) == 0
    model = load_model(tmp_path / "m.safetensors")
    assert model.info["n_images"] == 16
    snapshot = sorted(run.glob("checkpoints/step_*.safetensors"))[0]  # a snapshot, not the latest
    assert main(["export", str(snapshot), str(tmp_path / "s.safetensors")]) == 0
    model = load_model(tmp_path / "s.safetensors")
    assert model.info["n_images"] == 16 and model.info["step"] == int(snapshot.stem.split("_")[1]) < 4


def test_cli_errors_are_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["train", str(tmp_path / "empty"), "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no images found" in err and "Traceback" not in err
    assert main(["train", str(tmp_path / "empty"), "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "nope.safetensors"), "--out", str(tmp_path / "g.png")]) == 2


def test_too_few_images_for_a_batch(small_faces: Path, tmp_path: Path) -> None:
    for f in sorted(small_faces.iterdir())[2:]:
        f.unlink()
    with pytest.raises(ValueError, match="fewer than one batch"):
        train(small_faces, tmp_path / "r", tiny_train(), progress=False)
    shutil.rmtree(tmp_path / "r", ignore_errors=True)


def test_init_from_a_model_file(small_faces: Path, tmp_path: Path, tiny_model_file: Path) -> None:
    from ganfill.checkpoint import load_model as load

    start = load(tiny_model_file)
    cfg = tiny_train(max_steps=1, init_from=str(tiny_model_file), model=start.config)
    run = tmp_path / "warm"
    train(small_faces, run, cfg, progress=False)
    tensors, _ = read_safetensors(run / "checkpoints" / "latest.safetensors", "training")
    moved = (tensors["generator.project.weight"] - start.generator.project.weight).abs().max()
    assert 0 < moved < 0.01  # one small Adam step away from the model's weights
    with pytest.raises(ValueError, match="model config differs"):
        wider = ModelConfig(image_size=16, z_dim=8, gf_dim=8, df_dim=4)
        train(
            small_faces,
            tmp_path / "bad",
            tiny_train(init_from=str(tiny_model_file), model=wider),
            progress=False,
        )


def test_sigterm_stops_with_a_checkpoint(small_faces: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "ganfill",
        "train",
        str(small_faces),
        "--out",
        str(run),
        *TINY_FLAGS,
        "--epochs",
        "100000",
        "--sample-every",
        "100000",
        "--checkpoint-every",
        "100000",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, env=os.environ | {"OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, text=True)
    for _ in range(300):
        if (run / "metrics.csv").exists() and len((run / "metrics.csv").read_text().splitlines()) > 3:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in out
    _, meta = read_safetensors(run / "checkpoints" / "latest.safetensors", "training")
    assert meta["step"] >= 3


@pytest.mark.skipif(not bfloat16_is_fast(torch.device("cpu")), reason="this CPU has no native bfloat16 (AMX)")
def test_amp_trains_in_bfloat16_on_a_cpu_with_amx(small_faces: Path, tmp_path: Path, monkeypatch) -> None:
    dtypes = []
    forward = Generator.forward
    monkeypatch.setattr(Generator, "forward", lambda self, z: dtypes.append(out := forward(self, z)) or out)
    result = train(small_faces, tmp_path / "run", tiny_train(amp=True, max_steps=2), progress=False)
    assert result.step == 2
    assert torch.bfloat16 in {t.dtype for t in dtypes}  # the training steps
    weights, _ = read_safetensors(tmp_path / "run" / "checkpoints" / "latest.safetensors", "training")
    assert all(w.dtype == torch.float32 for w in weights.values() if w.is_floating_point())  # kept in float32


def test_a_mouth_pair_trains_on_the_mouths_box_and_exports_for_the_completer(
    small_faces: Path, tmp_path: Path
) -> None:
    run, out = tmp_path / "mouth", tmp_path / "mouth.safetensors"
    args = ["train", str(small_faces), "--out", str(run), *TINY_FLAGS, "--region", "mouth"]
    assert main([*args, "--max-steps", "2", "--sample-every", "2", "--no-progress"]) == 0
    # D's head takes the box's 3x6 features only: the run trained on the box, not the frame
    assert Image.open(run / "samples" / "step_0000002.png").size == (8 * 14 + 2, 8 * 8 + 2)
    assert main(["export", str(run), str(out), "--half"]) == 0
    from ganfill.mouth import load_mouth

    mouth = load_mouth(out)
    assert mouth.config.region == "mouth" and mouth.generator(torch.rand(2, 8)).shape == (2, 3, 6, 12)
