"""The page in real headless Chromium: upload, paint, complete, see the result, download."""

import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from PIL import Image

from ganfill.completion import Completer
from ganfill.server.app import create_app

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "examples" / "photos" / "utk_100_1_0_20170112215032192.jpg"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


SEEN: list = []  # the CompletionConfig of each completion the page asked for


@pytest.fixture
def server(tiny_model_file: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    completer = Completer(tiny_model_file)
    run = completer.complete_photo

    def spied(photo, known, config, **kwargs):  # what the page asked for reaches the search
        SEEN.append(config)
        return run(photo, known, config, **kwargs)

    completer.complete_photo = spied
    config = uvicorn.Config(create_app(completer), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


@pytest.mark.parametrize("viewport", [{"width": 1100, "height": 900}, {"width": 390, "height": 844}])
def test_upload_paint_complete_download(server: str, tmp_path: Path, viewport: dict) -> None:
    assert CHROMIUM, "Chromium is missing: `make test` installs it (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=viewport, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server)
        portrait = tmp_path / "portrait.jpg"  # the 200 px face chip in a 640x480 photo
        canvas = Image.new("RGB", (640, 480), (150, 160, 170))
        canvas.paste(Image.open(PHOTO), (220, 140))
        canvas.save(portrait, quality=95)
        page.set_input_files("#file", str(portrait))
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Found 1 face')")
        check_zoom_and_pan(page, portrait)
        page.keyboard.press("0")  # fit the whole photo to paint
        box = page.locator("#mask").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.6)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.62, steps=8)
        page.mouse.up()
        page.fill("#iters", "4")
        page.fill("#samples", "2")
        page.fill("#dilate", "3")
        page.fill("#grain", "0.5")
        page.click("#complete")
        page.wait_for_function(
            "(s => s.textContent.startsWith('Done') || s.className === 'error')"
            "(document.getElementById('status'))",
            timeout=60_000,
        )
        assert not errors, errors
        assert (SEEN[-1].dilate, SEEN[-1].grain) == (3, 0.5)  # the page's Grow and Grain reached the search
        status = page.locator("#status").text_content()
        assert status.startswith("Done"), status
        assert page.locator("#alternatives img").count() == 2
        assert page.locator("#result").is_visible()
        page.keyboard.press("1")  # compare before and after at 100% on the face
        assert page.locator("#zoom").text_content() == "100%" and page.locator("#result").is_visible()
        page.locator("#compare").fill("0")
        page.locator("#alternatives img").nth(1).click()
        with page.expect_download() as download:
            page.click("#download")
        saved = tmp_path / "done.png"
        download.value.save_as(saved)
        if viewport["width"] > 1000:
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        browser.close()
    done = Image.open(saved)
    assert done.size == (640, 480) and done.format == "PNG"


ZOOM = "Number(document.getElementById('zoom').textContent.replace('%', ''))"
FACE_OFFSET = """(() => {  // the found face's centre, from the view's centre, in CSS pixels
  const face = document.querySelector('#mask'), view = document.querySelector('#viewport');
  const m = face.getBoundingClientRect(), v = view.getBoundingClientRect();
  const x = m.left + m.width * FACE[0], y = m.top + m.height * FACE[1];
  return [x - (v.left + v.width / 2), y - (v.top + v.height / 2)];
})()"""


def check_zoom_and_pan(page, photo: Path) -> None:
    """The page opens zoomed on the face it found; keys, wheel and the Move tool zoom and pan."""
    from ganfill.alignment import FaceAligner

    rgb = np.asarray(Image.open(photo).convert("RGB"))
    left, top, right, bottom = FaceAligner(16).detect(rgb)[0].box
    centre = [(left + right) / 2 / rgb.shape[1], (top + bottom) / 2 / rgb.shape[0]]
    opened = page.evaluate(ZOOM)
    dx, dy = page.evaluate(FACE_OFFSET.replace("FACE", str(centre)))
    page.keyboard.press("0")
    fitted = page.evaluate(ZOOM)
    assert opened > 1.5 * fitted, (opened, fitted)  # it opened zoomed in on the face...
    assert abs(dx) < 20 and abs(dy) < 20, (dx, dy)  # ...with the face in the middle
    page.keyboard.press("1")
    assert page.locator("#zoom").text_content() == "100%"
    page.keyboard.press("0")
    view = page.locator("#viewport").bounding_box()
    page.mouse.move(view["x"] + view["width"] / 2, view["y"] + view["height"] / 2)
    page.mouse.wheel(0, -400)
    assert page.evaluate(ZOOM) > fitted  # the wheel zooms in
    before = page.locator("#stage").get_attribute("style")
    page.keyboard.press("m")  # the Move tool: dragging pans instead of painting
    page.mouse.down()
    page.mouse.move(view["x"] + view["width"] / 2 + 40, view["y"] + view["height"] / 2 + 30, steps=4)
    page.mouse.up()
    assert page.locator("#stage").get_attribute("style") != before
    page.click('[data-tool="brush"]')


PAINTED = """(([x, y]) => {  // is the mask painted (white) at photo pixel x, y?
  const c = document.getElementById('mask');
  return c.getContext('2d').getImageData(Math.round(x), Math.round(y), 1, 1).data[3] > 0;
})"""


MASK_ALPHA = """(() => {  // the mask's painted pixels, row by row
  const c = document.getElementById('mask');
  const a = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return Array.from({ length: a.length / 4 }, (_, i) => a[4 * i + 3] > 0);
})"""


def test_a_preset_masks_every_face_found(server: str, tiny_model_file: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    face = np.asarray(Image.open(PHOTO))
    group = tmp_path / "group.png"  # two people side by side
    Image.fromarray(np.concatenate([face, face[:, ::-1]], 1)).save(group)
    completer = Completer(tiny_model_file)
    found = completer.aligner().detect(np.asarray(Image.open(group)))
    cli = completer.known_mask(group, "eyes") < 0.5  # what `complete --align --mask eyes` fills
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        asked = []  # the mask requests: one per preset and photo
        page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/v1/mask") else None)
        page.goto(server)
        page.set_input_files("#file", str(group))
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Found 2 face')")
        eye = found[0].landmarks[36:48].mean(0).tolist()
        page.click("[data-preset=eyes]")
        page.wait_for_function(PAINTED, arg=eye)
        page.click("#clear")
        assert not page.evaluate(PAINTED, eye)
        page.click("[data-preset=eyes]")  # again: drawn from the page's copy
        page.wait_for_function(PAINTED, arg=eye)
        assert len(asked) == 1
        eyes = [page.evaluate(PAINTED, f.landmarks[36:48].mean(0).tolist()) for f in found]
        mouths = [page.evaluate(PAINTED, f.landmarks[48:68].mean(0).tolist()) for f in found]
        painted = page.evaluate(MASK_ALPHA)
        sky = tmp_path / "sky.png"  # no face: the preset says why, in the status line
        Image.new("RGB", (120, 120), (90, 140, 200)).save(sky)
        page.set_input_files("#file", str(sky))
        page.wait_for_function("document.getElementById('status').textContent.startsWith('No face found')")
        page.click("[data-preset=eyes]")
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('no face found in the photo')"
        )
        browser.close()
    assert np.array_equal(np.array(painted, bool).reshape(cli.shape), cli)
    assert eyes == [True, True] and mouths == [False, False]
