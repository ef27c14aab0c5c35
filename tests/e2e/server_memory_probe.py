"""Run by test_server_memory.py in a fresh process: serve a model in-process, send requests, and
print the process's memory as JSON (peak and current resident MB), so one test's allocations
cannot hide another's."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from fastapi.testclient import TestClient
from server_load import body, photo

from ganfill.completion import Completer
from ganfill.config import ServeConfig
from ganfill.server.app import create_app


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    which, model = sys.argv[1], sys.argv[2]
    app = create_app(Completer(model), ServeConfig())
    report: dict[str, object] = {}
    with TestClient(app) as client:

        def send(request: bytes) -> None:
            r = client.post("/api/v1/complete", content=request, headers={"content-type": "application/json"})
            assert r.status_code == 200 and r.content.startswith(b"\x89PNG"), r.text[:200]

        if which == "big":
            image, mask = photo(4800, 4800, 2400)
            report["before"] = rss_mb()
            send(body(image, mask, iters=2))
        else:
            request = body(*photo(1024, 768, 400), iters=2)
            for _ in range(3):
                send(request)
            report["before"] = rss_mb()
            for _ in range(int(sys.argv[3])):
                send(request)
        report["after"] = rss_mb()
    report["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report))


if __name__ == "__main__":
    main()
