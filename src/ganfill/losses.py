"""Loss functions as small pure functions of logits and images."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's BCE: -log D(x) - log(1 - D(G(z))), from logits for stability."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss -log D(G(z)) (Goodfellow et al., as the reference)."""
    return F.softplus(-fake_logits).mean()


def prior_loss(fake_logits: torch.Tensor, *, saturating: bool = False) -> torch.Tensor:
    """Yeh et al.'s perceptual (realism) loss per image: -log D(G(z)) or log(1 - D(G(z)))."""
    if saturating:
        return -F.softplus(fake_logits)  # log(1 - sigmoid(l)) = -softplus(l)
    return F.softplus(-fake_logits)  # [B]


def context_loss(generated: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Yeh et al.'s contextual loss per image: sum of W * |G(z) - y| (W is zero where unknown)."""
    return (weights * (generated - target).abs()).flatten(1).sum(1)  # [B]


def sliced_distance(a: torch.Tensor, b: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Sliced Wasserstein-1 between two equal-size batches of vectors [N, D], along the unit
    directions [D, P]: sorted projections compared one to one (differentiable)."""
    pa, pb = (a @ directions).sort(0).values, (b @ directions).sort(0).values
    return (pa - pb).abs().mean()
