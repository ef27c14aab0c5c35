"""The `ganfill` command line: one short function per verb over the Python API.

Every option is a field of a typed config (config.py); cli_args generates the flags from them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ganfill.cli_args import OUT, SWITCH, Verb, add_config, build
from ganfill.cli_training import TRAINING_VERBS
from ganfill.config import (
    AlignConfig,
    CompletionConfig,
    EvalConfig,
    MaskConfig,
    ModelEvalConfig,
    ModelSource,
    OutputConfig,
    RunConfig,
    ServeConfig,
)
from ganfill.errors import UserError, warnings_as_lines
from ganfill.progress import search_bar


def _completer(args: argparse.Namespace):
    from ganfill.completion import Completer

    return Completer.load(build(ModelSource, args))


def cmd_align(args: argparse.Namespace) -> int:
    """Align the faces of a folder of photos to the model's frame."""
    from ganfill.alignment import align_folder

    summary = align_folder(args.src, args.dst, build(AlignConfig, args), progress=not args.no_progress)
    print(f"{summary}; report in {Path(args.dst) / 'align_report.csv'}")
    return 0


def cmd_complete(args: argparse.Namespace) -> int:
    """Complete masked images (or faces inside photos with --align)."""
    from ganfill.batch import complete_files

    rank = os.environ.get("RANK", "")  # set by torchrun: one bar per job (rank 0's), ranks named

    def progress(batch: int, count: int, steps: int) -> Callable[[int, float], None]:
        on_plan, on_step = search_bar(
            f"batch {batch + 1}/{count}", disable=args.no_progress or rank not in ("", "0")
        )
        on_plan(steps)
        return on_step

    report = complete_files(
        args.images,
        args.out,
        _completer(args),
        build(CompletionConfig, args),
        mask=build(MaskConfig, args),
        run=build(RunConfig, args),
        output=build(OutputConfig, args),
        progress=progress,
    )
    what = "photo(s)" if args.align else "image(s)"
    done = f"completed {len(report.completed)} {what} in {report.seconds:.1f} s into {args.out}"
    print(f"{rank and f'rank {rank}: '}{done}; {len(report.failed)} failed, {report.skipped} done before")
    return 1 if report.failed and not rank else 0  # under torchrun a rank's 1 reads as its crash


def cmd_eval(args: argparse.Namespace) -> int:
    """Compare ganfill with classical inpainting on the same masked faces."""
    from ganfill.evaluation import evaluate, markdown_table

    report = evaluate(
        args.data_dir,
        args.out,
        _completer(args),
        build(EvalConfig, args),
        config=build(CompletionConfig, args),
        align=args.align,
        progress=lambda line: print(line, file=sys.stderr),
    )
    if report.summary:  # under torchrun only the first process scores and reports
        print(f"{markdown_table(report.summary)}\nreport in {args.out}")
    return 0


def cmd_eval_model(args: argparse.Namespace) -> int:
    """Score generators against held-out faces (SWD, FD-face, precision, recall, detail)."""
    from ganfill.model_eval import evaluate_models, markdown

    print(markdown(evaluate_models(args.models, args.data, build(ModelEvalConfig, args), out=args.out)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Complete the bundled example faces and write a grid and a GIF."""
    from ganfill.demo import run_demo

    start = time.perf_counter()
    on_plan, on_step = search_bar("searching", disable=args.no_progress)
    result = run_demo(
        args.images, args.out, _completer(args), iters=args.iters, on_step=on_step, on_plan=on_plan
    )
    print(f"demo done in {time.perf_counter() - start:.0f} s:")
    print(f"  {result.grid}  (rows: original | centre hole | completed | 80% missing | completed)")
    print(f"  {result.gif}  (the search as it goes)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web page and HTTP API."""
    from ganfill.server.app import serve

    serve(_completer(args), build(ServeConfig, args))
    return 0


# Each verb: see cli_args.Verb; the training verbs live in cli_training.
VERBS: dict[str, Verb] = {
    **TRAINING_VERBS,
    "align": (
        cmd_align,
        "detect, landmark and warp every face photo under SRC into flat PNGs in DST",
        [("src", {"help": "folder of photos"}), ("dst", {"help": "output folder (with align_report.csv)"})],
        [],
        [AlignConfig],
    ),
    "complete": (
        cmd_complete,
        "fill the holes of face images by searching the generator's latent space "
        "(mask files: WHITE = TO FILL, black = keep)",
        [
            (
                "images",
                {"nargs": "+", "help": "files and/or folders of aligned faces (or photos with --align)"},
            )
        ],
        [OUT],
        [ModelSource, MaskConfig, RunConfig, CompletionConfig, OutputConfig],
    ),
    "eval": (
        cmd_eval,
        "score ganfill against classical inpainting (pixel, face and realism metrics)",
        [("data_dir", {"help": "aligned faces at the model's size (or raw photos with --align)"})],
        [OUT, ("--align", SWITCH | {"help": "align DATA_DIR's raw photos first"})],
        [ModelSource, EvalConfig, CompletionConfig],
    ),
    "eval-model": (
        cmd_eval_model,
        "score generators alone against held-out faces: SWD, FD-face, precision, recall, detail",
        [("models", {"nargs": "+", "help": "model files or run folders"})],
        [
            ("--data", {"required": True, "help": "aligned real faces (the held-out split is taken)"}),
            ("--out", {"help": "append each score as a JSON line to this file"}),
        ],
        [ModelEvalConfig],
    ),
    "demo": (
        cmd_demo,
        "complete the bundled example faces (what `make demo` runs)",
        [],
        [("--images", {"default": "examples/faces"}), ("--out", {"default": "out/demo"})],
        [ModelSource],
    ),
    "serve": (cmd_serve, "the web page and HTTP API (FastAPI + uvicorn)", [], [], [ModelSource, ServeConfig]),
}


NUMBER_LIST = re.compile(r"-\d[\d.]*(,-?[\d.]+)+")
"""A value such as --box's x,y,w,h that starts with a minus sign (a box reaching past the photo's
left or top edge): argparse takes it for an option ("expected one argument") unless joined."""


class _Parser(argparse.ArgumentParser):
    """argparse, with `--flag -5,10,60,40` read as `--flag=-5,10,60,40`."""

    def parse_known_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        joined: list[str] = []
        for arg in sys.argv[1:] if args is None else args:
            flag = joined[-1] if joined else ""
            if flag.startswith("--") and "=" not in flag and NUMBER_LIST.fullmatch(arg):
                joined[-1] = f"{flag}={arg}"
            else:
                joined.append(arg)
        return super().parse_known_args(joined, namespace)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb, generated from VERBS and the configs."""
    parser = _Parser(
        prog="ganfill", description="Semantic image completion with deep generative models (Yeh et al. 2017)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (handler, text, positionals, flags, configs) in VERBS.items():
        p = sub.add_parser(name, help=text, description=text)
        for arg, options in positionals:
            p.add_argument(arg, **options)
        for flag, options in flags:
            p.add_argument(flag, **options)
        for config in configs:
            add_config(p, config, given_only=name == "train")
        if name == "demo":
            add_config(p, CompletionConfig, only=("iters",))
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
        p.set_defaults(func=handler)
    return parser


def _one_line(exc: Exception) -> str:
    """An error as one line that names its file first ("a.txt: No such file or directory", not
    "[Errno 2] No such file or directory: 'a.txt'")."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one verb; user errors become one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        with warnings_as_lines(f"ganfill {args.command}"):
            return args.func(args)
    except (UserError, OSError) as exc:
        print(f"ganfill {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ganfill {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
