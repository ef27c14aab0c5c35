import base64
import io
import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FACES, PHOTOS
from fastapi.testclient import TestClient
from hostile import png_header_only
from PIL import Image

from ganfill.completion import Completer
from ganfill.config import ServeConfig
from ganfill.masks import REGIONS
from ganfill.server.app import create_app

PHOTO = (PHOTOS / "utk_100_1_0_20170112215032192.jpg").read_bytes()
PHOTO_16 = FACES / "celeba_000053.png"


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def mouth_mask(size=(200, 200)) -> bytes:
    m = np.zeros((size[1], size[0]), np.uint8)
    m[100:140, 70:130] = 255  # white = fill
    return png(Image.fromarray(m))


@pytest.fixture
def client(tiny_completer: Completer):
    app = create_app(tiny_completer, ServeConfig(max_upload_mb=2.0, max_pixels=1_000_000))
    with TestClient(app) as c:
        yield c


def form(image=PHOTO, mask=None, **options):
    files = {"image": ("p.jpg", image, "image/jpeg"), "mask": ("m.png", mask or mouth_mask(), "image/png")}
    return {"files": files, "data": {k: str(v) for k, v in options.items()}}


def test_health_model_and_docs(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok", "running": 0, "waiting": 0}
    info = client.get("/api/v1/model").json()
    assert info["image_size"] == 16 and info["parameters"] > 0 and info["info"]["note"] == "test"
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/complete"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(body)
    assert "image/png" in spec["paths"]["/api/v1/complete"]["post"]["responses"]["200"]["content"]
    assert list(spec["paths"]["/api/v1/mask"]["post"]["responses"]["200"]["content"]) == ["image/png"]
    page = client.get("/")
    assert page.status_code == 200 and "ganfill" in page.text
    presets = re.findall(r'data-preset="(\w+)"', page.text)  # each a kind the mask route draws
    assert len(presets) >= 4 and set(presets) <= set(REGIONS)


def test_complete_multipart_returns_the_photo_as_png(client: TestClient) -> None:
    r = client.post("/api/v1/complete", **form(iters=3))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    done = np.asarray(Image.open(io.BytesIO(r.content)))
    before = np.asarray(Image.open(io.BytesIO(PHOTO)))
    keep = np.ones((200, 200), bool)
    keep[100:140, 70:130] = False
    assert done.shape == before.shape and np.array_equal(done[keep], before[keep])


def test_complete_json_with_samples(client: TestClient) -> None:
    body = {
        "image": base64.b64encode(PHOTO).decode(),
        "mask": "data:image/png;base64," + base64.b64encode(mouth_mask()).decode(),
        "iters": 2,
        "samples": 2,
        "format": "json",
        "seed": 5,
    }
    r = client.post("/api/v1/complete", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert len(data["images"]) == 2 and data["seed"] == 5 and data["width"] == 200
    assert set(data["timings"]) == {"queued_s", "search_s", "total_s"}
    r = client.post("/api/v1/complete", json=body | {"sample": 2})
    assert r.status_code == 422 and r.json()["error"] == "sample: not an option (did you mean samples?)"


def test_align_off_takes_an_aligned_face(client: TestClient) -> None:
    face = png(Image.new("RGB", (16, 16), (120, 90, 80)))
    m = np.zeros((16, 16), np.uint8)
    m[4:12, 4:12] = 255
    r = client.post(
        "/api/v1/complete", **form(image=face, mask=png(Image.fromarray(m)), iters=2, align="false")
    )
    assert r.status_code == 200
    r = client.post("/api/v1/complete", **form(iters=2, align="false"))
    assert r.status_code == 422 and "aligned 16x16 face" in r.json()["error"]


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"mask": mouth_mask((100, 100))}, 422, "mask: 100x100, but the image is 200x200"),
        ({"mask": png(Image.new("L", (200, 200), 0))}, 422, "nothing to fill"),
        ({"image": png(Image.new("RGB", (1200, 1000)))}, 413, "more than 1000000 pixels"),
        ({"iters": -1}, 422, "iters must be >= 0"),
        ({"iters": 100_000}, 422, "iters: at most 5000"),
        ({"optimizer": "sgd"}, 422, "optimizer"),
        ({"samples": 0}, 422, "samples must be >= 1"),
        ({"dilat": 4}, 422, "dilat: not an option (did you mean dilate?)"),  # not silently ignored
        ({"banana": "red"}, 422, "banana: not an option (see /docs)"),
        ({"colour": 2}, 422, "colour must be in [0, 1]"),
    ],
)
def test_bad_input_gets_a_clear_4xx(client: TestClient, kwargs, status: int, message: str) -> None:
    options = {k: v for k, v in kwargs.items() if k not in ("image", "mask")}
    files = {k: v for k, v in kwargs.items() if k in ("image", "mask")}
    r = client.post("/api/v1/complete", **form(**files, **options))
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_a_box_instead_of_a_mask_file(client: TestClient) -> None:
    boxed = client.post(
        "/api/v1/complete", files={"image": ("p.jpg", PHOTO)}, data={"box": "70,100,60,40", "iters": "2"}
    )
    assert boxed.status_code == 200, boxed.text
    before = np.asarray(Image.open(io.BytesIO(PHOTO)))
    after = np.asarray(Image.open(io.BytesIO(boxed.content)))
    keep = np.ones((200, 200), bool)
    keep[100:140, 70:130] = False
    assert np.array_equal(before[keep], after[keep]) and (before[~keep] != after[~keep]).any()
    body = {"image": base64.b64encode(PHOTO).decode(), "box": "70,100,60,40", "iters": 2}
    assert client.post("/api/v1/complete", json=body).status_code == 200
    for data, files, status, message in [
        (
            {"box": "70,100,60,40"},
            {"mask": ("m.png", mouth_mask())},
            400,
            "exactly one of a mask (a file or a kind) or box",
        ),
        ({}, {}, 400, "exactly one of a mask (a file or a kind) or box"),
        ({"box": "70,100,0,40"}, {}, 422, "box wants x,y,w,h with w, h > 0"),
        ({"box": "300,300,10,10"}, {}, 422, "lies outside the 200x200 photo"),
        ({"box": "70,100,60,40", "align": "false"}, {}, 422, "box needs align"),
    ]:
        r = client.post("/api/v1/complete", files={"image": ("p.jpg", PHOTO), **files}, data=data)
        assert r.status_code == status and message in r.json()["error"], (data, r.text)


def test_a_mask_kind_instead_of_a_mask_file(client: TestClient, tiny_completer: Completer) -> None:
    from ganfill.config import MaskConfig
    from ganfill.photos import kind_mask

    before = np.asarray(Image.open(io.BytesIO(PHOTO)))
    faces = tiny_completer.aligner().detect(before)
    keep = kind_mask([f.matrix for f in faces], (200, 200), 16, MaskConfig(mask="eyes")) == 1
    eyes = {"mask": "eyes", "iters": "2"}
    r = client.post("/api/v1/complete", files={"image": ("p.jpg", PHOTO)}, data=eyes)
    assert r.status_code == 200, r.text
    after = np.asarray(Image.open(io.BytesIO(r.content)))
    assert np.array_equal(before[keep], after[keep]) and (before[~keep] != after[~keep]).any()
    body = {"image": base64.b64encode(PHOTO).decode(), "mask": "eyes", "iters": 2}
    assert client.post("/api/v1/complete", json=body).content == r.content  # the same in JSON
    face = png(Image.open(PHOTO_16).resize((16, 16)))  # an aligned face at the model's size
    for kind in ("center", "lowres"):  # lowres: the search compares downsampled views
        aligned = {"mask": kind, "align": "false", "iters": "2"}
        r = client.post("/api/v1/complete", files={"image": ("f.png", face)}, data=aligned)
        assert r.status_code == 200, r.text
    for data, status, message in [
        ({"mask": "random"}, 422, "'random' is scattered pixels or a low-resolution view"),
        ({"mask": "nose"}, 400, "mask: send a file or a mask kind (center, random"),
        ({"mask": "eyes", "box": "70,100,60,40"}, 400, "exactly one of a mask (a file or a kind) or box"),
    ]:
        image = face if data.get("align") == "false" else PHOTO
        r = client.post("/api/v1/complete", files={"image": ("p.png", image)}, data=data)
        assert r.status_code == status and message in r.json()["error"], (data, r.text)


def test_mask_answers_the_mask_a_completion_fills(client: TestClient) -> None:
    before = np.asarray(Image.open(io.BytesIO(PHOTO)))
    for data in ({"mask": "mouth"}, {"mask": "eyes", "dilate": "3"}, {"box": "70,100,60,40", "dilate": "2"}):
        r = client.post("/api/v1/mask", files={"image": ("p.jpg", PHOTO)}, data=data)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
        hole = np.asarray(Image.open(io.BytesIO(r.content))) == 255
        assert hole.shape == (200, 200) and 100 < hole.sum() < 200 * 200 / 4, data
        done = client.post("/api/v1/complete", files={"image": ("p.jpg", PHOTO)}, data={**data, "iters": "2"})
        after = np.asarray(Image.open(io.BytesIO(done.content)))
        assert np.array_equal(before[~hole], after[~hole]) and (before[hole] != after[hole]).any(), data

    def hole_of(**data: str) -> np.ndarray:
        r = client.post("/api/v1/mask", files={"image": ("p.jpg", PHOTO)}, data=data)
        return np.asarray(Image.open(io.BytesIO(r.content))) == 255

    grown, eyes = hole_of(mask="eyes", dilate="3"), hole_of(mask="eyes")
    assert (grown >= eyes).all() and grown.sum() > eyes.sum() and not (eyes & hole_of(mask="mouth")).any()
    face = png(Image.open(PHOTO_16).resize((16, 16)))  # align off: the kind in the aligned face
    r = client.post(
        "/api/v1/mask", files={"image": ("f.png", face)}, data={"mask": "center", "align": "false"}
    )
    assert np.asarray(Image.open(io.BytesIO(r.content)))[4:12, 4:12].min() == 255
    sky = png(Image.new("RGB", (200, 200), (90, 140, 200)))
    r = client.post("/api/v1/mask", files={"image": ("s.png", sky)}, data={"mask": "eyes"})
    assert r.status_code == 422 and "no face found" in r.json()["error"]
    r = client.post("/api/v1/mask", files={"image": ("p.jpg", PHOTO)}, data={"box": "0,0,8,8"})
    assert r.status_code == 422 and "touches none of the faces" in r.json()["error"]


def test_too_big_and_no_face(client: TestClient) -> None:
    r = client.post("/api/v1/complete", **form(image=b"\xff\xd8" + b"0" * 2_100_000))
    assert r.status_code == 413 and "limit" in r.json()["error"]
    sky = png(Image.new("RGB", (200, 200), (90, 140, 200)))
    r = client.post("/api/v1/complete", **form(image=sky, iters=2))
    assert r.status_code == 422 and "no face found" in r.json()["error"]
    r = client.post("/api/v1/complete", content=b"{}", headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_detect_finds_the_face(client: TestClient) -> None:
    r = client.post("/api/v1/detect", files={"image": ("p.jpg", PHOTO, "image/jpeg")})
    faces = r.json()["faces"]
    assert r.status_code == 200 and len(faces) == 1 and len(faces[0]["landmarks"]) == 68


def test_job_progress_events_and_result(client: TestClient) -> None:
    r = client.post("/api/v1/jobs", **form(iters=5, samples=2))
    assert r.status_code == 202
    job = r.json()
    with client.stream("GET", job["events_url"]) as events:
        states = [line for line in events.iter_lines() if line.startswith("data:")]
    assert '"status": "done"' in states[-1]
    assert client.get(job["status_url"]).json()["progress"] == 1.0
    second = client.get(job["result_url"], params={"sample": 1})
    assert second.status_code == 200 and second.headers["content-type"] == "image/png"
    assert client.get(job["result_url"], params={"sample": 7}).status_code == 404
    assert client.get("/api/v1/jobs/nope").status_code == 404


def test_queue_full_answers_503_and_jobs_cancel(tiny_model_file: Path) -> None:
    app = create_app(Completer(tiny_model_file), ServeConfig(max_concurrent=1, max_queue=1))
    gate = threading.Event()
    with TestClient(app) as client:
        queue = app.state.queue
        queue.submit(lambda job: gate.wait(10), total=1)  # occupies the only worker
        waiting = client.post("/api/v1/jobs", **form(iters=3)).json()
        r = client.post("/api/v1/jobs", **form(iters=3))
        assert r.status_code == 503 and r.headers["retry-after"] == "10"
        assert client.get("/api/v1/health").json() == {"status": "ok", "running": 1, "waiting": 1}
        assert client.delete(f"/api/v1/jobs/{waiting['id']}").status_code == 200
        gate.set()
        for _ in range(100):
            if client.get(waiting["status_url"]).json()["status"] == "cancelled":
                break
            time.sleep(0.05)
        assert client.get(waiting["status_url"]).json()["status"] == "cancelled"
        assert client.get(waiting["result_url"]).status_code == 409


def test_progress_counts_to_the_masks_own_schedule(tiny_model_file: Path) -> None:
    """A half-face job from the encoder's start searches 10 steps, and its progress says 10, not 100."""
    from ganfill.checkpoint import load_model
    from ganfill.models import Encoder

    model = load_model(tiny_model_file)
    model.encoder = Encoder(16, 8, 4).eval()
    face = np.asarray(Image.open(PHOTO_16).convert("RGB").resize((16, 16)))
    left = np.zeros((16, 16), np.uint8)
    left[:, :8] = 255
    with TestClient(create_app(Completer(model))) as client:
        r = client.post(
            "/api/v1/jobs",
            **form(image=png(Image.fromarray(face)), mask=png(Image.fromarray(left)), align="false"),
        )
        job = r.json()
        with client.stream("GET", job["events_url"]) as events:
            states = [json.loads(line[5:]) for line in events.iter_lines() if line.startswith("data:")]
    assert states[-1]["status"] == "done" and states[-1]["iterations"] == 10
    # The stream sends the latest state when it looks, so a fast job may show no running state.
    assert {s["iterations"] for s in states if s["status"] == "running" and s["iteration"]} <= {10}


def test_bombs_and_masks_that_fill_everything_are_client_errors(client: TestClient) -> None:
    bomb = png_header_only(20_000, 20_000)
    for route in ("/api/v1/complete", "/api/v1/detect"):
        files = (
            form(image=bomb)["files"]
            if route.endswith("complete")
            else {"image": ("b.png", bomb, "image/png")}
        )
        r = client.post(route, files=files)
        assert r.status_code == 413 and "too many pixels" in r.json()["error"], (route, r.text)
    white = png(Image.new("L", (200, 200), 255))
    r = client.post("/api/v1/complete", **form(mask=white))
    assert r.status_code == 422 and "every pixel to fill" in r.json()["error"]


def test_a_chunked_body_over_the_limit_is_refused_unread(client: TestClient) -> None:
    sent = []

    def body():
        for _ in range(100):  # 100 x 100 kB, no content-length: chunked
            sent.append(1)
            yield b"0" * 100_000

    r = client.post(
        "/api/v1/complete", content=body(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 413 and "limit" in r.json()["error"]


def test_a_port_in_use_is_a_one_line_error_before_serving(tiny_model_file: Path, capsys) -> None:
    import socket

    from ganfill.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", str(tiny_model_file), "--port", str(port)]) == 2
    out = capsys.readouterr()
    assert "serving on" not in out.out  # nothing claimed the server was up
    assert (
        out.err.strip()
        == f"ganfill serve: error: 127.0.0.1:{port}: Address already in use (another server there? --port)"
    )
