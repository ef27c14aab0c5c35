"""The mouth redraw: Yeh et al.'s search run a second time, on the mouth's box of the aligned
frame, with a DCGAN pair trained on that box alone (ModelConfig.region "mouth").

The face generator spreads its width over the whole face and, searched from the encoder's guess,
draws the mean mouth of the faces that fit the context: a pale band of teeth in a grey ring, no
lips (BENCHMARKS.md "Session 43"). A generator of mouths only draws committed lips and teeth. Where
a hole covers enough of the box, the box is searched again with it from random starts on the
prior's shell (CompletionConfig.shell = 1, where its samples lie), the best of them searched on.
The context is the box's known pixels and, where the hole leaves the box, the face fill's pixels
along its edge (RIM), so that the two meet, each weighing 1; the face fill in the rest of the
hole weighs GUIDE. The result replaces the fill in the box's hole, faded into the face fill over
FADE px at the box's edge. The known pixels and the face fill outside the box are untouched. It
runs on G(z*) before the detail pass, the mirror's detail and the colouriser (completion.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ganfill.checkpoint import Model, ModelFileError, load_model
from ganfill.config import CompletionConfig
from ganfill.inversion import invert
from ganfill.models import sample_z

DEFAULT_MOUTH = Path(__file__).resolve().parent / "weights" / "mouth.safetensors"
STARTS, PRUNE_AFTER = 8, 25
"""Random starts per fill, searched side by side for PRUNE_AFTER steps; then the best goes on."""
STEP_SIZE = 0.03
RIM = 2
"""Width in px of the face fill's pixels along the box's edge that the search must agree with,
where the hole leaves the box."""
FADE = 4
"""Width in px over which the redrawn box fades into the face fill at the box's edge."""
GUIDE = 0.5
"""Weight of the face fill's pixels in the box's hole, beside the context's 1: what the face's
search decided there (an open smile or closed lips) stays; at 0.05 the mouths drawn were less
real and further from the truth, at 0.2-1 nearer both (BENCHMARKS.md "Session 43")."""


def load_mouth(path: str | Path = DEFAULT_MOUTH) -> Model:
    """A mouth pair's model file (its ModelConfig's region is the mouth)."""
    model = load_model(path)
    if model.config.region != "mouth":
        raise ModelFileError(f"{path}: a {model.config.region} model, not a mouth model")
    return model


def default_mouth(model_size: int) -> Model | None:
    """The bundled mouth pair for a face model of this frame size (it is trained at 64 px), if any."""
    return load_mouth() if model_size == 64 and DEFAULT_MOUTH.exists() else None


def _rim(height: int, width: int, device: torch.device) -> torch.Tensor:
    """[1, 1, H, W]: 1 within RIM px of the box's edge."""
    inner = torch.zeros(1, 1, height - 2 * RIM, width - 2 * RIM, device=device)
    return F.pad(inner, (RIM, RIM, RIM, RIM), value=1.0)


def _fade(height: int, width: int, device: torch.device) -> torch.Tensor:
    """[1, 1, H, W]: the redraw's weight, 1 inside and falling to 1 / FADE at the box's edge."""
    rows, cols = (torch.arange(n, device=device).float() for n in (height, width))
    across = [torch.minimum(t + 1, len(t) - t).clamp(max=FADE) / FADE for t in (rows, cols)]
    return (across[0][:, None] * across[1][None, :])[None, None]


def redraw(
    mouth: Model,
    images: torch.Tensor,
    known: torch.Tensor,
    hats: torch.Tensor,
    steps: torch.Tensor,
    cfg: CompletionConfig,
    *,
    seed: int = 0,
) -> torch.Tensor:
    """hats [B, 3, H, W] with the mouth's box redrawn where steps [B] > 0 (that many search steps);
    images [B, 3, H, W] in [-1, 1] and known [B, 1, H, W] as the face's search had them."""
    rows = torch.nonzero(steps > 0).flatten()
    if len(rows) == 0:
        return hats
    top, left, height, width = mouth.config.box
    box = (slice(None), slice(None), slice(top, top + height), slice(left, left + width))
    device = hats.device
    k, fill = known[rows][box], hats[rows][box]
    target = torch.where(k > 0.5, images[rows][box], fill)
    context = torch.maximum(k, (1 - k) * _rim(height, width, device))
    weights = context + (1 - context) * GUIDE
    gen = torch.Generator().manual_seed(seed)
    starts = sample_z(len(rows) * STARTS, mouth.config.z_dim, generator=gen).view(len(rows), STARTS, -1)
    search = dataclasses.replace(
        cfg,
        restarts=STARTS,
        prune_after=PRUNE_AFTER,
        shell=1.0,
        precision="float32",
        save_every=0,
        tol=0.0,
        weighting="none",  # the weights above (the paper's would zero the context off the hole's edge)
    )
    found = invert(
        mouth.generator.to(device),
        mouth.discriminator.to(device),
        target,
        weights,
        search,
        starts,
        iters=steps[rows].cpu(),
        lr=torch.full((len(rows),), STEP_SIZE),
    )
    drawn = fill + _fade(height, width, device) * (found.hats[:, 0].to(fill) - fill)
    out = hats.clone()
    out[rows.tolist(), :, top : top + height, left : left + width] = torch.where(k > 0.5, fill, drawn)
    return out
