"""The detail networks: a finisher draws a completed 64-px face at 3x its size with a real
face's fine detail, for photos whose face is larger than the model's frame; the detail pass is
the same network at the model's own size (scale 1), over the generator's face of every
default completion.

The search decides the face; the finisher only adds what a 64-px image cannot hold (lids, iris
rims, lip edges, skin grain). It sees the 64-px completion and, at the output's resolution, the
photo's own known pixels around the hole (so the fill takes on the photo's sharpness), and its
output is projected so that every block of keep x keep model pixels (3keep x 3keep of its own)
averages to the completion's mean there: the finisher cannot change what the search decided at
that scale, only how it looks up close. keep=1 holds every 64-px pixel; keep=2 holds the 32-px
content and lets the finisher also sharpen the finest 64-px detail, which the search draws softer
than a real face has it. A detail pass may instead hold the coarse content smoothly (highpass:
the Gaussian blur of its change is taken off), since held block means show as a faint grid of
block edges on smooth skin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganfill.checkpoint import FINISHER_KIND, ModelFileError, read_safetensors, write_safetensors
from ganfill.images import per_face, to_tensor, to_uint8

SCALE = 3
PROJECTIONS = 3
BORDER = 12  # pixels the detail pass sees mirrored beyond the frame: its 5 blocks reach 12 px
DEFAULT_FINISHER = Path(__file__).resolve().parent / "weights" / "finisher.safetensors"
DEFAULT_DETAIL = Path(__file__).resolve().parent / "weights" / "detail.safetensors"


def consistent(high: torch.Tensor, low: torch.Tensor, scale: int = SCALE) -> torch.Tensor:
    """high [B, C, rS, rS] shifted per scale x scale block so that its block means equal low."""
    means = F.avg_pool2d(high, scale)
    return high + F.interpolate(low - means, scale_factor=scale, mode="nearest")


def blurred(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """images [B, C, H, W] blurred by a Gaussian of std sigma pixels (separable, edges reflected)."""
    if sigma <= 0:
        return images
    radius = max(1, round(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    row = (kernel / kernel.sum()).view(1, 1, 1, -1).repeat(images.shape[1], 1, 1, 1)
    out = F.conv2d(F.pad(images, (radius, radius, 0, 0), mode="reflect"), row, groups=images.shape[1])
    return F.conv2d(
        F.pad(out, (0, 0, radius, radius), mode="reflect"), row.transpose(2, 3), groups=images.shape[1]
    )


class _Block(nn.Module):
    """conv-ReLU-conv with a skip, the unit of EDSR-style super-resolution trunks."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Finisher(nn.Module):
    """F(low, context, known) -> the face at SCALE x low's size, keep-block means equal to low's.

    The trunk runs at the low resolution (the context enters space-to-depth), so it costs about
    as much as a few 64-px convolutions; the output is a residual on the bilinear upsampling.
    """

    def __init__(
        self, width: int = 32, blocks: int = 5, scale: int = SCALE, keep: int = 1, highpass: float = 0.0
    ) -> None:
        super().__init__()
        self.spec = {"width": width, "blocks": blocks, "scale": scale, "keep": keep}
        if highpass:
            self.spec["highpass"] = highpass
        self.scale, self.keep, self.highpass = scale, keep, highpass
        self.info: dict = {}
        """How the loaded file says it was trained (empty for a fresh network)."""
        self.head = nn.Conv2d(3 + 4 * scale * scale, width, 3, padding=1)
        self.trunk = nn.Sequential(*(_Block(width) for _ in range(blocks)))
        self.tail = nn.Conv2d(width, 3 * scale * scale, 3, padding=1)

    def forward(self, low: torch.Tensor, context: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """low [B, 3, S, S] and context [B, 3, rS, rS] in [-1, 1], known [B, 1, rS, rS] (1 = the
        photo's pixel) -> [B, 3, rS, rS], about [-1, 1], whose (r keep)^2 block means are low's
        keep x keep block means (with highpass: whose change has no coarse content)."""
        r, block = self.scale, self.scale * self.keep
        kept = F.avg_pool2d(low, self.keep)
        seen = torch.cat([context * known, known], 1)
        x = torch.cat([low, F.pixel_unshuffle(seen, r)], 1)
        features = self.head(x)
        residual = F.pixel_shuffle(self.tail(features + self.trunk(features)), r)
        base = F.interpolate(low, scale_factor=r, mode="bilinear", align_corners=False)
        if self.highpass:  # a smooth hold on the coarse content: no block edges to see
            return (base + residual - blurred(residual, self.highpass)).clamp(-1, 1)
        out = consistent(base + residual, kept, block)
        for _ in range(PROJECTIONS):  # alternate projections onto [-1, 1] and onto the block means
            out = consistent(out.clamp(-1, 1), kept, block)
        return out


def save_finisher(path: str | Path, finisher: Finisher, info: dict, *, half: bool = False) -> None:
    """Write a finisher file: weights (float16 with half: the bundled file) plus its shape and
    how it was trained (no pickle)."""
    tensors = {k: v.half() if half else v for k, v in finisher.state_dict().items()}
    write_safetensors(path, tensors, {"kind": FINISHER_KIND, "spec": finisher.spec, "info": info})


def load_finisher(path: str | Path = DEFAULT_FINISHER) -> Finisher:
    """A finisher file in eval mode with gradients off."""
    tensors, meta = read_safetensors(path, FINISHER_KIND)
    finisher = Finisher(**meta["spec"])
    try:
        finisher.load_state_dict({k: v.float() for k, v in tensors.items()})
    except RuntimeError as exc:
        raise ModelFileError(f"{path}: finisher weights do not match its spec ({exc})") from None
    finisher.info = meta.get("info", {})
    return finisher.eval().requires_grad_(False)


def default_finisher(model_size: int) -> Finisher | None:
    """The bundled finisher for a model of this frame size (it is trained for 64 px), if any."""
    return load_finisher() if model_size == 64 and DEFAULT_FINISHER.exists() else None


def default_detail(model_size: int) -> Finisher | None:
    """The bundled detail pass for a model of this frame size (it is trained for 64 px), if any."""
    return load_finisher(DEFAULT_DETAIL) if model_size == 64 and DEFAULT_DETAIL.exists() else None


@torch.no_grad()
def finish(finisher: Finisher, faces: np.ndarray, context: np.ndarray, known: np.ndarray) -> np.ndarray:
    """faces uint8 [N, S, S, 3] completed at the model's size; context uint8 [N, rS, rS, 3] and
    known [N, rS, rS] (1 = the photo's pixel) the photo seen in the same frame at rS -> uint8
    [N, rS, rS, 3], whose block means are the faces' (up to rounding and clipping)."""
    mask = torch.from_numpy(np.ascontiguousarray(known, dtype=np.float32))[:, None]
    return to_uint8(finisher(to_tensor(faces), to_tensor(context), mask))


def brightness(drawn: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """drawn's change to faces [B, 3, S, S] as the same change to every channel: the detail pass
    adds light and shade, the colours stay the search's (a grey face stays grey)."""
    return faces + (drawn - faces).mean(1, keepdim=True)


def redraw(net: Finisher, faces: torch.Tensor, border: int = BORDER) -> torch.Tensor:
    """The detail pass's face (with gradients, unclipped): faces [B, 3, S, S] mirrored `border`
    px beyond their frame (or the network sharpens its zero padding into lines along the edges),
    redrawn with no context, its change as brightness."""
    pad = min(border, faces.shape[-1] - 1, faces.shape[-2] - 1)
    wide = F.pad(faces, (pad, pad, pad, pad), mode="reflect") if pad else faces
    drawn = net(wide, wide, torch.zeros_like(wide[:, :1]))
    return brightness(drawn[..., pad : pad + faces.shape[-2], pad : pad + faces.shape[-1]], faces)


def add_detail(
    net: Finisher, faces: torch.Tensor, strength: float | torch.Tensor = 1.0, *, border: int = BORDER
) -> torch.Tensor:
    """The detail pass (a scale-1 finisher) over generated faces [B, 3, S, S] in [-1, 1], on
    their device: a real face's fine detail drawn into every pixel, the coarse content kept. It
    runs on G(z*) before blending (given the hole's edge, it drew a line along it) and adds
    brightness only (the same change to each channel: a grey face stays grey, the colours stay
    the search's; `redraw`). strength scales its change, one value or one per face [B]."""
    if net.scale != 1:
        raise ModelFileError(f"a detail pass draws at the model's own size (scale 1), not at {net.scale}x")
    x = faces.detach().float().cpu()
    with torch.no_grad():
        drawn = redraw(net, x, border).clamp(-1, 1)
    return (x + per_face(strength, x) * (drawn - x)).to(faces.device)
