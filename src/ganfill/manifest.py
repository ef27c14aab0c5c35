"""Resumable batch jobs: one JSON line per input says what it became (per process while the job
runs, merged at its end), and run.json holds the settings a re-run must share to skip what is
done. Lines cut short by a kill are ignored; the last line about an input wins."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from typing import Any

from ganfill.files import atomic_write

SETTINGS = "run.json"
MERGED = "manifest.jsonl"
LOSSES = "losses.csv"
LOSS_FIELDS = ["image", "iteration", "context", "prior", "total"]


class Manifest:
    """This process's lines (manifest.partR.jsonl), appended as inputs finish or fail."""

    def __init__(self, out: Path, rank: int):
        self.path = out / f"manifest.part{rank}.jsonl"
        self.lock = threading.Lock()

    def record(
        self, source: Path, output: Path | None, mask: str, status: str, seconds: float, error: str | None
    ) -> None:
        """Append one input's line: status "done" once its files are written, or "failed"."""
        entry = {
            "input": str(source),
            "output": None if output is None else str(output),
            "mask": mask,
            "status": status,
            "seconds": round(seconds, 4),
            "error": error,
        }
        with self.lock, self.path.open("a") as f:
            f.write(json.dumps(entry) + "\n")


def entries(out: Path) -> dict[str, dict[str, Any]]:
    """The last line about each input, from the merged manifest and every process's part."""
    found: dict[str, dict[str, Any]] = {}
    for path in [out / MERGED, *sorted(out.glob("manifest.part*.jsonl"))]:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # the last line of a killed process
                continue
            found[entry["input"]] = entry
    return found


def same_settings(out: Path, settings: dict[str, Any]) -> bool:
    """Whether out holds a job run with these settings (a re-run may then skip what it did)."""
    saved = out / SETTINGS
    try:
        return json.loads(saved.read_text()) == json.loads(json.dumps(settings, default=str))
    except (OSError, json.JSONDecodeError):
        return False


def done_before(out: Path, settings: dict[str, Any]) -> set[str]:
    """Inputs a re-run may skip: done under the same settings, with their output still there."""
    if not same_settings(out, settings):
        return set()
    return {
        source
        for source, e in entries(out).items()
        if e["status"] == "done" and e["output"] and Path(e["output"]).exists()
    }


def begin(out: Path, settings: dict[str, Any]) -> None:
    """Record the job's settings; records of a job with other settings are dropped (its outputs
    will be overwritten). Called by one process, after every process has read what was done."""
    if not same_settings(out, settings):
        stale = [out / MERGED, out / LOSSES, *out.glob("manifest.part*.jsonl"), *out.glob("losses.part*.csv")]
        for path in stale:
            path.unlink(missing_ok=True)
    with atomic_write(out / SETTINGS) as tmp:
        Path(tmp).write_text(json.dumps(settings, indent=1, default=str) + "\n")


def merge(out: Path) -> list[dict[str, Any]]:
    """One manifest.jsonl (sorted by input) and one losses.csv from the processes' parts, which
    are then removed; returns the manifest's entries."""
    merged = sorted(entries(out).values(), key=lambda e: e["input"])
    with atomic_write(out / MERGED) as tmp:
        Path(tmp).write_text("".join(json.dumps(e) + "\n" for e in merged))
    parts = sorted(out.glob("losses.part*.csv"))
    new_rows = [row for part in parts for row in _rows(part)]
    redone = {row[0] for row in new_rows}
    old_rows = [row for row in _rows(out / LOSSES) if row[0] not in redone]
    if new_rows or old_rows:
        rows = sorted(old_rows + new_rows, key=lambda r: (r[0], int(r[1])))
        with atomic_write(out / LOSSES) as tmp, open(tmp, "w", newline="") as f:
            csv.writer(f).writerows([LOSS_FIELDS, *rows])
    for part in [*parts, *out.glob("manifest.part*.jsonl")]:
        part.unlink()
    return merged


def _rows(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [row for row in list(csv.reader(f))[1:] if len(row) == 5]  # a cut last row is dropped
