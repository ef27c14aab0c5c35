"""The server's memory is bounded by design: a large photo is worked on only around its face,
and finished requests keep nothing (each case in its own process, see server_memory_probe.py)."""

import json
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).with_name("server_memory_probe.py")


def probe(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_4800_pixel_photo_stays_under_2_gb(tiny_model_file: Path) -> None:
    # Before the work area was limited to the face, this request peaked at 3.3 GB.
    memory = probe("big", str(tiny_model_file))
    assert memory["peak"] < 2048, memory


def test_sequential_requests_keep_nothing(tiny_model_file: Path) -> None:
    # When finished jobs kept their pictures, each 1024x768 request added about 27 MB.
    memory = probe("sequential", str(tiny_model_file), "25")
    assert memory["after"] - memory["before"] < 40, memory
