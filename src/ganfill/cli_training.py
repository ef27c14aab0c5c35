"""The training verbs of the `ganfill` command line: generator, encoder, finisher, and the model
files they write."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganfill.cli_args import EXCLUDE, OUT, SWITCH, Verb, build, read_config
from ganfill.config import (
    ColouriserTrainConfig,
    EncoderTrainConfig,
    ExemplarConfig,
    FinisherTrainConfig,
    ModelConfig,
    TrainConfig,
)


def print_log(entry: dict[str, float]) -> None:
    """One line of a trainer's log on stderr (stdout keeps the verb's result)."""
    print(" ".join(f"{k} {v:.4g}" for k, v in entry.items()), file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume) a DCGAN run; with --resume only the flags given change its settings."""
    from ganfill.training import run_config, train

    changes = read_config(TrainConfig, args) | read_config(ModelConfig, args)
    config = run_config(args.out, changes, resume=args.resume)
    result = train(args.data_dir, args.out, config, resume=args.resume, progress=not args.no_progress)
    state = "interrupted; resume with --resume" if result.interrupted else "done"
    print(f"{state}: step {result.step}, run folder {result.run_dir}")
    return 130 if result.interrupted else 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Write a grid of G(z) samples of a model (the bundled one by default)."""
    from ganfill.completion import DEFAULT_WEIGHTS
    from ganfill.training import write_samples

    write_samples(args.model or DEFAULT_WEIGHTS, args.out, n=args.n, seed=args.seed)
    print(f"wrote {args.out} ({args.n} samples, seed {args.seed})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a run's inference model file."""
    from ganfill.checkpoint import export

    export(args.run_dir, args.out, half=args.half, encoder=args.encoder)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 2**20:.1f} MiB)")
    return 0


def cmd_train_encoder(args: argparse.Namespace) -> int:
    """Train the search's starting-point encoder for a model."""
    from ganfill.encoder_training import attach_encoder

    config = build(EncoderTrainConfig, args)
    log = attach_encoder(
        args.model,
        args.out,
        config,
        data_dir=args.data,
        exclude_file=args.exclude_file,
        encoder_from=args.encoder_from,
        progress=not args.no_progress,
    )
    print(f"wrote {args.out}: encoder trained {config.steps} steps in {log[-1]['seconds']:.0f} s, ", end="")
    print(f"z MSE {log[-1]['z_mse']:.4f}")
    return 0


def cmd_train_finisher(args: argparse.Namespace) -> int:
    """Train a detail network: the finisher that draws completed faces at 3x, or the detail pass at 1x."""
    from ganfill.finisher_training import train_finisher_folder

    config = build(FinisherTrainConfig, args)
    log = train_finisher_folder(
        args.data_dir,
        args.out,
        config,
        exclude_file=args.exclude_file,
        init_from=args.init_from,
        guesses=args.guesses,
        progress=not args.no_progress,
        on_log=print_log,
    )
    print(
        f"wrote {args.out}: {config.steps} steps in {log[-1]['seconds']:.0f} s, hole L1 {log[-1]['l1']:.4f}"
    )
    return 0


def cmd_train_colouriser(args: argparse.Namespace) -> int:
    """Train the colouriser that gives the hole the colours real faces have under its light and shade."""
    from ganfill.colour_training import train_colouriser_folder

    config = build(ColouriserTrainConfig, args)
    log = train_colouriser_folder(
        args.data_dir,
        args.out,
        config,
        exclude_file=args.exclude_file,
        progress=not args.no_progress,
        on_log=print_log,
    )
    seconds, error = log[-1]["seconds"], log[-1]["l1"]
    summary = f"{config.steps} steps in {seconds:.0f} s, hole chroma L1 {error:.2f} (8-bit levels)"
    print(f"wrote {args.out}: {summary}")
    return 0


def cmd_build_exemplars(args: argparse.Namespace) -> int:
    """Write the library of real aligned faces whose fine detail the fills of photos take."""
    from ganfill.data import excluded
    from ganfill.exemplars import build_library

    exclude = excluded(args.exclude_file)
    n = build_library(args.data_dir, args.out, build(ExemplarConfig, args), exclude=exclude)
    print(f"wrote {args.out}: {n} faces ({Path(args.out).stat().st_size / 2**20:.1f} MiB)")
    return 0


TRAINING_VERBS: dict[str, Verb] = {
    "train": (
        cmd_train,
        "train a DCGAN on a folder of images (searched recursively)",
        [("data_dir", {"help": "folder of training images"})],
        [OUT, ("--resume", SWITCH | {"help": "continue from the latest checkpoint; flags given change it"})],
        [TrainConfig, ModelConfig],
    ),
    "train-encoder": (
        cmd_train_encoder,
        "train the encoder that starts the latent search near its answer",
        [("model", {"help": "model file or run folder"})],
        [
            ("--out", {"required": True, "help": "model file to write (.safetensors)"}),
            ("--data", {"help": "aligned real faces to train on as well (recommended)"}),
            EXCLUDE,
            ("--encoder-from", {"help": "model file whose encoder to continue training"}),
        ],
        [EncoderTrainConfig],
    ),
    "sample": (
        cmd_sample,
        "write a grid of generated faces",
        [("model", {"nargs": "?", "help": "model file or run folder (default: the bundled face model)"})],
        [
            ("--out", {"required": True, "help": "output PNG"}),
            ("-n", {"type": int, "default": 64}),
            ("--seed", {"type": int, "default": 0}),
        ],
        [],
    ),
    "export": (
        cmd_export,
        "write a run's inference model file (EMA G, D, config)",
        [
            ("run_dir", {"help": "run folder, one of its checkpoints, or a model file"}),
            ("out", {"help": "model file to write (.safetensors)"}),
        ],
        [
            ("--half", SWITCH | {"help": "store weights as float16 (half the size)"}),
            (
                "--no-encoder",
                {
                    "dest": "encoder",
                    "action": "store_false",
                    "help": "G and D alone: a training start",
                },
            ),
        ],
        [],
    ),
    "train-finisher": (
        cmd_train_finisher,
        "train a detail network: the photo finisher (--scale 3) or the detail pass (--scale 1)",
        [
            (
                "data_dir",
                {"help": "faces aligned at the output's size (ganfill align --size 192 for --scale 3)"},
            )
        ],
        [
            ("--out", {"required": True, "help": "finisher file to write (.safetensors)"}),
            EXCLUDE,
            ("--init-from", {"help": "finisher file to continue training"}),
            (
                "--guesses",
                {"help": "model file whose encoder's guesses (completions, for --scale 3) it learns over"},
            ),
        ],
        [FinisherTrainConfig],
    ),
    "train-colouriser": (
        cmd_train_colouriser,
        "train the colouriser that colours the hole as real faces are coloured under its luma",
        [("data_dir", {"help": "faces aligned at the model's size (ganfill align)"})],
        [("--out", {"required": True, "help": "colouriser file to write (.safetensors)"}), EXCLUDE],
        [ColouriserTrainConfig],
    ),
    "build-exemplars": (
        cmd_build_exemplars,
        "write the library of real faces whose detail the fills of photos take",
        [("data_dir", {"help": "faces aligned at the model's size (ganfill align)"})],
        [
            ("--out", {"required": True, "help": "library file to write (.safetensors)"}),
            EXCLUDE,
        ],
        [ExemplarConfig],
    ),
}
