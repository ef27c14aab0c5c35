"""The page in real headless Chromium: upload, paint, complete, see the result, download."""

import shutil
import socket
import threading
import time
from pathlib import Path

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
        page.set_input_files("#file", str(PHOTO))
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Found 1 face')")
        box = page.locator("#mask").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.6)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.62, steps=8)
        page.mouse.up()
        page.fill("#iters", "4")
        page.fill("#samples", "2")
        page.fill("#dilate", "3")
        page.click("#complete")
        page.wait_for_function(
            "(s => s.textContent.startsWith('Done') || s.className === 'error')"
            "(document.getElementById('status'))",
            timeout=60_000,
        )
        assert not errors, errors
        assert SEEN[-1].dilate == 3  # the page's Grow setting reached the search
        status = page.locator("#status").text_content()
        assert status.startswith("Done"), status
        assert page.locator("#alternatives img").count() == 2
        assert page.locator("#result").is_visible()
        page.locator("#alternatives img").nth(1).click()
        with page.expect_download() as download:
            page.click("#download")
        saved = tmp_path / "done.png"
        download.value.save_as(saved)
        if viewport["width"] > 1000:
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        browser.close()
    done = Image.open(saved)
    assert done.size == Image.open(PHOTO).size and done.format == "PNG"
