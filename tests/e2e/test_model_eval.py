"""ganfill eval-model: a generator alone against held-out faces."""

import json
from pathlib import Path

from ganfill.cli import main


def test_eval_model_scores_and_records_each_model(
    tiny_model_file: Path, small_faces: Path, tmp_path: Path, capsys
) -> None:
    record, split = tmp_path / "scores.jsonl", tmp_path / "split.txt"
    split.write_text("\n".join(p.stem for p in small_faces.iterdir()))
    args = [
        "eval-model",
        str(tiny_model_file),
        str(tiny_model_file),
        "--data",
        str(small_faces),
        "--split",
        str(split),
    ]
    assert main([*args, "--samples", "16", "--out", str(record)]) == 0
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(lines) == 2 and lines[0] == lines[1]  # seeded: the same model scores the same
    score = lines[0]
    assert score["samples"] == 16 and score["swd"] > score["swd_floor"] > 0  # an untrained G is far off
    assert 0 <= score["precision"] <= 1 and 0 <= score["recall"] <= 1 and score["fd_face"] > 0
    assert "| SWD (floor) |" in capsys.readouterr().out
    assert main([*args, "--samples", "16", "--no-faces", "--out", str(record)]) == 0  # no dlib: fast
    quick = json.loads(record.read_text().splitlines()[-1])
    assert quick["fd_face"] is quick["precision"] is quick["recall"] is None
    assert {k: quick[k] for k in ("swd", "swd_floor", "detail")} == {
        k: score[k] for k in ("swd", "swd_floor", "detail")
    }
    assert "| - | - | - |" in capsys.readouterr().out
    assert main([*args, "--samples", "2"]) == 2
