"""An encoder E(masked image, mask) -> z that starts the latent search near its answer.

E is trained against a frozen generator: on samples G(z) under random masks of every kind
(loss on z and on the known pixels of G(E(x))) and on real faces (reconstruction of the known
pixels, of the missing pixels whose truth is known in training, and D's opinion of G(E(y)), so
that its guesses stay in the generator's domain).
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ganfill import masks as mask_kinds
from ganfill.checkpoint import Model, load_model, save_model
from ganfill.inversion import frozen
from ganfill.losses import prior_loss
from ganfill.models import init_weights, sample_z

TRAIN_MASKS = ("center", "random", "left", "right", "top", "bottom", "grid", "pattern", "strokes")


class Encoder(nn.Module):
    """Stride-2 convolutions over [y * M, M] (4 channels), then linear and tanh -> z in [-1, 1]."""

    def __init__(self, image_size: int, z_dim: int, ef_dim: int = 64):
        super().__init__()
        self.spec = {"image_size": image_size, "z_dim": z_dim, "ef_dim": ef_dim}
        layers: list[nn.Module] = []
        width_in, width = 4, ef_dim
        for i in range(int(np.log2(image_size)) - 2):
            layers += [nn.Conv2d(width_in, width, 5, 2, padding=2, bias=i == 0)]
            layers += [nn.BatchNorm2d(width)] if i > 0 else []
            layers += [nn.LeakyReLU(0.2, inplace=True)]
            width_in, width = width, width * 2
        self.convs = nn.Sequential(*layers)  # [B, ef*8, 4, 4] at 64x64
        self.head = nn.Linear(width_in * 16, z_dim)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Encoder:
        return cls(**spec)

    def forward(self, images: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """images [B, 3, S, S] in [-1, 1], known [B, 1, S, S] -> z [B, z_dim] in [-1, 1]."""
        x = torch.cat([images * known, known], 1)  # unknown pixels carry no information
        return torch.tanh(self.head(self.convs(x).flatten(1)))


@dataclass(frozen=True)
class EncoderTrainConfig:
    """How to train the encoder against a frozen generator."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    ef_dim: int = 64
    z_weight: float = 1.0
    """Weight of ||E(x) - z||^2 on generated samples."""
    pixel_weight: float = 1.0
    """Weight of the mean L1 of G(E(x)) on known pixels."""
    hole_weight: float = 1.0
    """Weight of the mean L1 of G(E(y)) on the missing pixels of real faces, whose truth is known
    in training: E learns to guess what the hole held, not only to fit what is around it."""
    prior_weight: float = 0.01
    """Weight of D's opinion of G(E(y)) on real faces."""
    real_fraction: float = 0.5
    """Share of each batch taken from real faces (when a data folder is given)."""
    seed: int = 0


def random_masks(n: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """n known-masks [n, 1, S, S], each of a kind drawn at random (every kind the CLI offers)."""
    kinds = rng.choice(TRAIN_MASKS, n)
    seeds = rng.integers(0, 2**31, n)
    out = [mask_kinds.make(str(k), 1, size, seed=int(s))[0] for k, s in zip(kinds, seeds, strict=True)]
    return torch.from_numpy(np.stack(out))[:, None]


def train_encoder(
    model: Model,
    config: EncoderTrainConfig,
    *,
    faces: torch.Tensor | None = None,
    start: Encoder | None = None,
    progress: bool = True,
) -> tuple[Encoder, list[dict[str, float]]]:
    """Train E for a frozen model; faces: uint8 [N, 3, S, S] real faces, or None for samples only.

    start: an encoder to continue from (e.g. the one trained for an earlier snapshot of the same
    generator), which reaches a given loss in fewer steps than a fresh one.
    """
    g, d = model.generator, model.discriminator
    size, z_dim = model.config.image_size, model.config.z_dim
    torch.manual_seed(config.seed)
    enc = Encoder(size, z_dim, config.ef_dim)
    if start is None:
        init_weights(enc)
    elif start.spec != enc.spec:
        raise ValueError(f"the starting encoder has shape {start.spec}, this model needs {enc.spec}")
    else:
        enc.load_state_dict(start.state_dict())
    enc.train()
    opt = torch.optim.Adam(enc.parameters(), lr=config.lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    n_real = int(config.batch_size * config.real_fraction) if faces is not None else 0
    n_fake = config.batch_size - n_real
    log: list[dict[str, float]] = []
    start = time.perf_counter()
    with frozen(g, d):
        for step in tqdm(range(config.steps), disable=not progress, unit="step", file=sys.stderr):
            z = sample_z(n_fake, z_dim, generator=gen)
            with torch.no_grad():
                fake = g(z)  # [n_fake, 3, S, S]
            known = random_masks(config.batch_size, size, rng)
            z_hat = enc(fake, known[:n_fake])
            loss_z = F.mse_loss(z_hat, z)
            rebuilt = g(z_hat)
            loss_pix = ((rebuilt - fake).abs() * known[:n_fake]).mean()
            loss = config.z_weight * loss_z + config.pixel_weight * loss_pix
            loss_hole = torch.zeros(())
            if n_real:
                idx = torch.randint(len(faces), (n_real,), generator=gen)
                real = faces[idx].float().div(127.5).sub(1)
                known_r = known[n_fake:]
                real_rebuilt = g(enc(real, known_r))
                error = (real_rebuilt - real).abs()
                loss = loss + config.pixel_weight * (error * known_r).mean()
                loss_hole = (error * (1 - known_r)).mean()
                loss = loss + config.hole_weight * loss_hole
                loss = loss + config.prior_weight * prior_loss(d(real_rebuilt)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % 50 == 0 or step == config.steps - 1:
                log.append(
                    {
                        "step": step,
                        "loss": loss.item(),
                        "z_mse": loss_z.item(),
                        "pixel_l1": loss_pix.item(),
                        "hole_l1": loss_hole.item(),
                        "seconds": time.perf_counter() - start,
                    }
                )
    return enc.eval(), log


def attach_encoder(
    model_path: str | Path,
    out: str | Path,
    config: EncoderTrainConfig,
    *,
    data_dir: str | Path | None = None,
    exclude_file: str | None = None,
    encoder_from: str | Path | None = None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train an encoder for the model at model_path and write model + encoder to out.

    encoder_from: a model file whose encoder training continues (its steps and seconds add up).
    """
    from ganfill.data import load_folder, read_split

    model = load_model(model_path)
    start, prior = None, {}
    if encoder_from is not None:
        earlier = load_model(encoder_from)
        if earlier.encoder is None:
            raise ValueError(f"{encoder_from}: has no encoder to continue from")
        start, prior = earlier.encoder, earlier.info.get("encoder", {})
    faces = None
    if data_dir is not None:
        exclude = read_split(exclude_file) if exclude_file else ()
        faces = load_folder(data_dir, model.config.image_size, exclude=exclude).images
    enc, log = train_encoder(model, config, faces=faces, start=start, progress=progress)
    model.encoder = enc
    seconds = round(log[-1]["seconds"], 1)
    before = {k: prior.get(f"total_{k}", prior.get(k, 0)) for k in ("steps", "train_seconds")}
    model.info["encoder"] = asdict(config) | {
        "train_seconds": seconds,
        "parameters": sum(p.numel() for p in enc.parameters()),
        "continued_from": None if encoder_from is None else Path(encoder_from).name,
        "total_steps": before["steps"] + config.steps,
        "total_train_seconds": round(before["train_seconds"] + seconds, 1),
    }
    save_model(out, model)
    return log
