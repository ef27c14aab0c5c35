"""The networks: the reference DCGAN's generator and discriminator (carpedm20 / bamos), and the
search's starting-point encoder. Nothing here imports training or completion code."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganfill.config import ModelConfig

KERNEL = 5


class Generator(nn.Module):
    """G(z): z in [-1, 1]^z_dim -> RGB image in [-1, 1], linear then stride-2 deconvolutions
    (a square face, or a part's box: ModelConfig.region)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        n = config.n_layers
        width = config.gf_dim * 2 ** (n - 1)  # 64x64: gf*8 at 4x4
        cells = config.base[0] * config.base[1]
        self.project = nn.Linear(config.z_dim, width * cells, bias=False)
        self.project_bn = nn.BatchNorm1d(width * cells)
        layers: list[nn.Module] = []
        for i in range(n):
            out = 3 if i == n - 1 else width // 2
            layers.append(
                nn.ConvTranspose2d(width, out, KERNEL, 2, padding=2, output_padding=1, bias=i == n - 1)
            )
            if i < n - 1:
                layers += [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            width = out
        self.deconvs = nn.Sequential(*layers, nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] [B, 3, H, W] drawn from codes z [B, z_dim]."""
        x = torch.relu(self.project_bn(self.project(z)))  # [B, width * cells]
        height, width = self.config.base
        x = x.view(len(z), self.project.out_features // (height * width), height, width)
        return self.deconvs(x)  # [B, 3, H, W]


class Discriminator(nn.Module):
    """D(x): RGB image -> one logit per image; stride-2 convolutions then a linear layer."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width_in, width = 3, config.df_dim
        for i in range(config.n_layers):
            layers.append(nn.Conv2d(width_in, width, KERNEL, 2, padding=2, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width_in, width = width, width * 2
        self.convs = nn.Sequential(*layers)  # [B, df*8, 4, 4] at 64x64
        self.head = nn.Linear(width_in * config.base[0] * config.base[1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """A realness logit per image of x [B, 3, H, W]: [B]."""
        return self.head(self.convs(x).flatten(1)).squeeze(1)


class Encoder(nn.Module):
    """E(y * M, M) -> z: stride-2 convolutions over the masked image and its mask, then tanh."""

    def __init__(self, image_size: int, z_dim: int, ef_dim: int = 64):
        super().__init__()
        # the constructor's arguments, stored in model files to rebuild the network
        self.spec = {"image_size": image_size, "z_dim": z_dim, "ef_dim": ef_dim}
        layers: list[nn.Module] = []
        width_in, width = 4, ef_dim
        for i in range(int(math.log2(image_size)) - 2):
            layers += [nn.Conv2d(width_in, width, KERNEL, 2, padding=2, bias=i == 0)]
            layers += [nn.BatchNorm2d(width)] if i > 0 else []
            layers += [nn.LeakyReLU(0.2, inplace=True)]
            width_in, width = width, width * 2
        self.convs = nn.Sequential(*layers)  # [B, ef*8, 4, 4] at 64x64
        self.head = nn.Linear(width_in * 16, z_dim)

    def forward(self, images: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """images [B, 3, S, S] in [-1, 1], known [B, 1, S, S] -> z [B, z_dim] in [-1, 1]."""
        x = torch.cat([images * known, known], 1)  # unknown pixels carry no information
        return torch.tanh(self.head(self.convs(x).flatten(1)))


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: weights N(0, 0.02), batch-norm scale N(1, 0.02), biases zero."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build(config: ModelConfig, *, seed: int | None = None) -> tuple[Generator, Discriminator]:
    """A freshly initialised (G, D) pair; `seed` makes the initialisation reproducible."""
    with torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        g, d = Generator(config), Discriminator(config)
        init_weights(g)
        init_weights(d)
    return g, d


def sample_z(
    n: int,
    z_dim: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    shorten: float = 0.0,
) -> torch.Tensor:
    """n latent codes from U[-1, 1]^z_dim, the prior the reference trains with, each scaled by a
    factor from U[1 - shorten, 1] when shorten > 0 (TrainConfig.shorten)."""
    z = torch.rand(n, z_dim, generator=generator, device=device) * 2 - 1
    if shorten > 0:
        z = z * (1 - shorten * torch.rand(n, 1, generator=generator, device=device))
    return z


@torch.no_grad()
def recalibrate_batchnorm(
    g: Generator, *, batches: int = 64, batch_size: int = 64, seed: int = 0, shorten: float = 0.0
) -> None:
    """Reset G's batch-norm running statistics to their mean over fresh samples (codes drawn as
    training drew them: sample_z's shorten).

    An EMA generator's weights never produced the running statistics it carries; recomputing
    them keeps eval-mode outputs (used for samples and completion) faithful to the weights.
    4,096 codes by default: redrawing 512 moved the bundled G's faces by about 4 grey levels,
    redrawing 4,096 by under 1 (BENCHMARKS.md "Session 39").
    """
    device = next(g.parameters()).device
    bns = [m for m in g.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    saved = [(m.momentum, m.training) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
        m.train()
    gen = torch.Generator(device=device).manual_seed(seed)
    for _ in range(batches):
        g(sample_z(batch_size, g.config.z_dim, generator=gen, device=device, shorten=shorten))
    for m, (momentum, training) in zip(bns, saved, strict=True):
        m.momentum = momentum
        m.train(training)


@torch.no_grad()
def generate(g: Generator, n: int, *, seed: int = 0) -> torch.Tensor:
    """n images G(z) [n, 3, S, S] in [-1, 1] from a seeded z, with G in eval mode."""
    device = next(g.parameters()).device
    z = sample_z(n, g.config.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    was_training = g.training
    images = g.eval()(z)
    g.train(was_training)
    return images
