"""The HTTP server under load, on loopback: latency, refusals and the server's memory.

Starts `ganfill serve` (the bundled model unless --model) in a subprocess and sends, one after
the other: M sequential completions of a 1024x768 photo (memory before and after), N concurrent
ones (latency percentiles, share answered 503), a 300 MB chunked upload (the answer, and how
much was sent before it), and one completion of a large photo (its time and the server's peak
memory during it). The photos are an example face scaled into a canvas.

    python benchmarks/server_load.py [--sequential 100] [--concurrent 8] [--big 4800] [--model M]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from machine import describe_machine
from PIL import Image

FACE = Path(__file__).resolve().parents[1] / "examples" / "photos" / "utk_100_1_0_20170112215032192.jpg"


def photo(width: int, height: int, face_px: int) -> tuple[bytes, bytes]:
    """A JPEG of a face_px face on a grey canvas, and a PNG mask over its mouth (white = fill)."""
    face = Image.open(FACE).convert("RGB").resize((face_px, face_px), Image.BICUBIC)
    canvas = Image.new("RGB", (width, height), (120, 120, 120))
    x, y = (width - face_px) // 2, (height - face_px) // 2
    canvas.paste(face, (x, y))
    mask = np.zeros((height, width), np.uint8)
    s = face_px / 200  # the mouth of the 200 px example face: x 70..130, y 100..140
    mask[y + int(100 * s) : y + int(140 * s), x + int(70 * s) : x + int(130 * s)] = 255
    jpeg, png = io.BytesIO(), io.BytesIO()
    canvas.save(jpeg, format="JPEG", quality=90)
    Image.fromarray(mask).save(png, format="PNG")
    return jpeg.getvalue(), png.getvalue()


def body(image: bytes, mask: bytes, **options: object) -> bytes:
    """A JSON completion request asking for the best completion as PNG."""
    b64 = base64.b64encode
    data = {"image": b64(image).decode(), "mask": b64(mask).decode(), "format": "png", **options}
    return json.dumps(data).encode()


def post(url: str, data: bytes) -> tuple[int, float]:
    """HTTP status and seconds of one completion request."""
    start = time.perf_counter()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - start


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now and its peak (VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def reset_peak(pid: int) -> None:
    """Restart the kernel's peak-RSS count of the process (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def start_server(model: str | None, concurrent: int, queue: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "ganfill", "serve", "--port", str(port)]
    cmd += ["--max-concurrent", str(concurrent), "--max-queue", str(queue)]
    cmd += ["--model", model] if model else []
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/api/v1/health", timeout=1).read()
            return server, base
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def chunked_upload(base: str, megabytes: int) -> tuple[int | str, float]:
    """Send a chunked body of `megabytes` MB (no length announced) as fast as the server takes
    it; the HTTP status (or how the connection ended) and the MB sent before the answer."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(megabytes):
            sent += 2**20
            yield b"0" * 2**20

    headers = {"Content-Type": "multipart/form-data; boundary=x", "Transfer-Encoding": "chunked"}
    try:
        conn.request("POST", "/api/v1/complete", body=chunks(), headers=headers, encode_chunked=True)
        status: int | str = conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError) as exc:
        try:
            status = f"{conn.getresponse().status} ({type(exc).__name__} while sending)"
        except (OSError, http.client.HTTPException):
            status = type(exc).__name__
    finally:
        conn.close()
    return status, sent / 2**20


def percentiles(seconds: list[float]) -> str:
    p50, p95 = np.percentile(seconds, [50, 95])
    return f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(seconds):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=8)
    parser.add_argument("--big", type=int, default=4800, help="side of the large photo (0: skip)")
    parser.add_argument("--chunked-mb", type=int, default=300, help="size of the chunked upload")
    parser.add_argument("--max-queue", type=int, default=4, help="the server's --max-queue")
    parser.add_argument("--model")
    args = parser.parse_args()
    print(describe_machine())
    server, base = start_server(args.model, 1, args.max_queue)
    url = base + "/api/v1/complete"
    try:
        small = body(*photo(1024, 768, 400))
        post(url, small)  # warm-up: dlib and the model's first passes
        before = memory_mb(server.pid)
        seq = [post(url, small) for _ in range(args.sequential)]
        after = memory_mb(server.pid)
        print(
            f"{args.sequential} sequential 1024x768 requests: {percentiles([s for _, s in seq])}; "
            f"statuses {sorted({c for c, _ in seq})}; RSS {before['VmRSS']:.0f} -> {after['VmRSS']:.0f} MB "
            f"({after['VmRSS'] - before['VmRSS']:+.0f} MB)"
        )
        with ThreadPoolExecutor(args.concurrent) as pool:
            con = list(pool.map(lambda _: post(url, small), range(args.concurrent)))
        served = [s for c, s in con if c == 200]
        refused = sum(c == 503 for c, _ in con)
        print(
            f"{args.concurrent} concurrent requests (max-queue {args.max_queue}): served {len(served)} "
            f"({percentiles(served) if served else '-'}), 503 {refused / len(con):.0%}, "
            f"other {len(con) - len(served) - refused}"
        )
        reset_peak(server.pid)
        status, sent = chunked_upload(base, args.chunked_mb)
        mem = memory_mb(server.pid)
        print(
            f"{args.chunked_mb} MB chunked upload: {status} after {sent:.0f} MB sent "
            f"(socket buffers included); server peak RSS {mem['VmHWM']:.0f} MB"
        )
        if args.big:
            image, mask = photo(args.big, args.big, args.big // 2)
            reset_peak(server.pid)
            status, seconds = post(url, body(image, mask))
            mem = memory_mb(server.pid)
            print(
                f"{args.big}x{args.big} JPEG ({len(image) / 1e6:.1f} MB, face {args.big // 2} px): "
                f"HTTP {status} in {seconds:.1f} s; server peak RSS {mem['VmHWM']:.0f} MB, "
                f"after {mem['VmRSS']:.0f} MB"
            )
        end = memory_mb(server.pid)
        print(f"server RSS at the end {end['VmRSS']:.0f} MB, peak {end['VmHWM']:.0f} MB")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
