import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ganfill.cli import main


def run(*args: str) -> int:
    return main(["complete", *args, "--no-progress"])


def test_every_output_is_written(small_faces: Path, tiny_model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = run(
        str(small_faces),
        "--out",
        str(out),
        "--model",
        str(tiny_model_file),
        "--iters",
        "6",
        "--mask",
        "random",
        "--keep-hats",
        "--samples",
        "2",
        "--gif",
        "--save-every",
        "2",
        "--batch-size",
        "5",
    )
    assert code == 0
    names = sorted(p.stem for p in small_faces.iterdir())
    for n in names:
        assert (
            (out / f"{n}.png").exists()
            and (out / f"{n}.hat.png").exists()
            and (out / f"{n}.sample2.png").exists()
        )
        assert Image.open(out / f"{n}.png").size == (16, 16)
    for grid in ("before.png", "masked.png", "completed.png", "completion.gif"):
        assert (out / grid).exists(), grid
    assert sorted(p.name for p in (out / "frames").iterdir())[:2] == [
        "completed_00000.png",
        "completed_00002.png",
    ]
    rows = list(csv.DictReader((out / "losses.csv").open()))
    assert set(rows[0]) == {"image", "iteration", "context", "prior", "total"}
    assert {r["image"] for r in rows} == set(names)
    gif = Image.open(out / "completion.gif")
    assert gif.n_frames == 4  # iterations 0, 2, 4 and the final


def test_known_pixels_survive_byte_identical(
    small_faces: Path, tiny_model_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert (
        run(
            str(small_faces),
            "--out",
            str(out),
            "--model",
            str(tiny_model_file),
            "--iters",
            "3",
            "--mask",
            "left",
        )
        == 0
    )
    for f in small_faces.iterdir():
        a, b = np.asarray(Image.open(f)), np.asarray(Image.open(out / f.name))
        assert np.array_equal(a[:, 8:], b[:, 8:])
    grown = tmp_path / "grown"  # --dilate: the hole grows; --save-masks writes it as filled
    flags = ["--model", str(tiny_model_file), "--iters", "3", "--mask", "left", "--dilate", "2"]
    assert run(str(small_faces), "--out", str(grown), *flags, "--save-masks") == 0
    for f in small_faces.iterdir():
        hole = np.asarray(Image.open(grown / f"{f.stem}.mask.png")) == 255
        assert hole[:, :10].all() and not hole[:, 10:].any()
        a, b = np.asarray(Image.open(f)), np.asarray(Image.open(grown / f.name))
        assert np.array_equal(a[~hole], b[~hole]) and (a[:, 8:10] != b[:, 8:10]).any()


def test_bad_image_is_reported_and_the_others_complete(
    small_faces: Path, tiny_model_file: Path, tmp_path: Path, capsys
) -> None:
    (small_faces / "broken.png").write_bytes(b"garbage")
    out = tmp_path / "out"
    code = run(str(small_faces), "--out", str(out), "--model", str(tiny_model_file), "--iters", "2")
    assert code == 1
    assert "broken.png: not a readable image" in capsys.readouterr().err
    assert len(list(out.glob("*.png"))) == 16 + 3  # 16 completions and three grids


def test_other_sizes_are_resized_with_a_warning(
    faces_dir: Path, tiny_model_file: Path, tmp_path: Path, capsys
) -> None:
    one = sorted(faces_dir.iterdir())[0]
    assert run(str(one), "--out", str(tmp_path / "o"), "--model", str(tiny_model_file), "--iters", "1") == 0
    err = capsys.readouterr().err
    assert "64x64 resized to 16x16" in err and "--align" not in err  # an aligned face at another size
    tall = tmp_path / "tall.png"
    Image.open(one).resize((64, 80)).save(tall)
    assert run(str(tall), "--out", str(tmp_path / "t"), "--model", str(tiny_model_file), "--iters", "1") == 0
    hint = "64x80 resized to 16x16 (not an aligned face? ordinary photos need --align)"
    assert hint in capsys.readouterr().err


def test_mask_files(small_faces: Path, tiny_model_file: Path, tmp_path: Path, capsys) -> None:
    model = ["--model", str(tiny_model_file), "--iters", "2"]
    wrong = tmp_path / "wrong.png"
    Image.new("L", (20, 20), 255).save(wrong)
    assert run(str(small_faces), "--out", str(tmp_path / "a"), "--mask", str(wrong), *model) == 2
    err = capsys.readouterr().err.strip()
    assert "wrong.png: 20x20, but the image is 16x16 (a mask must match it)" in err and "\n" not in err
    black = tmp_path / "black.png"
    Image.new("L", (16, 16), 0).save(black)
    assert run(str(small_faces), "--out", str(tmp_path / "b"), "--mask", str(black), *model) == 2
    assert "nothing to fill" in capsys.readouterr().err
    good = np.zeros((16, 16), np.uint8)
    good[4:12, 4:12] = 255  # white = fill
    Image.fromarray(good).save(tmp_path / "hole.png")
    assert (
        run(
            str(small_faces),
            "--out",
            str(tmp_path / "c"),
            "--mask",
            str(tmp_path / "hole.png"),
            *model,
        )
        == 0
    )
    f = sorted(small_faces.iterdir())[0]
    a, b = np.asarray(Image.open(f)), np.asarray(Image.open(tmp_path / "c" / f.name))
    assert np.array_equal(a[:4], b[:4]) and not np.array_equal(a[4:12, 4:12], b[4:12, 4:12])


def test_mask_folder_matched_by_stem(
    small_faces: Path, tiny_model_file: Path, tmp_path: Path, capsys
) -> None:
    masks_dir = tmp_path / "masks"
    masks_dir.mkdir()
    files = sorted(small_faces.iterdir())
    m = np.zeros((16, 16), np.uint8)
    m[:, :8] = 255
    for f in files[:-1]:
        Image.fromarray(m).save(masks_dir / f.name)
    code = run(
        str(small_faces),
        "--out",
        str(tmp_path / "o"),
        "--mask",
        str(masks_dir),
        "--model",
        str(tiny_model_file),
        "--iters",
        "1",
    )
    assert code == 1  # the last image has no mask
    assert f"no mask named {files[-1].stem}" in capsys.readouterr().err
    assert (tmp_path / "o" / files[0].name).exists()


def test_unknown_mask_and_missing_input(
    small_faces: Path, tiny_model_file: Path, tmp_path: Path, capsys
) -> None:
    assert (
        run(
            str(small_faces),
            "--out",
            str(tmp_path / "o"),
            "--mask",
            "circle",
            "--model",
            str(tiny_model_file),
        )
        == 2
    )
    assert "circle: neither a mask kind (center, random" in capsys.readouterr().err
    assert (
        run(
            str(tmp_path / "nope.png"),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tiny_model_file),
        )
        == 2
    )
    assert "nope.png: no such file" in capsys.readouterr().err


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganfill",
            "complete",
            str(tmp_path / "missing.png"),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tmp_path / "none.safetensors"),
        ],
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": ""},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
