"""Typed, validated settings for the model, training and completion; saved as JSON in files."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal


class ConfigError(ValueError):
    """A setting is out of range; the message names it."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the DCGAN pair; everything needed to rebuild the networks from weights."""

    image_size: int = 64
    """Side of the square RGB images, a power of two >= 16."""
    z_dim: int = 100
    """Length of the latent code z, drawn from U[-1, 1]."""
    gf_dim: int = 64
    """Width of the generator's last hidden layer (the first is gf_dim * image_size / 8)."""
    df_dim: int = 64
    """Width of the discriminator's first layer."""

    def __post_init__(self) -> None:
        size = self.image_size
        _check(
            size >= 16 and 2 ** int(math.log2(size)) == size,
            f"image_size must be a power of two >= 16, got {size}",
        )
        _check(self.z_dim >= 1, f"z_dim must be >= 1, got {self.z_dim}")
        _check(self.gf_dim >= 1 and self.df_dim >= 1, "gf_dim and df_dim must be >= 1")

    @property
    def n_layers(self) -> int:
        """Number of stride-2 (de)convolutions: 64 -> 4 layers, 16 -> 2."""
        return int(math.log2(self.image_size)) - 2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


Device = Literal["auto", "cpu", "cuda", "mps"]


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimiser, schedule, output cadence; saved as the run's config.json."""

    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 25
    """Passes over the data (ignored once max_steps is reached)."""
    max_steps: int | None = None
    """Stop after this many D updates in total, whatever the epoch."""
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    g_steps: int = 2
    """Generator updates per discriminator update (carpedm20's reference uses 2)."""
    ema: float = 0.999
    """Decay of the exponential moving average of G's weights; 0 turns it off."""
    crop: int | None = None
    """Centre-crop this many pixels before resizing (108 for raw CelebA, as carpedm20)."""
    flip: bool = True
    seed: int = 0
    device: Device = "auto"
    workers: int = 2
    """Threads used to decode the image folder once."""
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 10
    channels_last: bool = True
    amp: bool = False
    """bfloat16 autocast on CUDA; ignored on CPU."""
    init_from: str | None = None
    """Start from a model file's weights (its generator and discriminator), with fresh optimisers."""
    exclude_file: str | None = None
    """A split file of file stems never to train on (the held-out split)."""

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        _check(self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1")
        _check(self.batch_size >= 2, f"batch_size must be >= 2 (batch-norm), got {self.batch_size}")
        _check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check(0 <= self.beta1 < 1, f"beta1 must be in [0, 1), got {self.beta1}")
        _check(self.g_steps >= 1, f"g_steps must be >= 1, got {self.g_steps}")
        _check(0 <= self.ema < 1, f"ema must be in [0, 1), got {self.ema}")
        _check(self.crop is None or self.crop >= 1, "crop must be >= 1")
        _check(self.sample_every >= 1 and self.checkpoint_every >= 1, "cadences must be >= 1")
        _check(self.keep_checkpoints >= 1, "keep_checkpoints must be >= 1")
        _check(self.workers >= 1, "workers must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["model"] = ModelConfig.from_dict(data.get("model", {}))
        return cls(**values)


@dataclass(frozen=True)
class CompletionConfig:
    """How to search the latent space for one completion (Yeh et al. 2017, section 3)."""

    iters: int | None = None
    """Projected gradient steps on z; None: 1500 from a random start (the paper), 100 from the
    encoder's start (which beats 500 random-start steps, BENCHMARKS.md), 10 from the encoder's
    start on an open hole such as a half face (masks.open_holes), where more steps fit the one
    seam at the cost of what the encoder read from the whole kept half (MODEL_CARD.md)."""
    lam: float = 0.0
    """Weight of the prior (GAN) loss; the paper uses 0.003, the reference code 0.1. Default 0:
    on held-out faces neither changed PSNR, identity or FD-face measurably, and D's passes cost
    40% of every step (BENCHMARKS.md)."""
    lr: float | None = None
    """Step size; None: 0.01, or 0.04 from the encoder's start on a scattered mask such as random
    pixels (masks.scattered), where the context pins the whole face down (BENCHMARKS.md)."""
    optimizer: Literal["adam", "momentum"] = "adam"
    beta1: float = 0.9
    """Adam's beta1 (paper and reference HEAD: 0.9)."""
    momentum: float = 0.9
    """Nesterov momentum for the blog's update rule."""
    weighting: Literal["paper", "none"] = "paper"
    """Context-loss weights: the paper's 7x7 importance weights, or 1 everywhere (the blog)."""
    prior: Literal["nonsaturating", "saturating"] = "nonsaturating"
    """-log D(G(z)) as the reference code, or log(1 - D(G(z))) as the blog's text."""
    window: int = 7
    restarts: int = 1
    """Independent starts per image searched together; the lowest final loss wins."""
    blend: Literal["poisson", "none"] = "poisson"
    lowres_factor: int = 8
    """For the lowres mask: the context loss compares images downsampled by this factor."""
    save_every: int = 0
    """Record hats and completions every N iterations (0: never)."""
    init: Literal["auto", "random", "encoder"] = "auto"
    """Where the search starts: the model's encoder's guess, or U[-1, 1]; auto = encoder if any."""
    tol: float = 0.0
    """Early stop per image when the loss improves by less than this (relative) over `patience`."""
    patience: int = 50

    def __post_init__(self) -> None:
        _check(self.iters is None or self.iters >= 0, f"iters must be >= 0, got {self.iters}")
        _check(self.lam >= 0, f"lam must be >= 0, got {self.lam}")
        _check(self.lr is None or self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check(
            self.optimizer in ("adam", "momentum"),
            f"optimizer must be adam or momentum, got {self.optimizer!r}",
        )
        _check(
            self.weighting in ("paper", "none"),
            f"weighting must be paper or none, got {self.weighting!r}",
        )
        _check(
            self.prior in ("nonsaturating", "saturating"),
            f"prior must be nonsaturating or saturating, got {self.prior!r}",
        )
        _check(self.blend in ("poisson", "none"), f"blend must be poisson or none, got {self.blend!r}")
        _check(self.window >= 1 and self.window % 2 == 1, "window must be odd and >= 1")
        _check(self.restarts >= 1, f"restarts must be >= 1, got {self.restarts}")
        _check(self.save_every >= 0, "save_every must be >= 0")
        _check(self.lowres_factor >= 1, "lowres_factor must be >= 1")
        _check(
            self.init in ("auto", "random", "encoder"),
            f"init must be auto, random or encoder, got {self.init!r}",
        )
        _check(self.tol >= 0 and self.patience >= 1, "tol must be >= 0 and patience >= 1")

    def resolved(
        self, has_encoder: bool, scattered: bool = False, open_hole: bool = False
    ) -> CompletionConfig:
        """This config with `auto` start, steps and step size made concrete for a model and a mask."""
        init = self.init if self.init != "auto" else ("encoder" if has_encoder else "random")
        default_iters = 1500 if init == "random" else 10 if open_hole else 100
        iters = self.iters if self.iters is not None else default_iters
        lr = self.lr if self.lr is not None else (0.04 if init == "encoder" and scattered else 0.01)
        return dataclasses.replace(self, init=init, iters=iters, lr=lr)
