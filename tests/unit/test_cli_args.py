"""The CLI and the HTTP schema are generated from the configs: same options, same defaults."""

import dataclasses

import pytest

from ganfill.cli import build_parser
from ganfill.cli_args import build
from ganfill.config import (
    CompletionConfig,
    ConfigError,
    EncoderTrainConfig,
    EvalConfig,
    FinisherTrainConfig,
    MaskConfig,
    RunConfig,
    TrainConfig,
)
from ganfill.server.schemas import Options, split_options
from ganfill.training import run_config


def test_every_completion_setting_is_reachable_with_the_same_default() -> None:
    args = build_parser().parse_args(["complete", "faces", "--out", "done"])
    assert build(CompletionConfig, args) == CompletionConfig()
    assert build(MaskConfig, args) == MaskConfig() and build(RunConfig, args) == RunConfig()
    config, run = split_options(Options())
    assert config == CompletionConfig() and run.samples == 1 and run.seed == 0
    for f in dataclasses.fields(CompletionConfig):
        assert Options.model_fields[f.name].default == f.default, f.name
        assert Options.model_fields[f.name].description, f.name  # the field's docstring


def test_each_flag_sets_its_field() -> None:
    """A non-default value for every CompletionConfig field, through the command line."""
    flags = ["--iters", "7", "--lam", "0.1", "--lr", "0.02", "--optimizer", "momentum", "--beta1", "0.8"]
    flags += ["--momentum", "0.5", "--weighting", "none", "--prior", "saturating", "--window", "5"]
    flags += ["--restarts", "3", "--blend", "none", "--dilate", "2", "--feather", "1", "--grain", "0.5"]
    flags += ["--lowres-factor", "4", "--save-every", "2"]
    flags += ["--init", "random", "--spread", "0.5", "--shell", "1", "--prune-after", "5", "--detail", "0.5"]
    flags += ["--symmetry", "0.1", "--colour", "0.5", "--mouth-steps", "20"]
    flags += ["--tune", "5", "--tune-lr", "0.01", "--tune-locality", "2", "--precision", "bfloat16"]
    flags += ["--tol", "0.01", "--patience", "9"]
    config = build(CompletionConfig, build_parser().parse_args(["complete", "x", "--out", "y", *flags]))
    defaults = CompletionConfig()
    changed = [
        f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(defaults, f.name)
    ]
    assert changed == [f.name for f in dataclasses.fields(CompletionConfig)]


def test_eval_defaults_come_from_the_config() -> None:
    args = build_parser().parse_args(["eval", "faces", "--out", "r", "--masks", "center,left"])
    assert build(EvalConfig, args) == EvalConfig(masks=("center", "left"))
    assert "patchmatch" in build(EvalConfig, build_parser().parse_args(["eval", "f", "--out", "r"])).methods


def test_resume_keeps_the_saved_settings_and_changes_only_given_flags(tmp_path) -> None:
    (tmp_path / "config.json").write_text('{"lr": 0.001, "g_steps": 1, "model": {"z_dim": 20}}')
    args = build_parser().parse_args(["train", "data", "--out", str(tmp_path), "--max-steps", "9"])
    changes = {k: v for k, v in vars(args).items() if k in {f.name for f in dataclasses.fields(TrainConfig)}}
    assert changes == {"max_steps": 9}  # flags not given stay out
    config = run_config(tmp_path, changes, resume=True)
    assert (config.lr, config.g_steps, config.max_steps, config.model.z_dim) == (0.001, 1, 9, 20)
    assert run_config(tmp_path, {"z_dim": 5}).model.z_dim == 5  # not resuming: the defaults


@pytest.mark.parametrize(
    "config, field",
    [
        (lambda: MaskConfig(fraction=1.5), "fraction"),
        (lambda: MaskConfig(center_scale=0.6), "center_scale"),
        (lambda: RunConfig(samples=0), "samples"),
        (lambda: RunConfig(batch_size=0), "batch_size"),
        (lambda: CompletionConfig(init="middle"), "init"),
        (lambda: CompletionConfig(precision="float16"), "precision"),
        (lambda: CompletionConfig(grain=3.0), "grain"),
        (lambda: CompletionConfig(shell=2.0), "shell"),
        (lambda: TrainConfig(shorten=1.0), "shorten"),
        (lambda: FinisherTrainConfig(critic_warmup=-1), "critic_warmup"),
        (lambda: FinisherTrainConfig(holes=("eyes", "nose")), "holes"),
        (lambda: EncoderTrainConfig(masks=()), "masks"),
        (lambda: EvalConfig(limit=0), "limit"),
    ],
)
def test_configs_refuse_nonsense(config, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        config()


def test_a_box_reaching_past_the_left_edge_is_a_value_not_an_option() -> None:
    """`--box -5,10,60,40` stopped argparse with "expected one argument": it took the value for
    an option. Joined to its flag, it reaches the photo's clipping like any box."""
    parse = build_parser().parse_args
    args = parse(["complete", "a.png", "--out", "o", "--align", "--box", "-5,10,60,40", "--seed", "3"])
    assert args.box == "-5,10,60,40" and args.images == ["a.png"] and args.seed == 3
    assert parse(["complete", "a.png", "--out", "o", "--box", "5,-10,60,40"]).box == "5,-10,60,40"
    with pytest.raises(SystemExit):  # a flag that takes no value still refuses one
        parse(["complete", "a.png", "--out", "o", "--align", "-5,10"])
