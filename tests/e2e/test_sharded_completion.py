"""`torchrun -m ganfill complete` on 2 CPU ranks (gloo): the same results as one process, each
image done once, and a job whose rank was SIGKILLed resumes without redoing finished images."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfill.cli import main
from ganfill.manifest import entries

N_FACES = 24


@pytest.fixture
def faces(small_faces: Path, tmp_path: Path) -> Path:
    """24 faces of 16x16 (the example faces and their mirror images) and one broken file."""
    src = tmp_path / "faces"
    src.mkdir()
    for i, f in enumerate(sorted(small_faces.glob("*.png"))[: N_FACES // 2]):
        im = Image.open(f)
        im.save(src / f"face{i:02d}.png")
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(src / f"face{i:02d}_mirror.png")
    (src / "face05_broken.png").write_bytes(b"not a picture")
    return src


def torchrun(faces: Path, out: Path, model: Path, *flags: str, verb: str = "complete") -> subprocess.Popen:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "ganfill", verb, str(faces), "--out", str(out), "--model", str(model)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [*cmd, "--no-progress", *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_two_ranks_give_the_one_process_results(faces: Path, tiny_model_file: Path, tmp_path: Path) -> None:
    flags = ["--iters", "20", "--batch-size", "4"]
    one = tmp_path / "one"
    assert (
        main(
            [
                "complete",
                str(faces),
                "--out",
                str(one),
                "--model",
                str(tiny_model_file),
                "--no-progress",
                *flags,
            ]
        )
        == 1
    )
    job = torchrun(faces, tmp_path / "two", tiny_model_file, *flags)
    _, stderr = job.communicate(timeout=300)
    assert job.returncode == 0 and "Traceback" not in stderr, stderr  # the failure is in the manifest
    assert stderr.count("face05_broken.png: not a readable image") == 1  # one line, from its rank
    entries = manifest(tmp_path / "two")
    assert sorted(e["input"] for e in entries) == sorted(str(f) for f in faces.iterdir())  # each once
    assert [e["input"] for e in entries if e["status"] == "failed"] == [str(faces / "face05_broken.png")]
    for e in entries:
        if e["status"] == "done":
            a = np.asarray(Image.open(e["output"]), np.float64)
            b = np.asarray(Image.open(one / Path(e["output"]).name), np.float64)
            assert np.abs(a - b).mean() <= 0.5, e["output"]
    assert (tmp_path / "two" / "losses.csv").exists() and not list((tmp_path / "two").glob("*.part*"))


def _workers(parent: int) -> list[int]:
    """The pids whose parent is `parent` (torchrun's ranks)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def test_a_killed_job_resumes_without_redoing_finished_images(
    faces: Path, tiny_model_file: Path, tmp_path: Path
) -> None:
    out, flags = tmp_path / "out", ["--iters", "400", "--batch-size", "2"]
    job = torchrun(faces, out, tiny_model_file, *flags)
    deadline = time.monotonic() + 120
    while sum(e["status"] == "done" for e in entries(out).values()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(_workers(job.pid)[0], signal.SIGKILL)
    job.communicate(timeout=120)
    finished = [Path(e["output"]) for e in entries(out).values() if e["status"] == "done"]
    before = {p: p.stat().st_mtime_ns for p in finished}
    assert 4 <= len(before) < N_FACES, len(before)
    job = torchrun(faces, out, tiny_model_file, *flags)
    stdout, _ = job.communicate(timeout=300)
    lines = manifest(out)
    assert sorted(e["input"] for e in lines) == sorted(str(f) for f in faces.iterdir())
    assert sum(e["status"] == "done" for e in lines) == N_FACES
    assert all(path.stat().st_mtime_ns == t for path, t in before.items())  # not redone
    rows = [line.split(",")[:2] for line in (out / "losses.csv").read_text().splitlines()[1:]]
    assert len({name for name, _ in rows}) == N_FACES and len(rows) == len({tuple(r) for r in rows})
    assert sum(map(int, re.findall(r"(\d+) done before", stdout))) == len(before), stdout


def test_eval_on_two_ranks_scores_what_one_process_scores(
    faces: Path, tiny_model_file: Path, tmp_path: Path
) -> None:
    (faces / "face05_broken.png").unlink()
    flags = ["--iters", "10", "--masks", "center", "--methods", "ganfill", "--no-face-metrics"]
    assert (
        main(["eval", str(faces), "--out", str(tmp_path / "one"), "--model", str(tiny_model_file), *flags])
        == 0
    )
    job = torchrun(faces, tmp_path / "two", tiny_model_file, *flags, verb="eval")
    _, stderr = job.communicate(timeout=300)
    assert job.returncode == 0, stderr
    one, two = ((tmp_path / d / "results.csv").read_text().splitlines() for d in ("one", "two"))
    header = one[0].split(",")
    psnr = header.index("psnr_hole")
    pairs = zip(one[1:], two[1:], strict=True)
    assert all(abs(float(a.split(",")[psnr]) - float(b.split(",")[psnr])) < 0.05 for a, b in pairs)


def test_a_thousand_files_with_a_bad_one_in_the_middle(tiny_model_file: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "many"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1000):
        path = src / f"img{i:04d}.png"
        if i == 500:
            path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
        else:
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
    out = tmp_path / "out"
    args = ["complete", str(src), "--out", str(out), "--model", str(tiny_model_file), "--iters", "1"]
    assert main([*args, "--batch-size", "250", "--no-progress"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "img0500.png: not a readable image" in err[0]
    assert len(list(out.glob("img*.png"))) == 999
    failed = [e for e in manifest(out) if e["status"] == "failed"]
    assert (
        len(failed) == 1
        and failed[0]["input"].endswith("img0500.png")
        and "not a readable" in failed[0]["error"]
    )
