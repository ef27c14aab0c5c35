"""The one owner of ganfill's file formats: model files and training state, as safetensors with a
JSON header (no pickle anywhere)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import save_file
from torch import nn

from ganfill.config import ConfigError, ModelConfig, TrainConfig
from ganfill.errors import UserError
from ganfill.files import atomic_write
from ganfill.models import Discriminator, Encoder, Generator

META_KEY = "ganfill"
FORMAT_VERSION = 1
MODEL_KIND, TRAINING_KIND = "model", "training"
FINISHER_KIND, CRITIC_KIND, EXEMPLARS_KIND = "finisher", "finisher-critic", "ganfill-exemplars"
COLOURISER_KIND = "colouriser"
KIND_NAMES = {
    MODEL_KIND: "a model file",
    TRAINING_KIND: "a training checkpoint",
    FINISHER_KIND: "a finisher",
    CRITIC_KIND: "a finisher's critic",
    EXEMPLARS_KIND: "an exemplar library",
    COLOURISER_KIND: "a colouriser",
}
"""Every kind of file ganfill writes (a header's "kind"), named as an error that finds one where
another was wanted calls it."""


class ModelFileError(UserError):
    """A model file or run folder cannot be loaded; str() names the path and the problem."""


@dataclass
class Model:
    """An inference model: generator (EMA weights when trained so), discriminator, and extras."""

    generator: Generator
    discriminator: Discriminator
    config: ModelConfig
    info: dict[str, Any] = field(default_factory=dict)
    """What the file says about itself: training data, steps, format version."""
    encoder: Encoder | None = None
    """The search's starting-point encoder, when trained."""

    def to(self, device: torch.device | str) -> Model:
        """This model, each of its networks moved to device (in place, as nn.Module.to)."""
        for module in (self.generator, self.discriminator, self.encoder):
            if module is not None:
                module.to(device)
        return self


def write_safetensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors plus a JSON header atomically: a crash leaves the old file or the new one."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_write(path) as tmp:
        save_file(tensors, tmp, metadata={META_KEY: json.dumps(meta)})


def read_safetensors(path: str | Path, *kinds: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and the JSON header of a file written by write_safetensors, whose header's kind is
    one of kinds (a finisher given as a model names what it is, rather than failing inside)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:  # one read for header and tensors
            header = (f.metadata() or {}).get(META_KEY)
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open is no dict)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable safetensors file ({exc})") from None
    if header is None:
        raise ModelFileError(f"{path}: no ganfill header; not a ganfill model file")
    try:
        meta = json.loads(header)
        kind = meta.get("kind")
    except (ValueError, AttributeError):
        raise ModelFileError(f"{path}: its ganfill header is not a JSON object") from None
    if kind not in kinds:
        found = KIND_NAMES.get(kind, f"a file of kind {kind!r}")
        raise ModelFileError(f"{path}: {found}, not {' or '.join(KIND_NAMES[k] for k in kinds)}")
    return tensors, meta


def prefixed(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """A module's state dict with every key under `prefix.`."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def unprefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors stored under `prefix.`, with the prefix removed."""
    start = prefix + "."
    return {k[len(start) :]: v for k, v in tensors.items() if k.startswith(start)}


def save_model(path: str | Path, model: Model, *, half: bool = False) -> None:
    """Write an inference model file: G, D, the encoder if any, config and info in one file."""
    tensors = prefixed(model.generator, "generator") | prefixed(model.discriminator, "discriminator")
    if model.encoder is not None:
        tensors |= prefixed(model.encoder, "encoder")
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    meta = {
        "format": FORMAT_VERSION,
        "kind": MODEL_KIND,
        "model": model.config.to_dict(),
        "info": model.info,
        "encoder": None if model.encoder is None else model.encoder.spec,
    }
    write_safetensors(path, tensors, meta)


def resolve_model_path(path: str | Path) -> Path:
    """A model file, or a run folder's latest checkpoint."""
    path = Path(path)
    if path.is_dir():
        latest = path / "checkpoints" / "latest.safetensors"
        if not latest.exists():
            raise ModelFileError(f"{path}: run folder has no checkpoints/latest.safetensors yet")
        return latest
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file or run folder")
    return path


def _load_into(module: nn.Module, tensors: dict[str, torch.Tensor], what: str, path: Path) -> None:
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ModelFileError(f"{path}: {what} weights do not match the config ({first})") from None


def _model_config(meta: dict[str, Any], path: Path) -> ModelConfig:
    """The networks' sizes a model file's header gives, or a ModelFileError naming the file."""
    try:
        config = ModelConfig.from_dict(meta["model"])
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
        raise ModelFileError(f"{path}: its header's model config is invalid ({problem})") from None
    return config


def load_model(path: str | Path, *, device: torch.device | str = "cpu") -> Model:
    """Load a model file or run folder (its EMA generator when it has one) in eval mode."""
    path = resolve_model_path(path)
    tensors, meta = read_safetensors(path, MODEL_KIND, TRAINING_KIND)
    if meta.get("format", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{path}: written by a newer ganfill (format {meta['format']})")
    config = _model_config(meta, path)
    g, d = Generator(config), Discriminator(config)
    g_prefix = "generator_ema" if any(k.startswith("generator_ema.") for k in tensors) else "generator"
    _load_into(g, unprefixed(tensors, g_prefix), "generator", path)
    _load_into(d, unprefixed(tensors, "discriminator"), "discriminator", path)
    encoder = None
    if meta.get("encoder"):
        encoder = Encoder(**meta["encoder"])
        _load_into(encoder, unprefixed(tensors, "encoder"), "encoder", path)
        encoder.eval()
    info = dict(meta.get("info", {}))
    if meta.get("kind") == TRAINING_KIND:
        info.setdefault("step", meta.get("step"))
    model = Model(g.eval(), d.eval(), config, info, encoder)
    return model.to(device)


def flatten_optimizer(
    opt: torch.optim.Optimizer, prefix: str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state as flat tensors plus JSON-able hyper-parameters (no pickle)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{name}"] = value
            else:
                scalars.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unflatten_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any], prefix: str
) -> None:
    """Restore an optimiser from flatten_optimizer's output."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in unprefixed(tensors, prefix).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, values in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def export(run_dir: str | Path, out: str | Path, *, half: bool = False, encoder: bool = True) -> Model:
    """Write a run's inference model (EMA G, D, config, provenance) as one small file: its latest
    checkpoint, or the snapshot run_dir/checkpoints/step_N.safetensors named instead, or a model
    file; without encoder, G and D alone (a training start to send, a third smaller)."""
    model = load_model(run_dir)
    if not encoder:
        model.encoder = None
    folder = Path(run_dir) if Path(run_dir).is_dir() else Path(run_dir).parent.parent
    settings = folder / "config.json"
    if settings.exists():
        run = json.loads(settings.read_text())
        model.info |= {
            k: run[k] for k in ("data_dir", "n_images", "batch_size", "lr", "g_steps", "ema") if k in run
        }
    model.info["exported_from"] = str(run_dir)
    save_model(out, model, half=half)
    return model


@dataclass
class TrainingState:
    """Everything a training run needs to continue exactly: networks, optimisers and the step."""

    generator: Generator
    discriminator: Discriminator
    generator_ema: Generator | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    step: int = 0


def save_training_state(path: str | Path, state: TrainingState, config: TrainConfig, n_images: int) -> None:
    """Write a training checkpoint (weights, EMA weights, optimiser state, config) atomically."""
    tensors = prefixed(state.generator, "generator") | prefixed(state.discriminator, "discriminator")
    if state.generator_ema is not None:
        tensors |= prefixed(state.generator_ema, "generator_ema")
    opt_g, meta_g = flatten_optimizer(state.opt_g, "opt_g")
    opt_d, meta_d = flatten_optimizer(state.opt_d, "opt_d")
    meta = {
        "format": FORMAT_VERSION,
        "kind": TRAINING_KIND,
        "step": state.step,
        "model": config.model.to_dict(),
        "train": config.to_dict(),
        "opt_g": meta_g,
        "opt_d": meta_d,
        "info": {"step": state.step, "images": n_images},
    }
    write_safetensors(path, tensors | opt_g | opt_d, meta)


def load_training_state(path: str | Path, state: TrainingState, config: ModelConfig) -> None:
    """Restore state in place from a training checkpoint or run folder written for config."""
    path = resolve_model_path(path)
    tensors, meta = read_safetensors(path, TRAINING_KIND)
    if _model_config(meta, path) != config:
        raise ModelFileError(f"{path}: checkpoint's model config differs from this run's")
    state.generator.load_state_dict(unprefixed(tensors, "generator"))
    state.discriminator.load_state_dict(unprefixed(tensors, "discriminator"))
    if state.generator_ema is not None:
        ema = unprefixed(tensors, "generator_ema") or unprefixed(tensors, "generator")
        state.generator_ema.load_state_dict(ema)
    unflatten_optimizer(state.opt_g, tensors, meta["opt_g"], "opt_g")
    unflatten_optimizer(state.opt_d, tensors, meta["opt_d"], "opt_d")
    state.step = int(meta["step"])
