"""Resumable batch jobs: one JSON line per input says what it became (per process while the job
runs, merged at its end), and run.json holds the settings a re-run must share to skip what is
done. Lines cut short by a kill are ignored; the last line about an input wins."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
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
        try:
            text = path.read_text()
        except FileNotFoundError:  # not written yet, or a part merged away while we looked
            continue
        for line in text.splitlines():
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
    """Record the job's settings. The parts a killed job with the same settings left are merged
    first (so this job's parts hold only its own work); records of a job with other settings are
    dropped (its outputs will be overwritten). Called by one process, after every process has
    read what was done."""
    if same_settings(out, settings):
        merge(out)
    else:
        stale = [out / MERGED, out / LOSSES, *out.glob("manifest.part*.jsonl"), *out.glob("losses.part*.csv")]
        for path in stale:
            path.unlink(missing_ok=True)
    with atomic_write(out / SETTINGS) as tmp:
        Path(tmp).write_text(json.dumps(settings, indent=1, default=str) + "\n")


def merge(out: Path) -> list[dict[str, Any]]:
    """One manifest.jsonl (sorted by input) and one losses.csv from the processes' parts, which
    are then removed; returns the manifest's entries. The losses are streamed (a million faces'
    histories do not fit in memory): earlier rows of images done again are dropped."""
    merged = sorted(entries(out).values(), key=lambda e: e["input"])
    with atomic_write(out / MERGED) as tmp:
        Path(tmp).write_text("".join(json.dumps(e) + "\n" for e in merged))
    parts = sorted(out.glob("losses.part*.csv"))
    redone = {row[0] for part in parts for row in _rows(part)}
    sources = [out / LOSSES, *parts] if (out / LOSSES).exists() else parts
    if sources:
        with atomic_write(out / LOSSES) as tmp, open(tmp, "w", newline="") as f:
            rows = csv.writer(f)
            rows.writerow(LOSS_FIELDS)
            rows.writerows(row for row in _rows(out / LOSSES) if row[0] not in redone)
            for part in parts:
                rows.writerows(_rows(part))
    for part in [*parts, *out.glob("manifest.part*.jsonl")]:
        part.unlink()
    return merged


def _rows(path: Path) -> Iterator[list[str]]:
    """The data rows of a losses file, one at a time (a row cut short by a kill is dropped)."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        yield from (row for row in reader if len(row) == 5)
