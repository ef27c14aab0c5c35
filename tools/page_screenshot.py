"""A screenshot of the web page with a completed face (for the README), in headless Chromium.

python tools/page_screenshot.py docs/page.png [--model M] [--iters 300]
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from ganfill.completion import DEFAULT_WEIGHTS, Completer
from ganfill.server.app import create_app

PHOTO = Path(__file__).resolve().parents[1] / "examples" / "photos" / "utk_100_1_0_20170112215032192.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--model", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--iters", default="300")
    parser.add_argument("--port", type=int, default=7861)
    args = parser.parse_args()
    server = uvicorn.Server(
        uvicorn.Config(create_app(Completer(args.model)), port=args.port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 900, "height": 1000}, device_scale_factor=1)
        page.goto(f"http://127.0.0.1:{args.port}")
        page.set_input_files("#file", str(PHOTO))
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Found')")
        page.click("[data-preset=mouth]")
        page.fill("#iters", args.iters)
        page.fill("#samples", "4")
        page.click("#complete")
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('Done')", timeout=600_000
        )
        page.locator("#compare").fill("60")
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    server.should_exit = True
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
