"""The hole's colours from real faces: the colouriser.

The generator draws a fill's light and shade better than its colours: at the codes the search
ends on, lips are barely redder than the skin and the shadow around a grin's teeth is grey
(BENCHMARKS.md "Session 35"). The colouriser, trained on real aligned faces, predicts the
hole's chroma (YCbCr's Cb and Cr) from the whole face's luma (inside the hole, the fill's) and
the known pixels' colours: where the luma draws a lip or a lid, the colours real faces have
there, matched to this face's skin. The fill keeps its luma, which is what the search, the
detail pass and the mirror decided, and takes that chroma. Chroma needs less resolution than
luma (JPEG's 4:2:0 keeps half of each side of it), so the network runs at half the frame's side,
a small U-Net; predicting chroma from luma is colourisation's task (Zhang, Isola & Efros 2016;
with the colours of known points given, Zhang et al. 2017).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganfill.checkpoint import COLOURISER_KIND, ModelFileError, read_safetensors, write_safetensors
from ganfill.images import GREY_SPREAD, per_face

DEFAULT_COLOURISER = Path(__file__).resolve().parent / "weights" / "colouriser.safetensors"
TO_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
"""RGB -> (Y, Cb, Cr), ITU-R 601 (Y as images.GREY), on [0, 1] values (Cb, Cr centred on 0)."""
FROM_YCC = torch.linalg.inv(TO_YCC)
CHROMA_SCALE = 4.0
"""Cb and Cr of faces lie within about +-0.25: scaled to about +-1 in and out of the network."""


def to_ycc(rgb: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] RGB in [0, 1] -> (Y, Cb, Cr)."""
    return torch.einsum("ij,bjhw->bihw", TO_YCC.to(rgb), rgb)


def from_ycc(ycc: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] (Y, Cb, Cr) -> RGB in [0, 1] (unclipped)."""
    return torch.einsum("ij,bjhw->bihw", FROM_YCC.to(ycc), ycc)


def _conv(channels_in: int, channels_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(channels_in, channels_out, 3, stride, padding=dilation, dilation=dilation)
    return nn.Sequential(conv, nn.ReLU(inplace=True))


class Colouriser(nn.Module):
    """C(luma, chroma, known) -> the chroma [B, 2, S, S] of the whole face, predicted at S/2.

    A U-Net of three levels below S/2 (the deepest dilated, so that it sees the whole face's
    skin from any hole) whose input is the luma at S (space-to-depth), the known chroma and the
    known share, each averaged over 2x2 pixels; its output is upsampled bilinearly.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.spec = {"width": width}
        self.info: dict = {}
        """How the loaded file says it was trained (empty for a fresh network)."""
        w = width
        self.down1 = nn.Sequential(_conv(7, w), _conv(w, w))
        self.down2 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))
        self.down3 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w))
        self.middle = nn.Sequential(
            _conv(4 * w, 4 * w, 2), _conv(4 * w, 4 * w, 1, 2), _conv(4 * w, 4 * w, 1, 4), _conv(4 * w, 4 * w)
        )
        self.up3 = nn.Sequential(_conv(8 * w, 4 * w), _conv(4 * w, 4 * w))
        self.up2 = nn.Sequential(_conv(6 * w, 2 * w), _conv(2 * w, 2 * w))
        self.up1 = nn.Sequential(_conv(3 * w, w), nn.Conv2d(w, 2, 3, padding=1))

    def forward(self, luma: torch.Tensor, chroma: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """luma [B, 1, S, S] in [0, 1], chroma [B, 2, S, S] (Cb, Cr; read only where known),
        known [B, 1, S, S] (1 = the image's pixel) -> predicted chroma [B, 2, S, S]; S a multiple of 16."""
        seen = CHROMA_SCALE * F.avg_pool2d(chroma * known, 2)
        x = torch.cat([F.pixel_unshuffle(2 * luma - 1, 2), seen, 2 * F.avg_pool2d(known, 2) - 1], 1)
        a = self.down1(x)
        b = self.down2(a)
        c = self.down3(b)
        x = self.up3(torch.cat([_up(self.middle(c)), c], 1))
        x = self.up2(torch.cat([_up(x), b], 1))
        return _up(self.up1(torch.cat([_up(x), a], 1)) / CHROMA_SCALE)


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def recolour(
    net: Colouriser,
    images: torch.Tensor,
    hats: torch.Tensor,
    known: torch.Tensor,
    strength: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """hats [B, 3, S, S] in [-1, 1] (the fills of images [B, 3, S, S], known [B, 1, S, S]) with
    the hole's chroma moved `strength` of the way (one value, or one per image [B]) to the
    colouriser's, or to grey where the image's known pixels are grey (a black-and-white photo:
    the network learnt only colour faces); the luma stays the hat's. On the hats' device; the
    network runs on the CPU."""
    x, h, m = (t.detach().float().cpu() for t in (images, hats, known))
    weight = per_face(strength, h)
    ycc = to_ycc(torch.where(m > 0.5, x, h) * 0.5 + 0.5)
    with torch.no_grad():
        chroma = net(ycc[:, :1], ycc[:, 1:], m)
    spread = ((x.amax(1, keepdim=True) - x.amin(1, keepdim=True)) * m).flatten(1).amax(1)
    grey = (spread <= 2 * GREY_SPREAD / 255).view(-1, 1, 1, 1)  # [-1, 1] values: 2/255 a level
    chroma = torch.where(grey, torch.zeros_like(chroma), chroma)
    own = to_ycc(h * 0.5 + 0.5)
    mixed = own[:, 1:] + weight * (chroma - own[:, 1:])
    kept = (m > 0.5) & ~grey  # a grey image's hat turns grey all over, or the blend's rim takes G's colour
    out = from_ycc(torch.cat([own[:, :1], torch.where(kept, own[:, 1:], mixed)], 1)) * 2 - 1
    return out.clamp(-1, 1).to(hats.device, hats.dtype)


def save_colouriser(path: str | Path, net: Colouriser, info: dict, *, half: bool = False) -> None:
    """Write a colouriser file: weights (float16 with half: the bundled file), its shape and how it
    was trained (no pickle)."""
    tensors = {k: v.half() if half else v for k, v in net.state_dict().items()}
    write_safetensors(path, tensors, {"kind": COLOURISER_KIND, "spec": net.spec, "info": info})


def load_colouriser(path: str | Path = DEFAULT_COLOURISER) -> Colouriser:
    """A colouriser file in eval mode with gradients off."""
    tensors, meta = read_safetensors(path, COLOURISER_KIND)
    try:
        net = Colouriser(**meta["spec"])
        net.load_state_dict({k: v.float() for k, v in tensors.items()})
    except (RuntimeError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{path}: colouriser weights do not match its spec ({exc})") from None
    net.info = meta.get("info", {})
    return net.eval().requires_grad_(False)


def default_colouriser(model_size: int) -> Colouriser | None:
    """The bundled colouriser for a model of this frame size (it is trained at 64 px), if any."""
    return load_colouriser() if model_size == 64 and DEFAULT_COLOURISER.exists() else None
