"""The latent search of Yeh et al. 2017: z* = argmin_z L_context(z) + lam * L_prior(z), z in [-1,1]."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ganfill.config import CompletionConfig
from ganfill.losses import context_loss, prior_loss
from ganfill.models import Discriminator, Generator

LOG_EVERY = 10
SHELL_ROUNDS = 4
FrameHook = Callable[[int, torch.Tensor], None]


def importance_weights(known: torch.Tensor, window: int = 7) -> torch.Tensor:
    """The paper's W: for a known pixel, the share of missing pixels in the window around it.

    known: [B, 1, H, W] with 1 = keep. Unknown pixels get weight 0; known pixels far from any
    hole get 0 as well, so the search matches the context next to the hole most closely.
    """
    missing = 1 - known
    share = F.avg_pool2d(missing, window, stride=1, padding=window // 2, count_include_pad=False)
    return share * known  # [B, 1, H, W]


def project(z: torch.Tensor, shell: float = 0.0) -> torch.Tensor:
    """Codes [..., d] onto the prior's support [-1, 1]^d, each pushed out along its direction to at
    least shell times the prior's typical length sqrt(d / 3) (CompletionConfig.shell)."""
    z = z.clamp(-1, 1)
    if shell > 0:
        least = shell * (z.shape[-1] / 3) ** 0.5
        for _ in range(SHELL_ROUNDS):  # clipping a pushed code shortens it again: a few rounds settle it
            z = (z * (least / z.norm(dim=-1, keepdim=True).clamp_min(1e-8)).clamp_min(1)).clamp(-1, 1)
    return z


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Eval mode and no weight gradients for the duration; the modules' states are restored."""
    saved = [(m.training, [p.requires_grad for p in m.parameters()]) for m in modules]
    for m in modules:
        m.eval().requires_grad_(False)
    try:
        yield
    finally:
        for m, (training, flags) in zip(modules, saved, strict=True):
            m.train(training)
            for p, flag in zip(m.parameters(), flags, strict=True):
                p.requires_grad_(flag)


@dataclass
class Inversion:
    """The search's result for B images with K starts each, starts sorted best first."""

    z: torch.Tensor
    """[B, K, z_dim]"""
    hats: torch.Tensor
    """G(z) [B, K, 3, H, W] in [-1, 1]."""
    context: torch.Tensor
    """[B, K] final context loss."""
    prior: torch.Tensor
    """[B, K] final prior loss, times lam."""
    iterations: torch.Tensor
    """[B] steps each image ran (fewer than iters when it stopped early)."""
    history: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    """(image, iteration, context, prior, total) of each image's best start, every few steps."""

    @property
    def loss(self) -> torch.Tensor:
        """[B, K] final total loss: context + lam * prior (prior is stored already times lam)."""
        return self.context + self.prior


class _Adam:
    """Adam on rows of z, written out so that rows can leave the search (early stop)."""

    def __init__(self, cfg: CompletionConfig, like: torch.Tensor, lr: torch.Tensor):
        self.lr, self.b1, self.b2, self.eps = lr, cfg.beta1, 0.999, 1e-8
        self.m, self.v = torch.zeros_like(like), torch.zeros_like(like)
        self.t = 0

    def step(self, z: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        self.t += 1
        self.m.mul_(self.b1).add_(grad, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(grad, grad, value=1 - self.b2)
        m_hat = self.m / (1 - self.b1**self.t)
        v_hat = self.v / (1 - self.b2**self.t)
        return z - self.lr * m_hat / (v_hat.sqrt() + self.eps)

    def keep(self, rows: torch.Tensor) -> None:
        self.m, self.v, self.lr = self.m[rows], self.v[rows], self.lr[rows]


class _Nesterov:
    """The blog's update: v' = mu v - lr g; z += -mu v + (1 + mu) v'."""

    def __init__(self, cfg: CompletionConfig, like: torch.Tensor, lr: torch.Tensor):
        self.lr, self.mu = lr, cfg.momentum
        self.v = torch.zeros_like(like)

    def step(self, z: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        v_prev = self.v
        self.v = self.mu * v_prev - self.lr * grad
        return z - self.mu * v_prev + (1 + self.mu) * self.v

    def keep(self, rows: torch.Tensor) -> None:
        self.v, self.lr = self.v[rows], self.lr[rows]


class _Search:
    """One invert() call's state: targets and weights, the codes, the optimiser, the rows still
    searching (budgets and early stop remove rows) and each image's best-start history."""

    def __init__(self, g, d, images, known, cfg, starts, iters, lr, lowres) -> None:
        if (iters is None and cfg.iters is None) or (lr is None and cfg.lr is None):
            raise ValueError("invert needs a resolved config (concrete iters and lr) or both per image")
        self.g, self.d, self.cfg, self.lowres = g, d, cfg, lowres
        b, k = self.b, self.k = starts.shape[:2]
        device = images.device
        self.y = images.repeat_interleave(k, 0)  # [B*K, 3, H, W]
        if lowres:
            self.y_low, self.weights = F.avg_pool2d(self.y, cfg.lowres_factor), None
        else:
            mask = known.repeat_interleave(k, 0)
            self.weights = importance_weights(mask, cfg.window) if cfg.weighting == "paper" else mask
        self.z = project(starts.flatten(0, 1).to(device), cfg.shell)  # [B*K, z_dim]
        n = b * k
        rates = (torch.full((b,), cfg.lr) if lr is None else lr).float().repeat_interleave(k).to(device)
        self.opt = (_Adam if cfg.optimizer == "adam" else _Nesterov)(cfg, self.z, rates[:, None])
        budget = (torch.full((b,), cfg.iters) if iters is None else iters).long().repeat_interleave(k)
        self.budget = budget.to(device)
        self.ends = set(self.budget.tolist())  # the steps at which some rows' budgets run out
        self.steps = max(self.ends, default=0)
        self.active = torch.arange(n, device=device)
        self.ran = self.budget.clone()
        self.last_ctx, self.last_pri = torch.zeros(n, device=device), torch.zeros(n, device=device)
        self.best = torch.full((n,), float("inf"), device=device)
        self.since = torch.zeros(n, dtype=torch.long, device=device)
        self.history: list[tuple[int, int, float, float, float]] = []

    def losses(
        self, z_rows: torch.Tensor, rows: torch.Tensor, fast: bool = False
    ) -> tuple[torch.Tensor, ...]:
        """(G(z) [R, 3, H, W], context [R], lam * prior [R]) of some rows; fast: G's pass in
        cfg.precision (bfloat16 where asked), the losses in float32."""
        cfg = self.cfg
        half = fast and cfg.precision == "bfloat16"
        with torch.autocast(z_rows.device.type, dtype=torch.bfloat16, enabled=half):
            hat = self.g(z_rows)
        hat = hat.float()
        if self.lowres:
            ctx = (F.avg_pool2d(hat, cfg.lowres_factor) - self.y_low[rows]).abs().flatten(1).sum(1)
        else:
            ctx = context_loss(hat, self.y[rows], self.weights[rows])
        if cfg.lam == 0:  # no prior term: D's forward and backward passes are skipped
            return hat, ctx, torch.zeros_like(ctx)
        return hat, ctx, cfg.lam * prior_loss(self.d(hat), saturating=cfg.prior == "saturating")

    def leave(self, keep: torch.Tensor, it: int) -> None:
        """Rows of active where keep is False stop, having run it steps."""
        self.ran[self.active[~keep]] = it
        self.opt.keep(keep)
        self.active = self.active[keep]

    def step(self, it: int, on_step: Callable | None, on_frame: FrameHook | None) -> bool:
        """One projected gradient step of the rows still searching; False once none is left."""
        if it in self.ends:
            self.leave(self.budget[self.active] > it, it)
        if it == self.cfg.prune_after and it > 0 and self.k > 1:
            self.prune(it)
        if len(self.active) == 0:
            return False
        active, cfg = self.active, self.cfg
        z_act = self.z[active].requires_grad_(True)
        with torch.enable_grad():
            _, ctx, pri = self.losses(z_act, active, fast=True)
            total = ctx + pri
            (grad,) = torch.autograd.grad(total.sum(), z_act)
        self.last_ctx[active], self.last_pri[active] = ctx.detach(), pri.detach()
        if it % LOG_EVERY == 0:
            self.history += _best_rows(it, self.last_ctx, self.last_pri, self.b, self.k)
        if on_step is not None:
            on_step(it, float(total.detach().mean()))
        if on_frame is not None and cfg.save_every and it % cfg.save_every == 0:
            on_frame(it, _best_of(self.g(self.z), self.last_ctx + self.last_pri, self.b, self.k))
        self.z[active] = project(self.opt.step(self.z[active], grad), cfg.shell)  # projected step
        if cfg.tol > 0:
            self.stop_converged(total.detach(), it)
        return True

    def prune(self, it: int) -> None:
        """Every image keeps searching with its best start only (lowest loss of the last step)."""
        best = _best_index(self.last_ctx + self.last_pri, self.b, self.k)  # [B] rows
        self.leave(torch.isin(self.active, best), it)

    def stop_converged(self, total: torch.Tensor, it: int) -> None:
        """Rows whose loss improved by less than tol for patience steps leave the search."""
        active, cfg = self.active, self.cfg
        improved = total < self.best[active] * (1 - cfg.tol)
        self.best[active] = torch.where(improved, total, self.best[active])
        self.since[active] = torch.where(improved, 0, self.since[active] + 1)
        keep = self.since[active] < cfg.patience
        if not bool(keep.all()):
            self.leave(keep, it + 1)

    def result(self) -> Inversion:
        """Final losses of every start, sorted best first per image."""
        b, k, device = self.b, self.k, self.z.device
        with torch.no_grad():
            hat, ctx, pri = self.losses(self.z, torch.arange(b * k, device=device))
        self.history += _best_rows(self.steps, ctx, pri, b, k)
        order = (ctx + pri).view(b, k).argsort(1)  # best start first

        def pick(t: torch.Tensor) -> torch.Tensor:
            t = t.view(b, k, *t.shape[1:])
            return t[torch.arange(b, device=device)[:, None], order]

        iterations = self.ran.view(b, k).max(1).values.cpu()
        return Inversion(pick(self.z), pick(hat), pick(ctx), pick(pri), iterations, self.history)


def invert(
    g: Generator,
    d: Discriminator,
    images: torch.Tensor,
    known: torch.Tensor,
    cfg: CompletionConfig,
    starts: torch.Tensor,
    *,
    iters: torch.Tensor | None = None,
    lr: torch.Tensor | None = None,
    lowres: bool = False,
    on_frame: FrameHook | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> Inversion:
    """Search z for each image so that G(z) agrees with the known pixels and looks real to D.

    images [B, 3, H, W] in [-1, 1]; known [B, 1, H, W] (1 = keep); starts [B, K, z_dim], the K
    independent starting codes of each image (random draws, or an encoder's guess). With lowres,
    the context loss compares images average-pooled by cfg.lowres_factor (known is ignored).
    iters [B] and lr [B] give each image its own step count and size (default: cfg's for all).
    G and D stay frozen; G's passes in the steps run in cfg.precision (None: float32), the final
    G(z*) in float32. on_frame(iteration, best hats [B, 3, H, W]) runs every cfg.save_every.
    """
    search = _Search(g, d, images, known, cfg, starts, iters, lr, lowres)
    with frozen(g, d):
        for it in range(search.steps):
            if not search.step(it, on_step, on_frame):
                break
        return search.result()


def _best_index(total: torch.Tensor, b: int, k: int) -> torch.Tensor:
    """[B] the row (of B*K) with the lowest total for each image."""
    return total.view(b, k).argmin(1) + torch.arange(b, device=total.device) * k


def _best_of(values: torch.Tensor, total: torch.Tensor, b: int, k: int) -> torch.Tensor:
    """Each image's row of values [B*K, ...] with the lowest total -> [B, ...]."""
    best = total.view(b, k).argmin(1)
    return values.view(b, k, *values.shape[1:])[torch.arange(b, device=values.device), best]


def _best_rows(it: int, ctx: torch.Tensor, pri: torch.Tensor, b: int, k: int) -> list:
    """History rows (image, iteration, context, prior, total) of each image's best start."""
    c, p = _best_of(ctx, ctx + pri, b, k).tolist(), _best_of(pri, ctx + pri, b, k).tolist()
    return [(i, it, ci, pi, ci + pi) for i, (ci, pi) in enumerate(zip(c, p, strict=True))]
