"""The bad-input matrix: every hostile or odd file of hostile.py goes through the CLI and the API.

A broken file costs that file only: one line naming it and its problem (exit status 1 when some
files failed; the HTTP code of its case), no traceback, and the good files beside it complete.
A usable file in an odd form (16-bit, CMYK, palette, GIF, TIFF, rotated, bad EXIF) completes
into a picture of the face, never a blank or white one.
"""

import io
import re
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hostile import SIZE, Case, encode, face, image_cases, mask_cases
from PIL import Image

from ganfill.cli import main
from ganfill.completion import Completer
from ganfill.config import ServeConfig
from ganfill.errors import InputWarning
from ganfill.server.app import create_app

GOOD = ("good_a.png", "good_b.png")


def hole_mask() -> np.ndarray:
    m = np.zeros((SIZE, SIZE), np.uint8)
    m[4:12, 4:12] = 255  # white = fill
    return m


def looks_like_the_face(picture: Image.Image) -> None:
    """Not blank, not white, as bright as the face: a silent wrong output fails here."""
    grey = np.asarray(picture.convert("L"), np.float64)
    assert grey.shape == (SIZE, SIZE) and grey.std() > 5
    assert abs(grey.mean() - np.asarray(face().convert("L")).mean()) < 40


def run_cli(tmp_path: Path, model: Path, capsys, *flags: str) -> tuple[int, str]:
    out = tmp_path / "out"
    args = ["complete", str(tmp_path / "in"), "--out", str(out), "--model", str(model)]
    code = main([*args, "--iters", "2", "--no-progress", *flags])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Warning:" not in err  # nor a raw Python warning
    for name in GOOD:  # the good files beside the hostile one still complete
        assert (out / name).exists(), err
    return code, err


def check_cli_outcome(case: Case, code: int, err: str, named: Path, out: Path) -> None:
    lines = [line for line in err.splitlines() if str(named) in line]
    if case.problem is None:
        assert code == 0 and not any("error" in line for line in lines), err
        if case.warning:
            assert len(lines) == 1 and case.warning in lines[0], err
        looks_like_the_face(Image.open(out / "target.png"))
    else:
        assert code == 1 and len(lines) == 1 and case.problem in lines[0], err
        assert not (out / "target.png").exists()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for name in GOOD:
        face().save(src / name)
    return src


@pytest.mark.parametrize("case", image_cases(), ids=lambda c: c.name)
def test_image_through_the_cli(
    case: Case, folder: Path, tiny_model_file: Path, tmp_path: Path, capsys
) -> None:
    target = folder / ("target." + case.name.rsplit(".", 1)[1])
    target.write_bytes(case.data)
    code, err = run_cli(tmp_path, tiny_model_file, capsys)
    check_cli_outcome(case, code, err, target, tmp_path / "out")


@pytest.mark.parametrize("case", mask_cases(), ids=lambda c: c.name)
def test_mask_through_the_cli(
    case: Case, folder: Path, tiny_model_file: Path, tmp_path: Path, capsys
) -> None:
    face().save(folder / "target.png")
    masks = tmp_path / "masks"
    masks.mkdir()
    for name in GOOD:
        Image.fromarray(hole_mask()).save(masks / name)
    (masks / "target.png").write_bytes(case.data)
    code, err = run_cli(tmp_path, tiny_model_file, capsys, "--mask", str(masks))
    check_cli_outcome(case, code, err, masks / "target.png", tmp_path / "out")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, aligner16):
    from ganfill.checkpoint import Model, save_model
    from ganfill.config import ModelConfig
    from ganfill.models import build

    config = ModelConfig(image_size=SIZE, z_dim=8, gf_dim=4, df_dim=4)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(path, Model(*(net.eval() for net in build(config, seed=0)), config, {}))
    app = create_app(Completer(path, aligner=aligner16), ServeConfig(max_upload_mb=2.0, max_pixels=1_000_000))
    with TestClient(app) as c:
        yield c


def post(client: TestClient, image: bytes, mask: bytes) -> object:
    files = {"image": ("upload", image, "application/octet-stream"), "mask": ("mask", mask, "image/png")}
    return client.post("/api/v1/complete", files=files, data={"align": "false", "iters": "2"})


def check_api_outcome(case: Case, client: TestClient, response) -> None:
    assert response.status_code == case.status, response.text
    if case.problem is None:
        looks_like_the_face(Image.open(io.BytesIO(response.content)))
    else:
        message = response.json()["error"]
        assert case.problem in message and "\n" not in message and "Traceback" not in message
    good = post(client, encode(face(), "PNG"), encode(Image.fromarray(hole_mask()), "PNG"))
    assert good.status_code == 200  # the server is still well


@pytest.mark.parametrize("case", image_cases(), ids=lambda c: c.name)
def test_image_through_the_api(case: Case, client: TestClient) -> None:
    said = pytest.warns(InputWarning, match=re.escape(case.warning)) if case.warning else nullcontext()
    with said:  # the server logs the flaw as one line (see errors.warnings_as_lines)
        response = post(client, case.data, encode(Image.fromarray(hole_mask()), "PNG"))
    check_api_outcome(case, client, response)


@pytest.mark.parametrize("case", mask_cases(), ids=lambda c: c.name)
def test_mask_through_the_api(case: Case, client: TestClient) -> None:
    check_api_outcome(case, client, post(client, encode(face(), "PNG"), case.data))
