"""Typed, validated settings: the one place each option, its default and its help text is written.

The CLI (cli_args.py) and the HTTP request schema (server/schemas.py) are generated from these
dataclasses: a field's type gives the flag's type and choices, its default the default, and the
docstring under it the help text (field_docs). Every config validates itself in __post_init__.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import math
import textwrap
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from ganfill.errors import UserError


class ConfigError(UserError):
    """A setting is out of range; the message names it."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _check_kinds(name: str, kinds: tuple[str, ...]) -> None:
    """A ConfigError unless kinds is a non-empty list of mask kinds."""
    from ganfill.masks import KINDS  # here: the masks module loads OpenCV

    unknown = sorted(set(kinds) - set(KINDS))
    _check(bool(kinds) and not unknown, f"{name} must be mask kinds ({', '.join(KINDS)}): {unknown}")


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass, as one line per field."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):
        if not dataclasses.is_dataclass(klass):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for node, after in itertools.pairwise(body):
            doc = getattr(after, "value", None)
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(after, ast.Expr)
                and isinstance(doc, ast.Constant)
                and isinstance(doc.value, str)
            ):
                docs[node.target.id] = " ".join(doc.value.split())
    return docs


class _Config:
    """to_dict / from_dict shared by every settings class."""

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values (a run's config.json, a job's manifest, the API)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The config from a dict, ignoring keys it does not know (older or newer files)."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


REGIONS: dict[str, tuple[int, int, int, int]] = {"face": (0, 0, 64, 64), "mouth": (30, 8, 24, 48)}
"""(top, left, height, width) of each region a pair can draw, in 64ths of the aligned frame's side:
the whole face, or the mouth's box (the mouth mask's 18x32 with 3 px above and below and 8 at each
side, so that the cheeks' and chin's pixels around a mouth hole are the search's context)."""


@dataclass(frozen=True)
class ModelConfig(_Config):
    """Sizes of the DCGAN pair; everything needed to rebuild the networks from weights."""

    image_size: int = 64
    """Side of the square aligned frame, a power of two >= 16."""
    region: Literal["face", "mouth"] = "face"
    """What of that frame the pair draws: the whole face, or only the mouth's box (a part
    generator, all of whose width goes to lips and teeth; it redraws the face generator's mouth)."""
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
        _check(self.region in REGIONS, f"region must be one of {', '.join(REGIONS)}, got {self.region!r}")
        _check(self.z_dim >= 1, f"z_dim must be >= 1, got {self.z_dim}")
        _check(self.gf_dim >= 1 and self.df_dim >= 1, "gf_dim and df_dim must be >= 1")

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(top, left, height, width) in pixels of the frame that the pair draws."""
        return tuple(v * self.image_size // 64 for v in REGIONS[self.region])  # type: ignore[return-value]

    @property
    def n_layers(self) -> int:
        """Number of stride-2 (de)convolutions: halvings of the shorter side while it stays at
        least 4 (at least 3 for a part's box): 64 -> 4 layers, 16 -> 2, the mouth's 24x48 -> 3."""
        side = min(self.box[2:])
        n = 0
        while side % 2 ** (n + 1) == 0 and side // 2 ** (n + 1) >= 3:
            n += 1
        return n

    @property
    def base(self) -> tuple[int, int]:
        """Height and width of the generator's first feature map (4x4 for a square frame)."""
        return self.box[2] >> self.n_layers, self.box[3] >> self.n_layers


Device = Literal["auto", "cpu", "cuda", "mps"]


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How to train: optimiser, schedule, output cadence; saved as the run's config.json."""

    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 25
    """Passes over the data (unless max_steps is given)."""
    max_steps: int | None = None
    """Stop after this many D updates in total, whatever the number of epochs."""
    batch_size: int = 64
    """Images per step per process."""
    lr: float = 2e-4
    """Adam learning rate of G and D."""
    beta1: float = 0.5
    """Adam beta1 of G and D."""
    g_steps: int = 2
    """Generator updates per discriminator update (carpedm20's reference uses 2)."""
    ema: float = 0.999
    """Decay of the exponential moving average of G's weights; 0 turns it off."""
    shorten: float = 0.0
    """Train G on shortened codes too: each code drawn from U[-1, 1]^z_dim is scaled by a factor
    from U[1 - shorten, 1]. A completion's search ends at about 0.7 of the prior's typical length
    (BENCHMARKS.md "Session 32"), where a generator trained on the prior alone draws softer faces
    with paler lips; there D then sees them too. 0: the prior alone (the reference)."""
    crop: int | None = None
    """Centre-crop this many pixels before resizing (108 for raw CelebA, as carpedm20)."""
    flip: bool = True
    """Random horizontal flips of the training faces."""
    seed: int = 0
    """Seed of the initialisation, the data order and every step's randomness."""
    device: Device = "auto"
    """auto prefers CUDA, then MPS, then the CPU."""
    workers: int = 2
    """Threads used to decode the image folder once."""
    sample_every: int = 500
    """Steps between sample grids (samples/step_N.png)."""
    checkpoint_every: int = 1000
    """Steps between checkpoints."""
    keep_checkpoints: int = 3
    """Checkpoints kept besides latest."""
    log_every: int = 10
    """Steps between rows of metrics.csv."""
    channels_last: bool = True
    """Channels-last memory format (faster convolutions on most hardware)."""
    amp: bool = False
    """bfloat16 autocast where the hardware multiplies it natively (CUDA; a CPU with AMX: 1.3-1.4x
    the images per second, BENCHMARKS.md); ignored elsewhere. Weights and optimiser stay float32."""
    init_from: str | None = None
    """Start from a model file's weights (its generator and discriminator), with fresh optimisers."""
    exclude_file: str | None = None
    """A split file of file stems never to train on (the held-out split), with those its
    NAME_twins.txt beside it lists (copies of its faces under other names)."""

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        _check(self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1")
        _check(self.batch_size >= 2, f"batch_size must be >= 2 (batch-norm), got {self.batch_size}")
        _check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check(0 <= self.beta1 < 1, f"beta1 must be in [0, 1), got {self.beta1}")
        _check(self.g_steps >= 1, f"g_steps must be >= 1, got {self.g_steps}")
        _check(0 <= self.ema < 1, f"ema must be in [0, 1), got {self.ema}")
        _check(0 <= self.shorten < 1, f"shorten must be in [0, 1), got {self.shorten}")
        _check(self.crop is None or self.crop >= 1, "crop must be >= 1")
        _check(self.sample_every >= 1 and self.checkpoint_every >= 1, "cadences must be >= 1")
        _check(self.keep_checkpoints >= 1, "keep_checkpoints must be >= 1")
        _check(self.log_every >= 1, "log_every must be >= 1")
        _check(self.workers >= 1, "workers must be >= 1")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A config from its to_dict() form (as in config.json), ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["model"] = ModelConfig.from_dict(data.get("model", {}))
        return cls(**values)

    def updated(self, changes: dict[str, Any]) -> TrainConfig:
        """This config with some fields changed; ModelConfig's fields may be given flat."""
        model_names = {f.name for f in dataclasses.fields(ModelConfig)}
        model = dataclasses.replace(self.model, **{k: v for k, v in changes.items() if k in model_names})
        rest = {k: v for k, v in changes.items() if k not in model_names}
        return dataclasses.replace(self, model=model, **rest)


@dataclass(frozen=True)
class EncoderTrainConfig(_Config):
    """How to train the search's starting-point encoder against a frozen generator."""

    steps: int = 2000
    """Optimiser steps."""
    batch_size: int = 64
    """Faces per step (generated and real together)."""
    lr: float = 2e-4
    """Adam learning rate."""
    ef_dim: int = 64
    """Width of the encoder's first layer."""
    z_weight: float = 1.0
    """Weight of ||E(x) - z||^2 on generated samples."""
    pixel_weight: float = 1.0
    """Weight of the mean L1 of G(E(x)) on known pixels."""
    hole_weight: float = 1.0
    """Weight of the mean L1 of G(E(y)) on the missing pixels of real faces, whose truth is known in
    training: E learns to guess what the hole held, not only to fit what is around it."""
    prior_weight: float = 0.01
    """Weight of D's opinion of G(E(y)) on real faces."""
    latent_weight: float = 0.0
    """Weight of the sliced Wasserstein distance between a batch of guesses E(y) and draws from
    the prior: the regression terms pull guesses to the mean of the faces that fit (an average,
    blurred face); this keeps them spread like real codes, where the generator draws detail."""
    real_fraction: float = 0.5
    """Share of each batch taken from real faces (when a data folder is given)."""
    masks: tuple[str, ...] = (
        "center",
        "random",
        "left",
        "right",
        "top",
        "bottom",
        "grid",
        "pattern",
        "strokes",
        "rectangle",
    )
    """Kinds of mask drawn, one per face at random (a kind named twice is drawn twice as often):
    rectangles are what boxes drawn on photos become in the aligned frame."""
    amp: bool = False
    """bfloat16 autocast of the networks' passes where the hardware multiplies it natively (CUDA; a
    CPU with AMX); the losses and the encoder's weights stay float32. Ignored elsewhere."""
    seed: int = 0
    """Seed of the initialisation, the masks and the batches."""
    device: Device = "auto"
    """auto prefers CUDA, then MPS, then the CPU (the generator, D and the encoder move there)."""

    def __post_init__(self) -> None:
        _check(self.steps >= 1, f"steps must be >= 1, got {self.steps}")
        _check(self.batch_size >= 2, f"batch_size must be >= 2 (batch-norm), got {self.batch_size}")
        _check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check(self.ef_dim >= 1, f"ef_dim must be >= 1, got {self.ef_dim}")
        weights = (self.z_weight, self.pixel_weight, self.hole_weight, self.prior_weight, self.latent_weight)
        _check(all(w >= 0 for w in weights), "loss weights must be >= 0")
        _check(0 <= self.real_fraction <= 1, f"real_fraction must be in [0, 1], got {self.real_fraction}")
        _check_kinds("masks", self.masks)


@dataclass(frozen=True)
class FinisherTrainConfig(_Config):
    """How `ganfill train-finisher` trains the detail finisher on large aligned faces."""

    steps: int = 20000
    """Optimiser steps."""
    batch_size: int = 16
    """Faces per step."""
    lr: float = 2e-4
    """Adam learning rate of the finisher and of its critic."""
    width: int = 32
    """Channels of the finisher's trunk."""
    blocks: int = 5
    """Residual blocks of the trunk."""
    scale: int = 3
    """Output side over the completion's: 3 draws 64-px completions at 192 px for photos; 1 is the
    detail pass at the model's own size (trained on faces aligned at 64 px)."""
    keep: int = 1
    """The finisher holds the completion's means over keep x keep model pixels: 1 every 64-px
    pixel, 2 the 32-px content (it may then also sharpen the 64-px detail the search drew soft;
    the bundled finisher's). A run continued with --init-from takes this value, not its start's."""
    highpass: float = 0.0
    """Instead of holding keep-block means, take off the Gaussian blur (this std, in model
    pixels) of the network's change: the coarse content is held smoothly, with no block edges
    (keep must then be 1). Only for a detail pass (scale 1)."""
    crop: int = 96
    """Side of the square each face is cut to around its hole (a multiple of 3 keep; 0: the
    whole face). The finisher is convolutional: a crop teaches it the same at a quarter of the
    cost."""
    context: bool = True
    """Give the finisher the true face around a hole of a kind people mask. Off (--no-context), a
    detail pass learns as it is used: the whole crop is redrawn from its blurred copy with no
    photo around it, and only its brightness changes (finisher.add_detail)."""
    border: int = 0
    """Without context: pixels each face is mirrored beyond its frame, as the detail pass sees
    it at use (finisher.BORDER); crops are cut that much wider and scored on the face's own
    pixels. 0, as the bundled pass was trained."""
    soften: float = 0.0
    """Blur the block means the finisher is given by a Gaussian of std drawn from [0, soften]
    (64-px pixels) each step: the search's fills are softer than a real face's means, and the
    finisher then learns to draw a real face's detail over them as well."""
    l1_weight: float = 1.0
    """Weight of the mean L1 against the true face inside the hole."""
    adv_weight: float = 0.02
    """Weight of the patch critic's opinion of the hole (hinge loss): L1 alone draws the mean of
    the details that fit, a smooth face; the critic rewards details that look real."""
    detail_weight: float = 0.5
    """Weight of (log of the fill's mean |Laplacian| over the truth's)^2 inside each hole: the
    amount of fine detail, neither blur nor noise."""
    holes: tuple[str, ...] = (
        "center",
        "left",
        "right",
        "top",
        "bottom",
        "eyes",
        "mouth",
        "strokes",
        "pattern",
    )
    """Kinds of hole drawn, one per face at random (a kind named twice is drawn twice as often):
    the holes people mask in photos."""
    critic_warmup: int = 0
    """Steps, before the first of `steps`, in which only the critic learns: for a run continued
    from a finisher whose critic was not kept (the bundled file), so that a fresh critic's first
    opinions do not pull the finisher's detail down. A critic file beside --init-from is loaded."""
    save_every: int = 500
    """Write the finisher file (and its critic beside it, NAME.critic.safetensors) every N steps
    (a stopped run keeps its last one)."""
    seed: int = 0
    """Seed of the initialisation, the masks and the batches."""
    device: Device = "auto"
    """auto prefers CUDA, then MPS, then the CPU (the finisher, its critic and the guessing model
    move there; the detail pass over the guesses stays on the CPU, as at use)."""

    def __post_init__(self) -> None:
        _check(self.steps >= 1 and self.save_every >= 1, "steps and save_every must be >= 1")
        _check(self.critic_warmup >= 0, f"critic_warmup must be >= 0, got {self.critic_warmup}")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        _check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check(self.width >= 1 and self.blocks >= 0, "width must be >= 1 and blocks >= 0")
        _check(self.keep in (1, 2, 4), f"keep must be 1, 2 or 4, got {self.keep}")
        _check(self.scale in (1, 3), f"scale must be 1 or 3, got {self.scale}")
        _check(self.highpass >= 0, f"highpass must be >= 0, got {self.highpass}")
        _check(not self.highpass or (self.scale, self.keep) == (1, 1), "highpass needs scale 1 and keep 1")
        _check(
            self.scale * self.keep > 1 or self.highpass,
            "scale 1 needs keep 2 or 4 or a highpass (keep 1 alone would hold every pixel)",
        )
        grid = self.scale * self.keep
        _check(self.crop >= 0 and self.crop % grid == 0, f"crop must be a multiple of {grid}: {self.crop}")
        _check(self.soften >= 0, f"soften must be >= 0, got {self.soften}")
        _check(self.context or self.scale == 1, "only a detail pass (scale 1) trains without context")
        _check(self.border >= 0 and (self.border == 0 or not self.context), "border needs --no-context")
        weights = (self.l1_weight, self.adv_weight, self.detail_weight)
        _check(all(w >= 0 for w in weights), "loss weights must be >= 0")
        _check_kinds("holes", self.holes)


@dataclass(frozen=True)
class ColouriserTrainConfig(_Config):
    """How `ganfill train-colouriser` trains the network that colours the hole from real faces."""

    steps: int = 5000
    """Optimiser steps (cosine-decayed learning rate)."""
    batch_size: int = 32
    """Faces per step."""
    lr: float = 2e-3
    """Adam's starting learning rate."""
    width: int = 32
    """Channels of the U-Net's first level (then 2x and 4x)."""
    soften: float = 1.2
    """Blur the hole's luma by a Gaussian of std drawn from [0, soften] (model pixels) each step:
    the search's fills are softer than a real face, and the colours must follow their luma too."""
    holes: tuple[str, ...] = ("mouth", "eyes", "center", "rectangle", "pattern", "strokes", "mouth", "eyes")
    """Kinds of hole drawn, one per face at random (a kind named twice is drawn twice as often)."""
    save_every: int = 1000
    """Write the colouriser file every N steps (a stopped run keeps its last one)."""
    seed: int = 0
    """Seed of the initialisation, the masks and the batches."""

    def __post_init__(self) -> None:
        _check(self.steps >= 1 and self.save_every >= 1, "steps and save_every must be >= 1")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        _check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check(self.width >= 1, f"width must be >= 1, got {self.width}")
        _check(self.soften >= 0, f"soften must be >= 0, got {self.soften}")
        _check_kinds("holes", self.holes)


@dataclass(frozen=True)
class ExemplarConfig(_Config):
    """How `ganfill build-exemplars` makes the library of real faces whose detail photos' fills take."""

    keep: float = 0.4
    """Fraction of the folder's faces kept: the sharpest (fine detail over contrast around the
    eyes, nose and mouth), so that blurred or upscaled faces lend no detail."""
    quality: int = 90
    """JPEG quality of the stored grey faces (90: about 1.6 KB a 64-px face)."""
    size: int = 64
    """Side of the aligned faces: the model's frame."""

    def __post_init__(self) -> None:
        _check(0 < self.keep <= 1, f"keep must be in (0, 1], got {self.keep}")
        _check(1 <= self.quality <= 100, f"quality must be 1-100, got {self.quality}")
        _check(self.size >= 16, f"size must be >= 16, got {self.size}")


@dataclass(frozen=True)
class CompletionConfig(_Config):
    """How to search the latent space for one completion (Yeh et al. 2017, section 3)."""

    iters: int | None = None
    """Search steps on z; default (schedule.plan): 1500 from a random start (the paper); from the
    encoder's start 100, or 10 on an open hole such as a half face."""
    lam: float = 0.0
    """Weight of the prior (GAN) loss; the paper uses 0.003, the reference code 0.1. Default 0:
    on held-out faces it changed no metric measurably, and D's passes cost 40% of every step."""
    lr: float | None = None
    """Step size; default 0.01, or 0.04 from the encoder's start on scattered masks (random
    pixels, a grid), whose known pixels pin the whole face down."""
    optimizer: Literal["adam", "momentum"] = "adam"
    """adam, or the blog's Nesterov momentum."""
    beta1: float = 0.9
    """Adam's beta1 (paper and reference HEAD: 0.9)."""
    momentum: float = 0.9
    """Nesterov momentum for the blog's update rule."""
    weighting: Literal["paper", "none"] = "paper"
    """Context-loss weights: the paper's 7x7 importance weights, or 1 everywhere (the blog)."""
    prior: Literal["nonsaturating", "saturating"] = "nonsaturating"
    """-log D(G(z)) as the reference code, or log(1 - D(G(z))) as the blog's text."""
    window: int = 7
    """Side of the importance weights' window (odd)."""
    restarts: int | None = None
    """Starts per image searched together; the lowest final loss wins. Default: 4 from the
    encoder's start when the search draws around the guess (spread), else 1."""
    blend: Literal["poisson", "none"] = "poisson"
    """poisson, or none: M*y + (1-M)*G(z) pasted."""
    dilate: int = 0
    """Grow the hole by this many pixels (the input's: the photo's with align) before completing,
    as inpainting tools grow a selection, so that the fill also covers an object's soft edge."""
    feather: int = 0
    """Fade the fill into the kept pixels across the hole's outer N pixels (a soft seam, for a
    hole grown with dilate); 0: the fill meets the kept pixels at the hole's edge."""
    grain: float = 1.0
    """With align: how much of the photo's own finest grain (measured around the hole: noise,
    film grain, pores) is added to the fill where it is smoother than the photo, so that it does
    not show as a pasted smooth patch (ganfill.grain): 0 none, 1 matched, up to 2."""
    lowres_factor: int = 8
    """For the lowres mask: the context loss compares images downsampled by this factor."""
    save_every: int = 0
    """Record hats and completions every N iterations (0: never)."""
    init: Literal["auto", "random", "encoder"] = "auto"
    """Where the search starts: the model's encoder's guess, or U[-1, 1]; auto = encoder if any."""
    spread: float | None = None
    """From the encoder's start: std of Gaussian noise added to its guess. The encoder, trained
    for the mean, guesses the average of the faces that fit the context; a draw around it is one
    of them, with its own detail, but further from the person (identity). Default 0: the guess,
    whose detail the detail pass draws."""
    shell: float = 0.0
    """Least length of z in the search, as a share of the prior's typical length (sqrt(z_dim / 3)
    for U[-1, 1]^z_dim), each code pushed out along its direction: codes nearer the origin draw
    the soft, paler average face, and the encoder's guesses and the search end at about 0.7 of it
    (BENCHMARKS.md "Session 32"). 1 keeps them where the prior's samples lie, as PULSE (Menon et
    al. 2020) keeps its codes on a sphere: more real, more colourful 64-px mouths for 0.3 dB of hole
    PSNR (the eyes more colourful, as real; the centre less real), no gain in photos beside the
    exemplar library. 0: the paper's cube alone."""
    prune_after: int | None = None
    """With restarts: after this many steps only each image's best start searches on (0: all
    run to the end), so that several starts cost little more than one. Default 10, or 0 when
    several samples are asked for."""
    detail: float | None = None
    """Strength of the model's detail pass, which redraws the generator's face before blending
    (brightness detail over the search's soft face, its coarse content kept, so the face it
    decided stays): 0 off, 1 as trained. Default, when the model has one: from the encoder's
    start 1 on holes and 0.6 on narrow ones (blobs, strokes, scattered pixels: most missing
    pixels within 3 px of a known one, whose detail the blend carries in); 0 for the paper's
    search from a random start."""
    symmetry: float | None = None
    """Tolerance of the mirror detail: where a missing pixel's mirror image across the aligned
    face's centre line is known and their coarse colours agree (mean |difference| below this, on
    the [-1, 1] scale), the fill's fine detail is the mirror's: the person's own lids, brows and
    lip lines (ganfill.symmetry). 0 off. Default from the encoder's start 0.25, and 0.3 on a half
    face; 0 for the paper's search from a random start."""
    colour: float | None = None
    """Strength of the model's colouriser, which gives the hole's fill the colours real faces have
    under its luma (lips redder than the skin, no grey ring around teeth; the luma, what the search
    decided, stays): 0 off, 1 its colours, 0.5 half-way from the generator's. Default, when there
    is one: 0.5 from the encoder's start on holes (centre, eyes, mouth, boxes), where it was
    measured; 0 on narrow holes and scattered pixels (whose colours the blend carries in), half
    faces, lowres, and the paper's search."""
    mouth_steps: int | None = None
    """Search steps of the mouth generator (--mouth), which redraws the fill in the mouth's box
    where a hole covers it (ganfill.mouth; nearer the truth and more real than the face
    generator's mouth on 256 held-out faces, BENCHMARKS.md "Session 43"): 0 off. Default, when
    there is one: 150 from the encoder's start on holes covering a quarter of the box (centre,
    mouth, boxes), not on narrow holes, scattered pixels, half faces, lowres or the paper's search."""
    tune: int | None = None
    """Steps of pivotal tuning after the search (ganfill.tuning): a copy of G is fitted to the
    face's known pixels around z*, its faces of random codes kept, so that the fill is drawn by a
    generator that can draw this face's mouth (closed lips where G draws the average grin). 0 off.
    Default: 50 from the encoder's start on holes over the mouth that leave the eyes (the mouth
    mask, a box on the mouth), where in held-out photos it was nearer the truth and as real;
    0 elsewhere (on the eyes and the centre it cost realism and identity; BENCHMARKS.md "Session
    48"). It costs about 4 s a face on a 2-core CPU (benchmarks/large_photo.py)."""
    tune_lr: float = 3e-4
    """Adam's step size for the tuned generator's weights."""
    tune_locality: float = 1.0
    """Weight of the tuned generator's locality term (its faces of random codes against G's)."""
    precision: Literal["float32", "bfloat16"] | None = None
    """Number format of the search's passes through G (the final G(z*) is drawn in float32).
    Default: bfloat16 from the encoder's start where the hardware multiplies it natively (CUDA;
    a CPU with AMX) and 8 or more searches run side by side: completions 1.45-1.9x faster,
    fills within float noise of float32's (BENCHMARKS.md); else float32 (a photo's one face,
    which bfloat16's conversions would slow), and always for the paper's random start. Asked
    for where it is emulated (a CPU without AMX), it warns: there it is slower, not faster."""
    tol: float = 0.0
    """Early stop per image when the loss improves by less than this (relative) over `patience`."""
    patience: int = 50
    """Steps without `tol` improvement before an image stops."""

    def __post_init__(self) -> None:
        _check(self.iters is None or self.iters >= 0, f"iters must be >= 0, got {self.iters}")
        _check(self.lam >= 0, f"lam must be >= 0, got {self.lam}")
        _check(self.lr is None or self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check_choice(self, "optimizer", "weighting", "prior", "blend", "init")
        _check(0 <= self.beta1 < 1 and 0 <= self.momentum < 1, "beta1 and momentum must be in [0, 1)")
        _check(self.window >= 1 and self.window % 2 == 1, "window must be odd and >= 1")
        _check(self.restarts is None or self.restarts >= 1, f"restarts must be >= 1, got {self.restarts}")
        _check(self.save_every >= 0, "save_every must be >= 0")
        _check(self.lowres_factor >= 1, "lowres_factor must be >= 1")
        _check(
            self.precision in (None, "float32", "bfloat16"),
            f"precision must be float32 or bfloat16, got {self.precision!r}",
        )
        _check(self.tol >= 0 and self.patience >= 1, "tol must be >= 0 and patience >= 1")
        _check(self.spread is None or self.spread >= 0, f"spread must be >= 0, got {self.spread}")
        _check(0 <= self.shell <= 1.5, f"shell must be in [0, 1.5], got {self.shell}")
        _check(self.detail is None or 0 <= self.detail <= 2, f"detail must be in [0, 2], got {self.detail}")
        _check(self.colour is None or 0 <= self.colour <= 1, f"colour must be in [0, 1], got {self.colour}")
        _check(
            self.mouth_steps is None or self.mouth_steps >= 0,
            f"mouth_steps must be >= 0, got {self.mouth_steps}",
        )
        _check(self.tune is None or self.tune >= 0, f"tune must be >= 0, got {self.tune}")
        _check(self.tune_lr > 0 and self.tune_locality >= 0, "tune_lr must be > 0 and tune_locality >= 0")
        _check(self.symmetry is None or self.symmetry >= 0, f"symmetry must be >= 0, got {self.symmetry}")
        _check(0 <= self.dilate <= 512, f"dilate must be in [0, 512] pixels, got {self.dilate}")
        _check(0 <= self.feather <= 512, f"feather must be in [0, 512] pixels, got {self.feather}")
        _check(0 <= self.grain <= 2, f"grain must be in [0, 2], got {self.grain}")
        _check(
            self.prune_after is None or self.prune_after >= 0,
            f"prune_after must be >= 0, got {self.prune_after}",
        )


def _check_choice(config: object, *names: str) -> None:
    """Each named Literal field holds one of its choices (JSON and Python callers bypass argparse)."""
    hints = typing.get_type_hints(type(config))
    for name in names:
        choices = typing.get_args(hints[name])
        value = getattr(config, name)
        _check(value in choices, f"{name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class MaskConfig(_Config):
    """Which mask each image gets: a generated kind with its parameters, or a mask file."""

    mask: str = "center"
    """center, random, left, right, top, bottom, grid, lowres, pattern, strokes, eyes, mouth,
    rectangle; or a mask image for every input, or a folder of masks matched by file stem (white =
    fill). With align, a kind that is a region of a face (not random, grid, lowres) is drawn in
    every face's frame."""
    center_scale: float = 0.25
    """center hole from scale to 1-scale of the side (0.25: 32x32 at 64)."""
    fraction: float = 0.8
    """random mask: share of pixels missing."""
    pattern_fraction: float = 0.25
    """pattern mask: share of the image missing."""
    stroke_width: Literal["thin", "medium", "thick"] = "medium"
    """strokes mask: brush width."""

    def __post_init__(self) -> None:
        _check(0 < self.center_scale < 0.5, f"center_scale must be in (0, 0.5), got {self.center_scale}")
        _check(0 < self.fraction < 1, f"fraction must be in (0, 1), got {self.fraction}")
        _check(
            0 < self.pattern_fraction < 1, f"pattern_fraction must be in (0, 1), got {self.pattern_fraction}"
        )
        _check_choice(self, "stroke_width")

    def params(self) -> dict[str, object]:
        """The keyword arguments of the mask generator masks.make(self.mask, ...)."""
        return {
            "center": {"scale": self.center_scale},
            "random": {"fraction": self.fraction},
            "pattern": {"fraction": self.pattern_fraction},
            "strokes": {"width": self.stroke_width},
        }.get(self.mask, {})


@dataclass(frozen=True)
class RunConfig(_Config):
    """What a completion run returns and how it is batched (the CLI's complete and the API)."""

    samples: int = 1
    """Distinct completions kept per image, best first (NAME.sampleK.png); restarts is raised to it."""
    seed: int = 0
    """Seed of the generated masks and the random starts; each image's draw depends only on it and
    on the image's position."""
    batch_size: int = 64
    """Images searched together."""

    def __post_init__(self) -> None:
        _check(self.samples >= 1, f"samples must be >= 1, got {self.samples}")
        _check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class AlignConfig(_Config):
    """How `ganfill align` finds faces and warps them to the model's frame."""

    size: int = 64
    """Output side in pixels."""
    landmarks: Literal["inner-eyes-bottom-lip", "outer-eyes-nose"] = "inner-eyes-bottom-lip"
    """The three landmarks mapped to OpenFace's template."""
    all_faces: bool = False
    """Every face of a photo, not only the largest."""
    assume_cropped: bool = False
    """Inputs are face crops: when no face is detected, take the image centre as the face box."""
    cnn_fallback: bool = True
    """Where the HOG detector finds no face, try dlib's CNN detector (finds dark and turned faces; slower)."""
    workers: int = 2
    """Processes."""

    def __post_init__(self) -> None:
        _check(self.size >= 16, f"size must be >= 16, got {self.size}")
        _check(self.workers >= 1, f"workers must be >= 1, got {self.workers}")
        _check_choice(self, "landmarks")


@dataclass(frozen=True)
class ServeConfig(_Config):
    """Where `ganfill serve` listens and what a request may carry."""

    host: str = "127.0.0.1"
    """Address to listen on (loopback only by default)."""
    port: int = 7860
    """TCP port."""
    max_concurrent: int = 1
    """Completions run at once."""
    max_queue: int = 4
    """Requests that may wait; more get 503 with Retry-After."""
    max_upload_mb: float = 10.0
    """Request size limit in MB."""
    max_pixels: int = 25_000_000
    """Image size limit in pixels."""
    max_iters: int = 5000
    """Most search steps a request may ask for."""
    max_restarts: int = 16
    """Most starts per face a request may ask for."""
    max_samples: int = 8
    """Most alternatives a request may ask for."""

    def __post_init__(self) -> None:
        _check(0 <= self.port < 65536, f"port must be in [0, 65535], got {self.port}")
        _check(self.max_concurrent >= 1 and self.max_queue >= 0, "max_concurrent >= 1 and max_queue >= 0")
        _check(self.max_upload_mb > 0 and self.max_pixels > 0, "upload limits must be > 0")
        _check(min(self.max_iters, self.max_restarts, self.max_samples) >= 1, "request limits must be >= 1")


@dataclass(frozen=True)
class ModelSource(_Config):
    """Which model a command loads, and where it runs."""

    model: str | None = None
    """Model file or run folder (default: the bundled face model)."""
    finisher: str | None = None
    """Finisher file that draws faces larger than the model's frame in photos at 3x, with a real
    face's detail (default: the bundled one for 64-px models); none: warp the fill up instead."""
    detail_pass: str | None = None
    """Detail-pass file that redraws every default fill's finest detail at the model's size
    (default: the bundled one for 64-px models); none: the search's fill as it is."""
    exemplars: str | None = None
    """Library of real aligned faces whose fine detail the fills of photos take, matched to the
    face around the hole (default: the bundled one for 64-px models); none: the generator's
    detail alone (`ganfill build-exemplars`)."""
    colouriser: str | None = None
    """Colouriser file that gives each fill's hole the colours real faces have under its light and
    shade (default: the bundled one for 64-px models); none: the generator's colours
    (`ganfill train-colouriser`)."""
    mouth: str | None = None
    """Mouth model file, a pair trained on the mouth's box (`ganfill train --region mouth`) that
    redraws a fill's mouth where a hole covers it (default: weights/mouth.safetensors for 64-px
    models where the install holds one; none is bundled yet, BENCHMARKS.md "Session 43"); none: the
    face generator's mouth."""
    device: Device = "auto"
    """auto prefers CUDA, then MPS, then the CPU."""


@dataclass(frozen=True)
class OutputConfig(_Config):
    """What `complete` writes besides NAME.png, the grids and losses.csv."""

    keep_hats: bool = False
    """Also write G(z*) as NAME.hat.png."""
    gif: bool = False
    """An animated completion.gif of the first batch's search (about 40 frames unless save_every)."""
    align: bool = False
    """The inputs are ordinary photos: find the faces, complete them in the model's frame and change
    only the masked pixels of the photo (a mask file in photo pixels, box, or a mask kind that is a
    region of a face, drawn in every face's frame)."""
    box: str | None = None
    """With align: the region x,y,w,h in photo pixels to fill."""
    save_masks: bool = False
    """Also write NAME.mask.png: the mask each input was filled in (white = fill), a kind as drawn in
    its faces, the hole grown by dilate; to look at, edit and give back with --mask."""
    background_io: bool = True
    """Decode the next batch and write the last one on background threads while searching."""

    def __post_init__(self) -> None:
        _check(self.box is None or self.align, "box needs align (a region of an ordinary photo)")
        _check(
            not (self.align and (self.keep_hats or self.gif)),
            "keep_hats and gif show the search on aligned faces; with align a photo is written whole",
        )
        _check(
            self.box is None or self.box_tuple is not None,
            f"box wants x,y,w,h with w, h > 0, got {self.box!r}",
        )

    @property
    def box_tuple(self) -> tuple[int, int, int, int] | None:
        """The box as integers, or None when absent or malformed."""
        try:
            x, y, w, h = (int(v) for v in (self.box or "").split(","))
        except ValueError:
            return None
        return (x, y, w, h) if w > 0 and h > 0 else None


@dataclass(frozen=True)
class EvalConfig(_Config):
    """Which faces, masks and methods `ganfill eval` compares."""

    masks: tuple[str, ...] = ("center", "random", "left", "pattern")
    """Mask kinds, comma-separated."""
    methods: tuple[str, ...] = ("ganfill", "telea", "ns", "biharmonic", "patchmatch", "mean")
    """Comma-separated: ganfill, telea, ns, biharmonic, patchmatch, mean, bicubic (lowres only);
    ganfill:iters=100:optimizer=momentum compares ganfill configurations."""
    split: str | None = None
    """Only the file stems listed in this split file (e.g. the held-out split)."""
    limit: int | None = None
    """At most this many images."""
    face_metrics: bool = True
    """Identity distance, FD-face and landmarks (dlib); off: pixel metrics only."""
    seed: int = 0
    """Seed of the masks and of ganfill's starts."""

    def __post_init__(self) -> None:
        _check(len(self.masks) > 0 and len(self.methods) > 0, "masks and methods must not be empty")
        _check(self.limit is None or self.limit >= 1, f"limit must be >= 1, got {self.limit}")


@dataclass(frozen=True)
class ModelEvalConfig(_Config):
    """How `ganfill eval-model` scores generators against held-out faces."""

    samples: int = 2000
    """Samples G(z) per model."""
    split: str | None = None
    """Only the real faces whose file stems this split file lists (default: the held-out split)."""
    seed: int = 0
    """Seed of the samples and of SWD's random patches and directions."""
    faces: bool = True
    """Score FD-face, precision and recall in dlib's face embeddings (about 0.1 s a face on one CPU
    core); off: SWD and detail alone, to choose among a run's snapshots fast or without dlib."""

    def __post_init__(self) -> None:
        _check(self.samples >= 8, f"samples must be >= 8, got {self.samples}")
