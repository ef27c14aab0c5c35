"""Pivotal tuning: the generator fitted to one face's known pixels around the search's code.

The search finds the code whose face G draws nearest the person, but a 64-px DCGAN cannot draw
every face: fitted codes lie near the average face, whose mouth is a grin's tall block of teeth
whatever the person's mouth (BENCHMARKS.md "Session 46": the projection from z is what limits
the range, not the layers that draw). Pivotal tuning (Roich et al. 2021; for restoration, Pan et
al.'s deep generative prior, 2020) takes the search's code as the pivot and moves a copy of G's
weights a few Adam steps so that G'(z*) fits the face's known pixels, while its faces of random
codes stay G's (the locality term), so that what it draws in the hole is still a face model's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from ganfill.models import Generator

ANCHORS = 16
"""Random codes whose faces the tuned generator must keep (one drawn at each step)."""
ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False, "maximize": False}
"""Adam's settings: torch's defaults."""


def adam(params: list[torch.Tensor], lr: float) -> Callable[[list[torch.Tensor]], None]:
    """Adam's step over params given their gradients, as torch.optim.Adam(fused=True) takes it
    (its kernel, one pass over all weights), but called directly: the first torch.optim optimizer
    a process builds imports torch._dynamo, 2-3 s that the first tuned completion would wait for."""
    means, squares = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
    counts = [torch.zeros((), device=p.device) for p in params]

    def step(grads: list[torch.Tensor]) -> None:
        torch._foreach_add_(counts, 1)
        torch._fused_adam_(params, grads, means, squares, [], counts, lr=lr, **ADAM)  # []: amsgrad's maxima

    return step


def tune(
    g: Generator,
    z: torch.Tensor,
    image: torch.Tensor,
    known: torch.Tensor,
    *,
    steps: int,
    lr: float,
    locality: float,
    seed: int = 0,
) -> torch.Tensor:
    """G'(z) [K, 3, H, W] for one image's codes z [K, z_dim], best first (image [1, 3, H, W] in
    [-1, 1], known [1, 1, H, W], 1 = keep): G's copy after `steps` Adam steps on |G'(z[0]) -
    image| (summed over RGB, averaged over the known pixels) plus locality x the mean |G'(a) -
    G(a)| of a random anchor code a. G (in eval mode, as the Completer holds it) is neither
    changed nor toggled, so concurrent completions can share it."""
    gen = torch.Generator().manual_seed(seed)
    anchors = (torch.rand(ANCHORS, z.shape[-1], generator=gen) * 2 - 1).to(z.device)
    with torch.no_grad():
        kept = g(anchors)
    tuned = copy.deepcopy(g).eval().requires_grad_(True)  # batch norm keeps G's running statistics
    weights = list(tuned.parameters())
    step = adam(weights, lr)
    pivot, weight = z[:1].detach(), known / known.sum().clamp(min=1)
    for _ in range(steps):
        a = int(torch.randint(ANCHORS, (1,), generator=gen))
        drawn = tuned(torch.cat([pivot, anchors[a : a + 1]]))  # one pass for both
        fit = ((drawn[:1] - image).abs().sum(1, keepdim=True) * weight).sum()
        loss = fit + locality * (drawn[1:] - kept[a : a + 1]).abs().mean()
        step(list(torch.autograd.grad(loss, weights)))
    with torch.no_grad():
        return tuned(z.detach())


def tune_batch(
    g: Generator,
    z: torch.Tensor,
    hats: torch.Tensor,
    images: torch.Tensor,
    known: torch.Tensor,
    steps: torch.Tensor,
    *,
    lr: float,
    locality: float,
    seed: int = 0,
) -> torch.Tensor:
    """hats [B, K, 3, H, W] (G(z) of codes z [B, K, z_dim], best first) with each image's drawn by
    its own tuned G' where steps [B] > 0 (images [B, 3, H, W], known [B, 1, H, W]); every image
    tunes with the same anchors, so its result does not depend on the batch it is in."""
    out = hats.clone()
    for i in torch.nonzero(steps > 0).flatten().tolist():
        args = (z[i], images[i : i + 1], known[i : i + 1])
        out[i] = tune(g, *args, steps=int(steps[i]), lr=lr, locality=locality, seed=seed)
    return out
