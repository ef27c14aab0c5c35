"""Training the encoder E(masked image, mask) -> z that starts the latent search near its answer.

E (models.Encoder) is trained against a frozen generator: on samples G(z) under random masks of every kind
(loss on z and on the known pixels of G(E(x))) and on real faces (reconstruction of the known
pixels, of the missing pixels whose truth is known in training, and D's opinion of G(E(y)), so
that its guesses stay in the generator's domain).
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ganfill import devices
from ganfill import masks as mask_kinds
from ganfill.checkpoint import Model, ModelFileError, load_model, save_model
from ganfill.config import EncoderTrainConfig
from ganfill.inversion import frozen
from ganfill.losses import prior_loss, sliced_distance
from ganfill.models import Encoder, init_weights, sample_z


def _starting_encoder(model: Model, config: EncoderTrainConfig, start: Encoder | None) -> Encoder:
    """A fresh encoder for the model (seeded), or a copy of `start` to continue from."""
    torch.manual_seed(config.seed)
    enc = Encoder(model.config.image_size, model.config.z_dim, config.ef_dim)
    if start is None:
        init_weights(enc)
    elif start.spec != enc.spec:
        raise ModelFileError(f"the starting encoder has shape {start.spec}, this model needs {enc.spec}")
    else:
        enc.load_state_dict(start.state_dict())
    return enc.train()


def _sample_terms(
    g: nn.Module, enc: Encoder, config: EncoderTrainConfig, z: torch.Tensor, known: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The generated samples' terms: (weighted loss, ||E(G(z)) - z||^2, the L1 of G(E(G(z))) on
    the known pixels, the guesses E(G(z)))."""
    with torch.no_grad():
        fake = g(z).float()  # [n_fake, 3, S, S]
    z_hat = enc(fake, known).float()
    loss_z = F.mse_loss(z_hat, z)
    rebuilt = g(z_hat).float()
    loss_pix = ((rebuilt - fake).abs() * known).mean()
    return config.z_weight * loss_z + config.pixel_weight * loss_pix, loss_z, loss_pix, z_hat


def _real_face_terms(
    model: Model, enc: Encoder, config: EncoderTrainConfig, faces: torch.Tensor, known: torch.Tensor, loss
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """loss plus the real faces' terms (known pixels, hole pixels, D's opinion); the hole L1;
    and the guesses E(y)."""
    real = faces.float().div(127.5).sub(1)  # uint8 [R, 3, S, S] -> [-1, 1]
    z_real = enc(real, known).float()
    rebuilt = model.generator(z_real).float()
    error = (rebuilt - real).abs()
    loss = loss + config.pixel_weight * (error * known).mean()
    loss_hole = (error * (1 - known)).mean()
    loss = loss + config.hole_weight * loss_hole
    loss = loss + config.prior_weight * prior_loss(model.discriminator(rebuilt).float()).mean()
    return loss, loss_hole, z_real


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
    device = next(g.parameters()).device  # the model's: attach_encoder puts it on config.device
    enc = _starting_encoder(model, config, start).to(device)
    opt = torch.optim.Adam(enc.parameters(), lr=config.lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    n_real = int(config.batch_size * config.real_fraction) if faces is not None else 0
    n_fake = config.batch_size - n_real
    log: list[dict[str, float]] = []
    amp = devices.amp(device, config.amp)
    start = time.perf_counter()
    with frozen(g, d):
        for step in tqdm(range(config.steps), disable=not progress, unit="step", file=sys.stderr):
            z = sample_z(n_fake, z_dim, generator=gen).to(device)
            known = torch.from_numpy(mask_kinds.mixed(config.masks, config.batch_size, size, rng))[:, None]
            known = known.to(device)
            with amp:
                loss, loss_z, loss_pix, z_hat = _sample_terms(g, enc, config, z, known[:n_fake])
                loss_hole, guesses = torch.zeros((), device=device), z_hat
                if n_real:
                    idx = torch.randint(len(faces), (n_real,), generator=gen)
                    loss, loss_hole, z_real = _real_face_terms(
                        model, enc, config, faces[idx].to(device), known[n_fake:], loss
                    )
                    guesses = torch.cat([z_hat, z_real])
            if config.latent_weight > 0:  # guesses spread like the prior's codes
                directions = F.normalize(torch.randn(z_dim, 64, generator=gen), dim=0).to(device)
                prior = sample_z(len(guesses), z_dim, generator=gen).to(device)
                loss = loss + config.latent_weight * sliced_distance(guesses, prior, directions)
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
    from ganfill.data import excluded, load_folder

    model = load_model(model_path, device=devices.pick_device(config.device))
    start, prior = None, {}
    if encoder_from is not None:
        earlier = load_model(encoder_from)
        if earlier.encoder is None:
            raise ModelFileError(f"{encoder_from}: has no encoder to continue from")
        start, prior = earlier.encoder, earlier.info.get("encoder", {})
    faces = None
    if data_dir is not None:
        exclude = excluded(exclude_file)
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
