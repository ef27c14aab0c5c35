import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfill.cli import main
from ganfill.completion import Completer
from ganfill.config import EvalConfig
from ganfill.evaluation import EvalError, evaluate, paired_differences, paired_table, parse_method
from ganfill.metrics import FaceMetrics, frechet_distance, landmark_error, pixel_metrics


def test_every_method_and_mask_is_reported(small_faces: Path, tiny_model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    methods = [
        "ganfill:iters=3",
        "ganfill:iters=3:optimizer=momentum",
        "telea",
        "ns",
        "biharmonic",
        "patchmatch",
        "mean",
        "bicubic",
    ]
    masks = ["center", "random", "left", "lowres"]
    report = evaluate(
        small_faces,
        out,
        Completer(tiny_model_file),
        EvalConfig(masks=tuple(masks), methods=tuple(methods), limit=6, face_metrics=False),
        progress=lambda line: None,
    )
    rows = list(csv.DictReader((out / "results.csv").open()))
    pairs = {(r["method"], r["mask"]) for r in rows}
    classical = {"telea", "ns", "biharmonic", "patchmatch", "mean"}
    for m in methods:
        for k in masks:
            applies = (
                (m in classical and k != "lowres")
                or (m == "bicubic" and k == "lowres")
                or m.startswith("ganfill")
            )
            assert ((m, k) in pairs) == applies, (m, k)
    assert len(rows) == 6 * len(pairs)
    assert {"psnr", "psnr_hole", "ssim", "l1_hole", "seconds"} <= set(rows[0])
    assert len(report.summary) == len(pairs)
    for name in ("summary.csv", "report.md", "psnr_hole.png"):
        assert (out / name).exists()
    # grid: 6 rows (limit) capped at 8, columns original | masked | each applicable method
    center = Image.open(out / "grid_center.png")
    assert center.size == ((2 + 7) * 18 + 2, 6 * 18 + 2)
    text = (out / "report.md").read_text()
    assert "| center | telea |" in text and "| center | telea | 6 |" in text  # paired table too


def test_paired_differences_tell_a_consistent_gap_from_noise() -> None:
    """Per-face difficulty swamps separate intervals; the paired difference still sees a gap."""
    rng = np.random.default_rng(0)
    hardness = rng.uniform(0.2, 0.6, 200)  # varies far more than the methods differ
    noise = lambda: rng.normal(0, 0.002, 200)  # noqa: E731
    methods = {
        "ganfill": hardness - 0.01 + noise(),
        "telea": hardness + noise(),
        "ns": hardness - 0.01 + noise(),
    }
    rows = [
        {"image": f"f{i}", "method": m, "mask": "left", "identity": v[i], "psnr_hole": 20.0, "ssim": 0.5}
        for m, v in methods.items()
        for i in range(200)
    ]
    diffs = {d["method"]: d for d in paired_differences(rows, "ganfill", ["identity", "psnr_hole"])}
    assert set(diffs) == {"telea", "ns"} and diffs["telea"]["n"] == 200
    assert diffs["telea"]["identity"] == pytest.approx(-0.01, abs=0.001)
    assert diffs["telea"]["identity_ci95"] < 0.001
    table = paired_table(list(diffs.values()), "ganfill")
    telea, ns = (next(line for line in table.splitlines() if f"| {m} |" in line) for m in ("telea", "ns"))
    verdicts = lambda line: [c.strip() for c in line.split("|")[5::2]]  # noqa: E731
    assert verdicts(telea) == ["tie", "better"] and verdicts(ns) == ["tie", "tie"]  # hole PSNR, identity


def test_identical_images_get_the_library_psnr() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    known = np.ones((16, 16))
    known[4:8, 4:8] = 0
    m = pixel_metrics(a, a.copy(), known)
    assert m["psnr"] == float("inf") and m["psnr_hole"] == float("inf")
    assert m["ssim"] == 1.0 and m["l1_hole"] == 0.0
    b = a.copy()
    b[4:8, 4:8] = 0
    assert pixel_metrics(a, b, known)["l1_hole"] == pytest.approx(a[4:8, 4:8].mean())


def test_face_metrics_on_real_faces(faces_dir: Path) -> None:
    faces = FaceMetrics()
    image = np.asarray(Image.open(sorted(faces_dir.iterdir())[0]))
    ref, shape = faces.view(image)
    assert ref.landmarks is not None and ref.embedding.shape == (128,)
    same, _ = faces.view(image.copy(), reference_shape=shape)
    assert np.allclose(same.embedding, ref.embedding) and landmark_error(ref.landmarks, same.landmarks) == 0
    grey = np.full_like(image, 128)
    blank, _ = faces.view(grey, reference_shape=shape)
    assert blank.landmarks is None and np.linalg.norm(blank.embedding - ref.embedding) > 0.3
    x = np.random.default_rng(0).normal(size=(50, 4))
    assert frechet_distance(x, x) == pytest.approx(0, abs=1e-6)
    assert frechet_distance(x, x + 1) == pytest.approx(4, rel=1e-3)


def test_unknown_names_are_clear_errors(
    small_faces: Path, tiny_model_file: Path, tmp_path: Path, capsys
) -> None:
    with pytest.raises(EvalError, match="choose from ganfill, telea"):
        parse_method("criminisi")
    with pytest.raises(EvalError, match="unknown ganfill option 'steps'"):
        parse_method("ganfill:steps=3")
    args = ["eval", str(small_faces), "--out", str(tmp_path / "r"), "--model", str(tiny_model_file)]
    assert main([*args, "--masks", "circle"]) == 2
    assert "unknown mask 'circle'; choose from center" in capsys.readouterr().err
    assert main([*args, "--methods", "ganfill,magic"]) == 2
    assert "unknown method 'magic'" in capsys.readouterr().err


def test_eval_cli_prints_the_table(small_faces: Path, tiny_model_file: Path, tmp_path: Path, capsys) -> None:
    args = [
        "eval",
        str(small_faces),
        "--out",
        str(tmp_path / "r"),
        "--model",
        str(tiny_model_file),
        "--iters",
        "2",
    ]
    assert (
        main([*args, "--masks", "center", "--methods", "ganfill,mean", "--limit", "4", "--no-face-metrics"])
        == 0
    )
    out = capsys.readouterr().out
    assert "| center | ganfill |" in out and "| center | mean |" in out
