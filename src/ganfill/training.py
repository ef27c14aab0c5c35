"""The DCGAN trainer: steps, EMA, samples, atomic checkpoints, metrics, resume, several processes."""

from __future__ import annotations

import copy
import csv
import json
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from ganfill import checkpoint as ckpt
from ganfill import devices, shards
from ganfill.checkpoint import TrainingState
from ganfill.config import ConfigError, TrainConfig
from ganfill.data import DataError, ImageSet, excluded, load_folder
from ganfill.devices import pick_device
from ganfill.files import atomic_write
from ganfill.images import grid, save_atomic, to_uint8
from ganfill.losses import d_loss, g_loss
from ganfill.models import Discriminator, Generator, build, generate, recalibrate_batchnorm, sample_z

METRIC_FIELDS = ["step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "img_per_s"]


@dataclass
class TrainResult:
    """Where a run ended: its folder, the last step, and whether Ctrl-C stopped it."""

    run_dir: Path
    step: int
    interrupted: bool


def _step_generator(seed: int, rank: int, step: int, device: torch.device) -> torch.Generator:
    # All randomness of a step derives from (seed, rank, step): resume is exact with no RNG files.
    return torch.Generator(device=device).manual_seed(hash((seed, rank, step)) & (2**63 - 1))


def _stop_on_sigterm():
    """Make SIGTERM (schedulers, `kill`) stop training like Ctrl-C: a checkpoint, then exit."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def _ema_update(ema: Generator, g: Generator, decay: float) -> None:
    ema_params = list(ema.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in g.parameters()], 1.0 - decay)


class _Run:
    """The files of a run folder, written by rank 0 only."""

    def __init__(
        self, run_dir: Path, config: TrainConfig, data_dir: Path, n_images: int, active: bool, start: int
    ):
        """start: the step the run continues from; what was logged after it is dropped, since
        those steps are trained (and logged) again."""
        self.dir, self.active = run_dir, active
        self.ckpt_dir = run_dir / "checkpoints"
        if not active:
            return
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        self.ckpt_dir.mkdir(exist_ok=True)
        settings = config.to_dict() | {"data_dir": str(data_dir), "n_images": n_images}
        (run_dir / "config.json").write_text(json.dumps(settings, indent=2) + "\n")
        metrics = run_dir / "metrics.csv"
        kept = []
        if metrics.exists():
            with metrics.open(newline="") as f:
                kept = [row for row in csv.DictReader(f) if int(row["step"]) <= start]
        self.metrics_file = metrics.open("w", newline="")
        self.metrics = csv.DictWriter(self.metrics_file, METRIC_FIELDS)
        self.metrics.writeheader()
        self.metrics.writerows(kept)
        self.metrics_file.flush()
        from torch.utils.tensorboard import SummaryWriter

        self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=start + 1 if start else None)

    def log(self, row: dict[str, float]) -> None:
        if not self.active:
            return
        self.metrics.writerow(row)
        self.metrics_file.flush()
        for key in METRIC_FIELDS[2:]:
            self.tb.add_scalar(key, row[key], int(row["step"]))

    def close(self) -> None:
        if self.active:
            self.metrics_file.close()
            self.tb.close()


def _networks(config: TrainConfig, *, warm_start: bool) -> tuple[Generator, Discriminator]:
    """G and D, seeded; with init_from (and warm_start) holding that model file's weights."""
    g, d = build(config.model, seed=config.seed)
    if config.init_from and warm_start:
        start = ckpt.load_model(config.init_from)
        if start.config != config.model:
            raise ckpt.ModelFileError(
                f"{config.init_from}: its model config differs from this run's ({start.config})"
            )
        g.load_state_dict(start.generator.state_dict())
        d.load_state_dict(start.discriminator.state_dict())
    return g, d


class Trainer:
    """One training run over an in-memory image set; call run() to train."""

    def __init__(
        self,
        data: ImageSet,
        run_dir: Path,
        config: TrainConfig,
        *,
        data_dir: Path,
        resume: bool = False,
    ):
        self.config, self.data = config, data
        self.device = pick_device(config.device)
        self.shard = shards.join(self.device)  # the group ends before the interpreter does

        mem = torch.channels_last if config.channels_last else torch.contiguous_format
        g, d = _networks(config, warm_start=not resume)
        self.g, self.d = g.to(self.device, memory_format=mem), d.to(self.device, memory_format=mem)
        self.g_ema = copy.deepcopy(self.g).requires_grad_(False) if config.ema > 0 else None
        fused = self.device.type == "cuda"
        adam = dict(lr=config.lr, betas=(config.beta1, 0.999), foreach=not fused, fused=fused)
        self.opt_g = torch.optim.Adam(self.g.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.d.parameters(), **adam)
        self.step = 0
        if resume:
            state = self.state()
            ckpt.load_training_state(run_dir, state, config.model)
            self.step = state.step
        for net in (self.g, self.d):
            shards.share_first(self.shard, net)
        self.files = _Run(run_dir, config, data_dir, len(data), active=self.shard.rank == 0, start=self.step)
        self.sampler = DistributedSampler(
            range(len(data)),
            num_replicas=self.shard.world,
            rank=self.shard.rank,
            shuffle=True,
            seed=config.seed,
            drop_last=True,
        )
        self.steps_per_epoch = len(self.sampler) // config.batch_size
        if self.steps_per_epoch == 0:
            raise DataError(
                f"{data_dir}: {len(data)} images are fewer than one batch of {config.batch_size} per process"
            )
        self.total_steps = config.max_steps or config.epochs * self.steps_per_epoch
        fixed = torch.Generator().manual_seed(config.seed)
        self.fixed_z = sample_z(64, config.model.z_dim, generator=fixed).to(self.device)
        self.calibrated = False  # whether g_ema's batch-norm statistics fit its current weights

    # -- state -----------------------------------------------------------------------------
    def state(self) -> TrainingState:
        """The networks, optimisers and step as the checkpoint format holds them."""
        return TrainingState(self.g, self.d, self.g_ema, self.opt_g, self.opt_d, self.step)

    def inference_generator(self) -> Generator:
        """The generator used for samples and export: the EMA copy with fresh batch-norm stats."""
        if self.g_ema is None:
            return self.g
        if not self.calibrated:  # samples and a checkpoint at one step share one pass
            recalibrate_batchnorm(self.g_ema, seed=self.config.seed, shorten=self.config.shorten)
            self.calibrated = True
        return self.g_ema

    def save_checkpoint(self) -> None:
        """Write checkpoints/step_N and latest atomically, keeping the newest few."""
        if self.shard.rank != 0:
            return
        state = self.state()
        if state.generator_ema is not None:
            state.generator_ema = self.inference_generator()
        folder = self.files.ckpt_dir
        path = folder / f"step_{self.step:07d}.safetensors"
        ckpt.save_training_state(path, state, self.config, len(self.data))
        with atomic_write(folder / "latest.safetensors") as tmp:
            shutil.copyfile(path, tmp)
        for old in sorted(folder.glob("step_*.safetensors"))[: -self.config.keep_checkpoints]:
            old.unlink()

    @torch.no_grad()
    def save_samples(self) -> None:
        """An 8x8 grid of G(fixed z) as samples/step_N.png."""
        if self.shard.rank != 0:
            return
        g = self.inference_generator()
        g.eval()
        pics = to_uint8(g(self.fixed_z))
        g.train()
        save_atomic(
            Image.fromarray(grid(pics, ncols=8)),
            self.files.dir / "samples" / f"step_{self.step:07d}.png",
        )

    # -- training --------------------------------------------------------------------------
    def _batch(self, indices: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        real = self.data.images[indices].to(self.device, non_blocking=True).float().div_(127.5).sub_(1)
        if self.config.flip:
            flip = torch.rand(len(indices), generator=gen, device=self.device) < 0.5
            real = torch.where(flip[:, None, None, None], real.flip(3), real)
        if self.config.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        return real  # [B, 3, H, W] in [-1, 1]

    def train_step(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        """One D update and g_steps G updates; returns the losses as tensors (no host sync)."""
        cfg = self.config
        gen = _step_generator(cfg.seed, self.shard.rank, self.step, self.device)
        real = self._batch(indices, gen)
        z = sample_z(len(indices), cfg.model.z_dim, generator=gen, device=self.device, shorten=cfg.shorten)
        amp = devices.amp(self.device, cfg.amp)
        with amp:
            fake = self.g(z)  # kept with its graph: the first G step reuses it
            real_logits = self.d(real)
            fake_logits = self.d(fake.detach())
            loss_d = d_loss(real_logits.float(), fake_logits.float())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        shards.average_gradients(self.shard, self.d)
        self.opt_d.step()

        self.d.requires_grad_(False)  # G's steps need no gradient for D's weights
        for k in range(cfg.g_steps):
            with amp:
                if k > 0:
                    fake = self.g(z)
                loss_g = g_loss(self.d(fake).float())
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            shards.average_gradients(self.shard, self.g)
            self.opt_g.step()
        self.d.requires_grad_(True)
        if self.g_ema is not None:
            decay = min(cfg.ema, (1 + self.step) / (10 + self.step))  # warm-up for short runs
            _ema_update(self.g_ema, self.g, decay)
            self.calibrated = False
        return {
            "d_loss": loss_d.detach(),
            "g_loss": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),
        }

    def run(self, *, progress: bool = True) -> TrainResult:
        """Train until total_steps; Ctrl-C writes a checkpoint and returns interrupted=True."""
        cfg = self.config
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            disable=not progress or self.shard.rank != 0,
            unit="step",
            dynamic_ncols=True,
            file=sys.stderr,
        )
        interrupted = False
        previous = _stop_on_sigterm()
        t0, images_since = time.perf_counter(), 0
        epoch, order = -1, torch.empty(0, dtype=torch.long)
        try:
            while self.step < self.total_steps:
                if self.step // self.steps_per_epoch != epoch:
                    epoch = self.step // self.steps_per_epoch
                    self.sampler.set_epoch(epoch)
                    order = torch.tensor(list(self.sampler), dtype=torch.long)
                i = self.step % self.steps_per_epoch
                stats = self.train_step(order[i * cfg.batch_size : (i + 1) * cfg.batch_size])
                self.step += 1
                images_since += cfg.batch_size * self.shard.world
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    now = time.perf_counter()
                    row = {k: round(v.item(), 5) for k, v in stats.items()}
                    row |= {
                        "step": self.step,
                        "epoch": epoch,
                        "img_per_s": round(images_since / (now - t0), 2),
                    }
                    t0, images_since = now, 0
                    self.files.log(row)
                    bar.set_postfix(epoch=epoch, d=row["d_loss"], g=row["g_loss"], ips=row["img_per_s"])
                if self.step % cfg.sample_every == 0:
                    self.save_samples()
                if self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        bar.close()
        self.save_samples()
        self.save_checkpoint()
        self.files.close()
        if not interrupted:  # leave together: none tears down its links while another still works
            shards.wait_for_all(self.shard)
        return TrainResult(self.files.dir, self.step, interrupted)


def train(
    data_dir: str | Path,
    run_dir: str | Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train a DCGAN on the images under data_dir, writing a self-describing run folder."""
    data_dir, run_dir = Path(data_dir), Path(run_dir)
    if resume and not (run_dir / "checkpoints" / "latest.safetensors").exists():
        raise DataError(f"{run_dir}: nothing to resume (no checkpoints/latest.safetensors)")
    exclude = excluded(config.exclude_file)
    data = load_folder(
        data_dir, config.model.image_size, crop=config.crop, workers=config.workers, exclude=exclude
    )
    top, left, height, width = config.model.box  # a part generator trains on its box only
    data.images = data.images[:, :, top : top + height, left : left + width].contiguous()
    if data.skipped:
        print(
            f"skipped {len(data.skipped)} unreadable file(s); training on {len(data)}",
            file=sys.stderr,
        )
    trainer = Trainer(data, run_dir, config, data_dir=data_dir, resume=resume)
    return trainer.run(progress=progress)


def run_config(run_dir: str | Path, changes: dict[str, Any], *, resume: bool = False) -> TrainConfig:
    """The settings of a run: a resumed run's saved config.json (or the defaults) with changes."""
    saved = Path(run_dir) / "config.json"
    base = (
        TrainConfig.from_dict(json.loads(saved.read_text())) if resume and saved.exists() else TrainConfig()
    )
    return base.updated(changes)


def write_samples(model: str | Path, out: str | Path, *, n: int = 64, seed: int = 0) -> None:
    """A grid of n samples G(z) of a model file or run folder, from a seeded z, as a PNG."""
    if n < 1:
        raise ConfigError(f"the number of samples must be >= 1, got {n}")
    pics = to_uint8(generate(ckpt.load_model(model).generator, n, seed=seed))
    save_atomic(Image.fromarray(grid(pics)), out)
