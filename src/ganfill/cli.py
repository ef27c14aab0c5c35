"""The `ganfill` command line: one function per verb, each a thin layer over the Python API."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from ganfill.checkpoint import ModelFileError, export, load_model
from ganfill.config import CompletionConfig, ConfigError, TrainConfig
from ganfill.data import DataError
from ganfill.encoder import EncoderTrainConfig
from ganfill.evaluation import DEFAULT_MASKS, DEFAULT_METHODS
from ganfill.images import ImageError, grid, save_atomic, to_uint8
from ganfill.models import generate
from ganfill.training import train

USER_ERRORS = (ConfigError, DataError, ImageError, ModelFileError, ValueError, FileNotFoundError)

MODEL_FLAGS = ("image_size", "z_dim", "gf_dim", "df_dim")


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume) a DCGAN run."""
    given = {
        k: v
        for k, v in vars(args).items()
        if k not in ("func", "command", "data_dir", "out", "resume", "no_progress")
    }
    saved = Path(args.out) / "config.json"
    base = (
        TrainConfig.from_dict(json.loads(saved.read_text()))
        if args.resume and saved.exists()
        else TrainConfig()
    )
    model = dataclasses.replace(base.model, **{k: given.pop(k) for k in MODEL_FLAGS if k in given})
    config = dataclasses.replace(base, model=model, **given)
    result = train(args.data_dir, args.out, config, resume=args.resume, progress=not args.no_progress)
    state = "interrupted; resume with --resume" if result.interrupted else "done"
    print(f"{state}: step {result.step}, run folder {result.run_dir}")
    return 130 if result.interrupted else 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Write a grid of G(z) samples."""
    model = load_model(args.model)
    pics = to_uint8(generate(model.generator, args.n, seed=args.seed))
    save_atomic(Image.fromarray(grid(pics)), args.out)
    print(f"wrote {args.out} ({args.n} samples, seed {args.seed})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a run's inference model file."""
    export(args.run_dir, args.out, half=args.half)
    size = Path(args.out).stat().st_size / 2**20
    print(f"wrote {args.out} ({size:.1f} MiB)")
    return 0


def cmd_align(args: argparse.Namespace) -> int:
    """Align the faces of a folder of photos to the model's frame."""
    from ganfill.alignment import align_folder

    summary = align_folder(
        args.src,
        args.dst,
        size=args.size,
        landmarks=args.landmarks,
        all_faces=args.all_faces,
        assume_cropped=args.assume_cropped,
        workers=args.workers,
        progress=not args.no_progress,
    )
    print(f"{summary}; report in {Path(args.dst) / 'align_report.csv'}")
    return 0


def _completer(args: argparse.Namespace):
    from ganfill.completion import Completer
    from ganfill.training import pick_device

    device = pick_device(args.device)
    return Completer(args.model, device=device) if args.model else Completer.from_pretrained(device=device)


def _completion_config(args: argparse.Namespace) -> CompletionConfig:
    names = {f.name for f in dataclasses.fields(CompletionConfig)}
    return CompletionConfig(**{k: v for k, v in vars(args).items() if k in names and v is not None})


def cmd_complete(args: argparse.Namespace) -> int:
    """Complete masked images (or faces inside photos with --align)."""
    from tqdm import tqdm

    from ganfill.batch import MaskSpec, complete_files, complete_photos

    config = _completion_config(args)
    args.mask_given = args.mask is not None
    args.mask = args.mask or "center"
    if args.align:
        mask = Path(args.mask) if args.mask_given else None
        report = complete_photos(
            args.images, args.out, _completer(args), config, mask_path=mask, box=args.box, seed=args.seed
        )
        print(f"completed {len(report.completed)} photo(s) into {args.out}; {len(report.failed)} failed")
        return 1 if report.failed else 0
    mask_path = Path(args.mask) if Path(args.mask).exists() else None
    params = {
        "center": {"scale": args.center_scale},
        "random": {"fraction": args.fraction},
        "pattern": {"fraction": args.pattern_fraction},
        "strokes": {"width": args.stroke_width},
    }.get(args.mask, {})
    spec = MaskSpec(kind=args.mask, params=params, path=mask_path)
    completer = _completer(args)
    bars: list = []

    def progress(batch: int, count: int, steps: int):
        if args.no_progress:
            return None
        bar = tqdm(
            total=steps,
            desc=f"batch {batch + 1}/{count}",
            unit="it",
            file=sys.stderr,
            dynamic_ncols=True,
        )
        bars.append(bar)

        def step(it: int, loss: float) -> None:
            bar.update(1)
            if it % 10 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")
            if it == steps - 1:
                bar.close()

        return step

    report = complete_files(
        args.images,
        args.out,
        completer,
        config,
        mask=spec,
        samples=args.samples,
        batch_size=args.batch_size,
        seed=args.seed,
        keep_hats=args.keep_hats,
        gif=args.gif,
        progress=progress,
    )
    for bar in bars:
        bar.close()
    n = len(report.completed)
    print(f"completed {n} image(s) in {report.seconds:.1f} s into {args.out}; {len(report.failed)} failed")
    return 1 if report.failed else 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Compare ganfill with classical inpainting on the same masked faces."""
    from ganfill.evaluation import evaluate, markdown_table

    data_dir = args.data_dir
    if args.align:
        from ganfill.alignment import align_folder

        data_dir = Path(args.out) / "aligned"
        align_folder(args.data_dir, data_dir, size=64, progress=not args.no_progress)
    report = evaluate(
        data_dir,
        args.out,
        _completer(args),
        masks=args.masks.split(","),
        methods=args.methods.split(","),
        config=_completion_config(args),
        split=args.split,
        limit=args.limit,
        seed=args.seed,
        face_metrics=not args.no_face_metrics,
        progress=lambda line: print(line, file=sys.stderr),
    )
    print(markdown_table(report.summary))
    print(f"report in {args.out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Complete the bundled example faces and write a grid and a GIF."""
    import time

    from tqdm import tqdm

    from ganfill.demo import run_demo

    start = time.perf_counter()
    completer = _completer(args)
    iters = completer.resolve(CompletionConfig(iters=args.iters)).iters
    bar = tqdm(total=iters, desc="searching", unit="it", file=sys.stderr, disable=args.no_progress)
    result = run_demo(
        args.images,
        args.out,
        completer,
        iters=args.iters,
        seed=args.seed,
        on_step=lambda it, loss: bar.update(1),
    )
    bar.close()
    print(f"demo done in {time.perf_counter() - start:.0f} s:")
    print(f"  {result.grid}  (rows: original | centre hole | completed | 80% missing | completed)")
    print(f"  {result.gif}  (the search as it goes)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web page and HTTP API."""
    import uvicorn

    from ganfill.server.app import Limits, create_app

    limits = Limits(max_upload_bytes=int(args.max_upload_mb * 2**20), max_pixels=args.max_pixels)
    app = create_app(
        _completer(args), max_concurrent=args.max_concurrent, max_waiting=args.max_queue, limits=limits
    )
    print(f"ganfill serving on http://{args.host}:{args.port}/ (API docs at /docs)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_train_encoder(args: argparse.Namespace) -> int:
    """Train the search's starting-point encoder for a model."""
    from ganfill.encoder import attach_encoder

    config = EncoderTrainConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, hole_weight=args.hole_weight, seed=args.seed
    )
    log = attach_encoder(
        args.model,
        args.out,
        config,
        data_dir=args.data,
        exclude_file=args.exclude_file,
        encoder_from=args.encoder_from,
        progress=not args.no_progress,
    )
    last = log[-1]
    print(f"wrote {args.out}: encoder trained {config.steps} steps in {last['seconds']:.0f} s", end=", ")
    print(f"z MSE {last['z_mse']:.4f}")
    return 0


def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a DCGAN on a folder of images",
        description="Train a DCGAN on the images under DATA_DIR (searched recursively). With --resume, "
        "the run's saved settings are used and only the flags given here change them.",
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("data_dir")
    p.add_argument("--out", required=True, help="run folder (config, samples, checkpoints, metrics)")
    p.add_argument("--resume", action="store_true", default=False, help="continue from the latest checkpoint")
    p.add_argument("--no-progress", action="store_true", default=False)
    d = TrainConfig()
    for name, kind, helptext in [
        ("epochs", int, f"passes over the data (default {d.epochs})"),
        ("max_steps", int, "stop after this many steps in total"),
        ("batch_size", int, f"images per step per process (default {d.batch_size})"),
        ("lr", float, f"Adam learning rate (default {d.lr})"),
        ("beta1", float, f"Adam beta1 (default {d.beta1})"),
        ("z_dim", int, f"latent size (default {d.model.z_dim})"),
        ("gf_dim", int, f"generator width (default {d.model.gf_dim})"),
        ("df_dim", int, f"discriminator width (default {d.model.df_dim})"),
        ("image_size", int, f"image side, power of two >= 16 (default {d.model.image_size})"),
        ("crop", int, "centre-crop this many pixels first (108 for raw CelebA)"),
        ("g_steps", int, f"G updates per D update (default {d.g_steps})"),
        ("ema", float, f"EMA decay of G's weights, 0 = off (default {d.ema})"),
        ("seed", int, f"random seed (default {d.seed})"),
        ("workers", int, f"decoding threads (default {d.workers})"),
        ("sample_every", int, f"steps between sample grids (default {d.sample_every})"),
        ("checkpoint_every", int, f"steps between checkpoints (default {d.checkpoint_every})"),
        (
            "keep_checkpoints",
            int,
            f"checkpoints kept besides latest (default {d.keep_checkpoints})",
        ),
        ("log_every", int, f"steps between metrics rows (default {d.log_every})"),
        (
            "exclude_file",
            str,
            "split file of file stems never to train on (e.g. the held-out split)",
        ),
    ]:
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=helptext)
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default auto")
    p.add_argument("--no-flip", dest="flip", action="store_false", help="no random horizontal flips")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast on CUDA")
    p.set_defaults(func=cmd_train)


def _complete_parser(sub: argparse._SubParsersAction) -> None:
    d = CompletionConfig()
    p = sub.add_parser(
        "complete",
        help="fill the holes of face images by searching the generator's latent space",
        description="Complete IMAGES (files and/or folders of aligned faces at the model's size) with "
        "the masks given by --mask; writes NAME.png per image, before/masked/completed.png grids and "
        "losses.csv into --out. Mask files use the inpainting tools' convention: WHITE (>= 128) = "
        "TO FILL, black = keep.",
    )
    p.add_argument("images", nargs="+")
    p.add_argument("--out", required=True, help="output folder")
    _model_flags(p)
    p.add_argument(
        "--align",
        action="store_true",
        help="IMAGES are ordinary photos: find the face, complete it in the model's frame and change "
        "only the masked pixels of the photo (needs --mask MASK.png in photo pixels, or --box)",
    )
    p.add_argument("--box", type=_box, help="with --align: the region x,y,w,h (photo pixels) to fill")
    p.add_argument(
        "--mask",
        default=None,
        help="center, random, left, right, top, bottom, grid, lowres, pattern, strokes; or a mask "
        "image for every input, or a folder of masks matched by file stem (white = fill). Default center",
    )
    p.add_argument(
        "--center-scale",
        type=float,
        default=0.25,
        help="center hole from scale to 1-scale (default 0.25: 32x32 at 64)",
    )
    p.add_argument(
        "--fraction",
        type=float,
        default=0.8,
        help="random mask: share of pixels missing (default 0.8)",
    )
    p.add_argument(
        "--pattern-fraction",
        type=float,
        default=0.25,
        help="pattern mask: share missing (default 0.25)",
    )
    p.add_argument("--stroke-width", default="medium", choices=["thin", "medium", "thick"])
    p.add_argument(
        "--iters",
        type=int,
        help="search steps (default: 100 from the encoder's start, 10 on an open hole such as a half face; "
        "1500 from a random start as the paper)",
    )
    p.add_argument("--lam", type=float, help=f"weight of the prior loss (default {d.lam}; the paper 0.003)")
    p.add_argument(
        "--lr", type=float, help="step size (default 0.01; 0.04 from the encoder's start on a scattered mask)"
    )
    p.add_argument(
        "--optimizer",
        choices=["adam", "momentum"],
        help="adam (default) or the blog's Nesterov momentum",
    )
    p.add_argument(
        "--weighting",
        choices=["paper", "none"],
        help="context weights: paper's 7x7 importance (default) or none",
    )
    p.add_argument(
        "--prior",
        choices=["nonsaturating", "saturating"],
        help="-log D(G(z)) (default) or log(1-D(G(z)))",
    )
    p.add_argument(
        "--restarts",
        type=int,
        help="starts per image searched in parallel; the best is kept (default 1)",
    )
    p.add_argument(
        "--init",
        choices=["auto", "random", "encoder"],
        help="start from the model's encoder (auto: when it has one, the default) or U[-1,1] (the reference)",
    )
    p.add_argument(
        "--tol", type=float, help="stop an image early when its loss improves by less than this share"
    )
    p.add_argument(
        "--patience", type=int, help="steps without --tol improvement before an image stops (default 50)"
    )
    p.add_argument(
        "--samples",
        type=int,
        default=1,
        help="write the K best distinct completions (NAME.sampleK.png)",
    )
    p.add_argument("--blend", choices=["poisson", "none"], help="poisson (default) or none: M*y + (1-M)*G(z)")
    p.add_argument("--keep-hats", action="store_true", help="also write G(z*) as NAME.hat.png")
    p.add_argument("--save-every", type=int, help="write frames/ every N steps (first batch)")
    p.add_argument(
        "--gif",
        action="store_true",
        help="animated completion.gif of the frames (needs --save-every)",
    )
    p.add_argument("--batch-size", type=int, default=64, help="images searched together (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_complete)


def _model_flags(p: argparse.ArgumentParser) -> None:
    """--model and --device, shared by every verb that loads a model."""
    p.add_argument("--model", help="model file or run folder (default: the bundled face model)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--box wants x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"--box width and height must be > 0, got {text!r}")
    return x, y, w, h


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb."""
    parser = argparse.ArgumentParser(
        prog="ganfill",
        description="Semantic image completion with deep generative models (Yeh et al. 2017).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _train_parser(sub)

    p = sub.add_parser(
        "align",
        help="detect, landmark and warp faces to the model's frame",
        description="Align every face photo under SRC (recursively) into flat SIZE x SIZE PNGs in DST, "
        "with DST/align_report.csv. Files already in the report are skipped on a re-run.",
    )
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--size", type=int, default=64, help="output side in pixels (default 64)")
    p.add_argument(
        "--landmarks",
        default="inner-eyes-bottom-lip",
        choices=["inner-eyes-bottom-lip", "outer-eyes-nose"],
    )
    p.add_argument("--all-faces", action="store_true", help="every face, not only the largest")
    p.add_argument(
        "--assume-cropped",
        action="store_true",
        help="inputs are face crops: when no face is detected, take the image centre as the face box",
    )
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_align)

    _complete_parser(sub)

    p = sub.add_parser(
        "eval",
        help="score ganfill against classical inpainting (PSNR, SSIM, identity, FD-face)",
        description="Complete the same seeded masks of the faces in DATA_DIR with each method and write "
        "results.csv, summary.csv, report.md, grid_<mask>.png and psnr_hole.png into --out.",
    )
    p.add_argument("data_dir", help="aligned faces at the model's size (or raw photos with --align)")
    p.add_argument("--out", required=True, help="report folder")
    _model_flags(p)
    p.add_argument("--masks", default=",".join(DEFAULT_MASKS), help="comma-separated mask kinds")
    p.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help="comma-separated: ganfill, telea, ns, biharmonic, patchmatch, mean, bicubic (lowres only); "
        "ganfill:iters=100:optimizer=momentum compares ganfill configurations",
    )
    p.add_argument("--split", help="only the file stems listed in this split file (e.g. the held-out split)")
    p.add_argument("--limit", type=int, help="at most this many images")
    p.add_argument("--align", action="store_true", help="align DATA_DIR's raw photos first")
    p.add_argument("--no-face-metrics", action="store_true", help="pixel metrics only (no dlib)")
    for flag, kind in [("iters", int), ("lam", float), ("lr", float), ("restarts", int), ("tol", float)]:
        p.add_argument(f"--{flag}", type=kind, help=f"ganfill's {flag} (default as in complete)")
    p.add_argument("--init", choices=["auto", "random", "encoder"])
    p.add_argument("--optimizer", choices=["adam", "momentum"])
    p.add_argument("--blend", choices=["poisson", "none"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("demo", help="complete the bundled example faces (what `make demo` runs)")
    p.add_argument("--images", default="examples/faces", help="aligned faces (default examples/faces)")
    p.add_argument("--out", default="out/demo")
    _model_flags(p)
    p.add_argument("--iters", type=int, help="search steps (default as in complete: 100 with the encoder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="the web page and HTTP API (FastAPI + uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback only)")
    p.add_argument("--port", type=int, default=7860)
    _model_flags(p)
    p.add_argument("--max-concurrent", type=int, default=1, help="completions run at once (default 1)")
    p.add_argument(
        "--max-queue", type=int, default=4, help="requests that may wait; more get 503 (default 4)"
    )
    p.add_argument("--max-upload-mb", type=float, default=10.0, help="request size limit (default 10 MB)")
    p.add_argument("--max-pixels", type=int, default=25_000_000, help="image size limit (default 25 MP)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "train-encoder",
        help="train the encoder that starts the latent search near its answer",
        description="Train an encoder E(masked image, mask) -> z against MODEL's frozen generator and write "
        "MODEL plus encoder to --out; completion then starts from E's guess (--init encoder).",
    )
    p.add_argument("model", help="model file or run folder")
    p.add_argument("--out", required=True, help="model file to write (.safetensors)")
    p.add_argument("--data", help="aligned real faces to train on as well (recommended)")
    p.add_argument("--exclude-file", help="split file of file stems to leave out (the held-out split)")
    p.add_argument(
        "--encoder-from",
        help="model file whose encoder to continue training (e.g. the previous snapshot's) instead of "
        "starting from scratch",
    )
    enc = EncoderTrainConfig()
    p.add_argument("--steps", type=int, default=enc.steps)
    p.add_argument("--batch-size", type=int, default=enc.batch_size)
    p.add_argument("--lr", type=float, default=enc.lr)
    p.add_argument(
        "--hole-weight",
        type=float,
        default=enc.hole_weight,
        help="weight of the L1 on real faces' missing pixels (needs --data; default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=enc.seed)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train_encoder)

    p = sub.add_parser("sample", help="write a grid of generated faces")
    p.add_argument("model", help="model file (.safetensors) or run folder")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("export", help="write a run's inference model file (EMA G, D, config)")
    p.add_argument("run_dir")
    p.add_argument("out", help="model file to write (.safetensors)")
    p.add_argument("--half", action="store_true", help="store weights as float16 (half the size)")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one verb; user errors become one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except USER_ERRORS as exc:
        print(f"ganfill {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ganfill {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
