"""Images/s of one training step: ganfill's Trainer against a plain pytorch/examples-style loop.

Both train the same DCGAN on the same batch; the plain loop is written the way pytorch/examples'
dcgan/main.py writes it (float32, default memory format, D(real) and D(fake) backward separately,
G's step through D with D's weight gradients computed), with its G step repeated (G recomputed)
for g_steps=2 as carpedm20's reference does. Rounds alternate between the two so that machine
noise hits both alike; the figure is the median round.

    python benchmarks/train_throughput.py [--steps 6] [--rounds 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from machine import describe_machine
from torch import nn

from ganfill.config import TrainConfig
from ganfill.data import ImageSet
from ganfill.models import build
from ganfill.training import Trainer


class PlainLoop:
    """pytorch/examples dcgan/main.py's step, on ganfill's G and D (D returns logits)."""

    def __init__(self, cfg: TrainConfig, device: torch.device):
        self.g, self.d = (m.to(device) for m in build(cfg.model, seed=0))
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
        self.criterion = nn.BCEWithLogitsLoss()
        self.cfg, self.device = cfg, device

    def step(self, real: torch.Tensor) -> None:
        b = real.shape[0]
        ones, zeros = torch.ones(b, device=self.device), torch.zeros(b, device=self.device)
        self.d.zero_grad()
        self.criterion(self.d(real), ones).backward()
        noise = torch.rand(b, self.cfg.model.z_dim, device=self.device) * 2 - 1
        fake = self.g(noise)
        self.criterion(self.d(fake.detach()), zeros).backward()
        self.opt_d.step()
        for k in range(self.cfg.g_steps):
            if k > 0:
                fake = self.g(noise)
            self.g.zero_grad()
            self.criterion(self.d(fake), ones).backward()
            self.opt_g.step()


def _time(step, n: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--g-steps", default="1,2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--amp", action="store_true", help="ganfill with bfloat16 autocast (CUDA, or a CPU with AMX)"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    print(describe_machine())
    images = torch.randint(0, 256, (args.batch_size * 4, 3, 64, 64), dtype=torch.uint8)
    data = ImageSet(images, [str(i) for i in range(len(images))], [])
    idx = torch.arange(args.batch_size)
    real = (images[: args.batch_size].float() / 127.5 - 1).to(device)
    for g_steps in map(int, args.g_steps.split(",")):
        cfg = TrainConfig(g_steps=g_steps, batch_size=args.batch_size, device=args.device, amp=args.amp)
        with tempfile.TemporaryDirectory() as tmp:
            ours = Trainer(data, Path(tmp), cfg, data_dir=Path(tmp))
            plain = PlainLoop(cfg, device)
            ours.train_step(idx)  # warm-up
            plain.step(real)
            t_ours, t_plain = [], []
            for _ in range(args.rounds):
                t_plain.append(_time(partial(plain.step, real), args.steps, device))
                t_ours.append(_time(partial(ours.train_step, idx), args.steps, device))
            ours.files.close()
        ips_ours = args.batch_size * args.steps / statistics.median(t_ours)
        ips_plain = args.batch_size * args.steps / statistics.median(t_plain)
        print(
            f"g_steps={g_steps}: ganfill {ips_ours:.1f} img/s, plain loop {ips_plain:.1f} img/s, "
            f"ratio {ips_ours / ips_plain:.2f}x "
            f"(median of {args.rounds} alternating rounds x {args.steps} steps)"
        )


if __name__ == "__main__":
    main()
