"""Merge `ganfill eval` folders run over the same faces into one report (table, paired differences, chart).

An evaluation of every mask and method takes about an hour on a 2-core CPU; split into runs
(masks, or methods, apart) it merges back here, ganfill's rows first.

python tools/merge_reports.py OUT EVAL_DIR [EVAL_DIR ...]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from ganfill.evaluation import Report, parse_number, write_report


def read(folder: Path, name: str) -> list[dict[str, object]]:
    """One CSV of an eval folder, numbers parsed."""
    with (folder / name).open() as f:
        rows = csv.DictReader(f)
        return [
            {k: v if k in ("image", "method", "mask") else parse_number(v) for k, v in r.items()}
            for r in rows
        ]


def main(out: str, folders: list[str]) -> None:
    report = Report()
    for folder in map(Path, folders):
        report.rows += read(folder, "results.csv")
        report.summary += read(folder, "summary.csv")
    not_ganfill = lambda r: not str(r["method"]).startswith("ganfill")  # noqa: E731
    report.rows.sort(key=not_ganfill)  # the paired table's reference is the first row's method
    masks = list(dict.fromkeys(str(s["mask"]) for s in report.summary))
    report.summary.sort(key=lambda s: (masks.index(str(s["mask"])), not_ganfill(s)))
    Path(out).mkdir(parents=True, exist_ok=True)
    write_report(Path(out), report)
    print(f"report in {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
