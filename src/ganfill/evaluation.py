"""ganfill against classical inpainting: methods x masks -> results.csv, summary, report, grids."""

from __future__ import annotations

import csv
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganfill import masks as mask_kinds
from ganfill import shards
from ganfill.baselines import METHODS
from ganfill.completion import Completer
from ganfill.config import AlignConfig, CompletionConfig, EvalConfig
from ganfill.data import load_folder, read_split
from ganfill.errors import UserError
from ganfill.images import save_png, show_holes, side_by_side
from ganfill.metrics import FaceMetrics, frechet_distance, landmark_error, pixel_metrics
from ganfill.realism import detail_ratio, swd

PIXEL_FIELDS = ["psnr", "psnr_hole", "ssim", "l1_hole", "detail", "detail_gap", "seconds"]
LANDMARK_TOLERANCE = 3.0  # pixels at 64x64, scaled with the image size


class EvalError(UserError):
    """A bad method or mask name; str() lists the valid ones."""


def parse_method(spec: str) -> tuple[str, dict[str, object]]:
    """'ganfill:iters=100:optimizer=momentum' -> ('ganfill', {'iters': 100, 'optimizer': 'momentum'})."""
    name, *pairs = spec.split(":")
    if name != "ganfill" and name not in METHODS:
        raise EvalError(f"unknown method {spec!r}; choose from ganfill, {', '.join(METHODS)}")
    if pairs and name != "ganfill":
        raise EvalError(f"method {name!r} takes no options ({spec!r})")
    fields = {f.name: f.type for f in dataclasses.fields(CompletionConfig)}
    options: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in fields:
            raise EvalError(f"{spec!r}: unknown ganfill option {key!r}; choose from {', '.join(fields)}")
        options[key] = parse_number(value)
    return name, options


def parse_number(value: str) -> object:
    """'3' -> 3, '0.5' -> 0.5, anything else stays the string."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


@dataclass
class Report:
    """Every row of results.csv and the per method x mask summary."""

    rows: list[dict[str, object]] = field(default_factory=list)
    summary: list[dict[str, object]] = field(default_factory=list)


def evaluate(
    data_dir: str | Path,
    out_dir: str | Path,
    completer: Completer,
    eval_config: EvalConfig | None = None,
    *,
    config: CompletionConfig | None = None,
    align: bool = False,
    progress: Callable[[str], None] = print,
) -> Report:
    """Complete the same seeded masks with every method; score, and write the report files.

    align: data_dir holds raw photos, aligned first into out_dir/aligned at the model's size.
    """
    ev = eval_config or EvalConfig()
    for m in ev.masks:
        if m not in mask_kinds.KINDS:
            raise EvalError(f"unknown mask {m!r}; choose from {', '.join(mask_kinds.KINDS)}")
    parsed = {spec: parse_method(spec) for spec in ev.methods}
    _require_extra()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if align:
        from ganfill.alignment import align_folder

        align_folder(data_dir, out / "aligned", AlignConfig(size=completer.size), progress=False)
        data_dir = out / "aligned"
    data = load_folder(
        data_dir, completer.size, only=read_split(ev.split) if ev.split else None, limit=ev.limit
    )
    shard = shards.join(completer.device)  # under torchrun: ganfill's searches are split
    lead = shard.rank == 0  # the process that scores and writes
    scorer = _Scorer(data.images.permute(0, 2, 3, 1).numpy(), data.names, ev.face_metrics and lead)
    report = Report()
    for mask in ev.masks:
        known = mask_kinds.make(mask, len(data), completer.size, seed=ev.seed)
        shown = {"original": scorer.originals[:8], "masked": show_holes(scorer.originals[:8], known[:8])}
        for spec, (name, options) in parsed.items():
            start = time.perf_counter()
            results = _run_method(name, options, completer, scorer.originals, known, mask, config, ev.seed)
            if not lead:
                continue
            if results is None:
                progress(f"{spec} does not apply to the {mask} mask; skipped")
                continue
            seconds = (time.perf_counter() - start) / len(data)
            shown[spec] = results[:8]
            rows, fd = scorer.score(results, known, spec, mask, seconds)
            report.rows += rows
            realism = dict(
                zip(("swd", "swd_floor"), swd(results, scorer.originals, known, seed=ev.seed), strict=True)
            )
            report.summary.append(_summarise(spec, mask, report.rows, fd) | realism)
            progress(_line(report.summary[-1]))
        if lead:
            _write_grid(out / f"grid_{mask}.png", shown)
    if lead:
        write_report(out, report)
    return report


def _require_extra() -> None:
    """Fail before any work when the eval extra is missing."""
    try:
        import matplotlib  # noqa: F401
        import skimage  # noqa: F401
    except ImportError as exc:
        raise EvalError(f"ganfill eval needs {exc.name}: pip install 'ganfill[eval]'") from None


class _Scorer:
    """Per-face metrics of completions against the originals (face views computed once)."""

    def __init__(self, originals: np.ndarray, names: list[str], face_metrics: bool):
        self.originals, self.names = originals, names  # [N, S, S, 3] uint8
        self.faces = FaceMetrics() if face_metrics else None
        self.views = [self.faces.view(im) for im in originals] if self.faces else []
        self.embeddings = np.stack([v.embedding for v, _ in self.views]) if self.faces else None

    def score(
        self, results: np.ndarray, known: np.ndarray, spec: str, mask: str, seconds: float
    ) -> tuple[list[dict[str, object]], float | None]:
        """One row per face, and FD-face of the set (None without face metrics)."""
        rows, embeddings = [], []
        size = self.originals.shape[1]
        for i, name in enumerate(self.names):
            row: dict[str, object] = {"image": name, "method": spec, "mask": mask}
            row |= pixel_metrics(self.originals[i], results[i], known[i])
            ratio = detail_ratio(results[i], self.originals[i], known[i])
            row |= {"detail": ratio, "detail_gap": abs(ratio - 1), "seconds": seconds}
            if self.faces:
                ref, shape = self.views[i]
                view, _ = self.faces.view(results[i], reference_shape=shape)
                embeddings.append(view.embedding)
                row["identity"] = float(np.linalg.norm(view.embedding - ref.embedding))
                ok = landmark_error(ref.landmarks, view.landmarks) < LANDMARK_TOLERANCE * size / 64
                row["landmarks_ok"] = "" if ref.landmarks is None else int(ok)
            rows.append(row)
        fd = frechet_distance(np.stack(embeddings), self.embeddings) if self.faces else None
        return rows, fd


def _run_method(name, options, completer, originals, known, mask, config, seed) -> np.ndarray | None:
    if name == "ganfill":  # each process searches its shard; every process gets all results
        shard = shards.Shard.from_env()
        mine = shard.take(list(range(len(originals))))
        lowres = mask == "lowres"
        done = completer.complete(
            originals[mine], known[mine], config, lowres=lowres, seed=seed, image_ids=mine, **options
        )
        return shards.gather(shard, mine, done.images, len(originals))
    factor = (config or CompletionConfig()).lowres_factor
    outs = [METHODS[name](im, k, factor) for im, k in zip(originals, known, strict=True)]
    return None if any(o is None for o in outs) else np.stack(outs)


def _ci(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the normal 95% interval of the mean (inf values left out)."""
    v = np.asarray([x for x in values if math.isfinite(x)], np.float64)
    if len(v) == 0:
        return float("nan"), float("nan")
    half = 1.96 * v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
    return float(v.mean()), float(half)


def _summarise(spec: str, mask: str, rows: list[dict], fd: float | None) -> dict[str, object]:
    mine = [r for r in rows if r["method"] == spec and r["mask"] == mask]
    out: dict[str, object] = {"method": spec, "mask": mask, "n": len(mine)}
    for key in PIXEL_FIELDS + (["identity"] if fd is not None else []):
        mean, half = _ci([float(r[key]) for r in mine])
        out[key], out[f"{key}_ci95"] = round(mean, 4), round(half, 4)
    if fd is not None:
        found = [int(r["landmarks_ok"]) for r in mine if r["landmarks_ok"] != ""]
        out["landmarks_ok"] = round(float(np.mean(found)), 4) if found else float("nan")
        out["fd_face"] = round(fd, 5)
    return out


def _line(s: dict[str, object]) -> str:
    face = f"  identity {s['identity']:.3f}  FD-face {s['fd_face']:.4f}" if "fd_face" in s else ""
    return (
        f"{s['mask']:>8} {s['method']:<12} PSNR {s['psnr']:6.2f} dB  hole {s['psnr_hole']:6.2f} dB  "
        f"SSIM {s['ssim']:.3f}  L1 {s['l1_hole']:6.2f}  detail {s['detail']:.2f}  "
        f"SWD {s['swd']:.0f} (floor {s['swd_floor']:.0f}){face}  {s['seconds']:.3f} s/img"
    )


def _write_grid(path: Path, shown: dict[str, np.ndarray]) -> None:
    """Rows = images; columns = original | masked | each method."""
    save_png(side_by_side(list(shown.values())), path)


def write_report(out: Path, report: Report) -> None:
    """results.csv, summary.csv, report.md (with paired differences) and psnr_hole.png in out."""
    if not report.rows:
        return
    fields = list(dict.fromkeys(k for r in report.rows for k in r))
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows(report.rows)
    sfields = list(dict.fromkeys(k for r in report.summary for k in r))
    with (out / "summary.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, sfields)
        w.writeheader()
        w.writerows(report.summary)
    text = markdown_table(report.summary)
    reference = str(report.rows[0]["method"])
    keys = ["psnr_hole", "ssim", "detail_gap"] + (["identity"] if "identity" in report.rows[0] else [])
    diffs = paired_differences(report.rows, reference, keys)
    if diffs:
        text += "\n" + paired_table(diffs, reference)
    (out / "report.md").write_text(text)
    _bar_chart(out / "psnr_hole.png", report.summary)


def markdown_table(summary: list[dict[str, object]]) -> str:
    """The summary as a Markdown table: mean ± 95% interval per method x mask."""
    face = any("fd_face" in s for s in summary)
    head = "| mask | method | PSNR dB | hole PSNR dB | SSIM | hole L1 | detail | detail gap | SWD (floor) |"
    head += " s/img |"
    head += " identity dist | FD-face | landmarks ok |" if face else ""
    lines = [
        "# ganfill eval",
        "",
        f"{summary[0]['n']} images per row; ± is the 95% interval of the mean. detail: the fill's fine "
        "detail over the true face's (1 = as sharp; gap = mean |detail - 1|); SWD x1e3 of 7x7 Laplacian-"
        "pyramid patches in the holes against the truth, with the real-against-real floor.",
        "",
    ]
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for s in summary:
        cells = [str(s["mask"]), str(s["method"])]
        for key in ("psnr", "psnr_hole", "ssim", "l1_hole", "detail", "detail_gap"):
            cells.append(f"{float(s[key]):.3f} ± {float(s[key + '_ci95']):.3f}")
        cells.append(f"{float(s['swd']):.1f} ({float(s['swd_floor']):.1f})")
        cells.append(f"{float(s['seconds']):.3f}")
        if face:
            cells += [
                f"{s['identity']:.3f} ± {s['identity_ci95']:.3f}",
                f"{s['fd_face']:.4f}",
                f"{s['landmarks_ok']:.2f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paired_differences(
    rows: list[dict[str, object]], reference: str, keys: Sequence[str]
) -> list[dict[str, object]]:
    """reference minus each other method on the same images, per mask: mean and 95% interval.

    Paired differences cancel how hard each face is, so they separate methods whose separate
    intervals overlap; an interval that excludes 0 is a difference the data can tell apart.
    """
    table: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    for r in rows:
        table.setdefault((str(r["mask"]), str(r["method"])), {})[str(r["image"])] = r
    out = []
    for (mask, method), mine in table.items():
        ref = table.get((mask, reference))
        if method == reference or ref is None:
            continue
        names = [n for n in ref if n in mine]
        row: dict[str, object] = {"mask": mask, "method": method, "n": len(names)}
        for key in keys:
            d = [float(ref[n][key]) - float(mine[n][key]) for n in names]
            row[key], row[f"{key}_ci95"] = _ci(d)
        out.append(row)
    return out


def paired_table(diffs: list[dict[str, object]], reference: str) -> str:
    """Paired differences as Markdown, with which side each interval favours."""
    keys = [k for k in ("psnr_hole", "ssim", "detail_gap", "identity") if k in diffs[0]]
    lower_better = {"identity", "detail_gap"}
    lines = [
        f"## {reference} minus each method, on the same images",
        "",
        "Mean and 95% interval of the paired difference; the verdict says whether the interval "
        f"excludes 0 ({reference} better or worse) or not (tie). Lower identity distance and detail gap "
        "are better.",
        "",
        "| mask | method | n | " + " | ".join(f"{k} diff | {k}" for k in keys) + " |",
        "|" + "---|" * (3 + 2 * len(keys)),
    ]
    for d in diffs:
        cells = [str(d["mask"]), str(d["method"]), str(d["n"])]
        for k in keys:
            mean, half = float(d[k]), float(d[f"{k}_ci95"])
            lo, hi = (-mean - half, -mean + half) if k in lower_better else (mean - half, mean + half)
            verdict = "better" if lo > 0 else "worse" if hi < 0 else "tie"
            cells += [f"{mean:+.4f} ± {half:.4f}", verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _bar_chart(path: Path, summary: list[dict[str, object]]) -> None:
    """Hole PSNR per method, grouped by mask, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    masks = list(dict.fromkeys(str(s["mask"]) for s in summary))
    methods = list(dict.fromkeys(str(s["method"]) for s in summary))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(masks), 3.4), dpi=100)
    for j, method in enumerate(methods):
        xs, ys, es = [], [], []
        for i, mask in enumerate(masks):
            for s in summary:
                if s["mask"] == mask and s["method"] == method:
                    xs.append(i + j * width)
                    ys.append(s["psnr_hole"])
                    es.append(s["psnr_hole_ci95"])
        ax.bar(xs, ys, width, yerr=es, label=method)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(masks))], masks)
    ax.set_ylabel("PSNR in the hole (dB)")
    ax.legend(fontsize=7, ncols=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
