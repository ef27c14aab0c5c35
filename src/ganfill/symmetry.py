"""Fine detail from the face's other half.

An aligned face is close to its own mirror image about the frame's vertical centre line. Where
a missing pixel's mirror pixel is known and the two agree in coarse content (the same part of
the face, lit alike), the person's own fine detail there (lids, brows, lip lines, skin) is a
better guess than any the generator or the detail pass draws: it is real, and it is theirs.
Where they disagree (a turned head, a parting, hair or background on one side only) the fill
keeps its own detail, so a gaze or a strand of hair is not mirrored into the wrong place.
"""

from __future__ import annotations

import torch

from ganfill.finisher import blurred
from ganfill.images import per_face

BAND, NARROW_BAND = 4 / 64, 1.5 / 64
"""Detail finer than a Gaussian blur of this std (in image sides: 4 px at 64) is the mirror's;
on narrow holes (blobs, strokes) only the finest (1.5 px): the search fits the rest to the
context around them, and a wider band costs their hole PSNR (MODEL_CARD.md)."""
COARSE = 2 / 64
"""Blur std (in sides) at which the fill and the mirror are compared."""
SOFTEN = 1 / 64
"""Blur std (in sides) that softens the edge between mirrored and drawn detail."""
REACH, NARROW_REACH = 0.99, 0.5
"""Share of the band's blur around a missing pixel that must be real (known, or mirrored from a
known pixel) for it to take the mirror's detail. On holes 0.99: an off-centre box has mirrored
pixels only in a thin strip along one side, and real detail there beside the soft drawn rest
reads as a line. On narrow holes (blobs, strokes; band 1.5 px) 0.5: their mirrored parts are
arcs between drawn pixels, and more would leave most blob pixels without the person's own
detail (MODEL_CARD.md)."""

_EMPTY = 1e-3
"""Floor of the share of real pixels a local mean divides by (only pixels that reach keeps from
being mirrored come near it)."""


def _blurred(images: torch.Tensor, band: float | torch.Tensor) -> torch.Tensor:
    """images [B, C, S, S] blurred by a Gaussian of std band (in sides; one value or one per image)."""
    sigmas = per_face(band, images) * images.shape[-1]
    out = torch.zeros_like(images)
    for sigma in sigmas.unique().tolist():
        out = torch.where(sigmas == sigma, blurred(images, sigma), out)
    return out


def fine(images: torch.Tensor, band: float | torch.Tensor) -> torch.Tensor:
    """The detail of images [B, C, S, S] finer than a Gaussian blur of std band (in sides; one
    value or one per image [B])."""
    return images - _blurred(images, band)


def mirror_detail(
    fills: torch.Tensor,
    images: torch.Tensor,
    known: torch.Tensor,
    tolerance: float | torch.Tensor,
    band: float | torch.Tensor = BAND,
    reach: float | torch.Tensor = REACH,
) -> torch.Tensor:
    """fills [B, 3, S, S] in [-1, 1] with their detail finer than band (`fine`) taken from the
    mirror image of images' known pixels (known [B, 1, S, S], 1 = keep), wherever that pixel is
    missing, its mirror known, and the mean |difference| of their coarse colours below tolerance
    (one value or one per face [B]; 0 leaves a face as it is), where more than reach (one value or
    one per face) of the band's blur around it is real. Only known pixels of images are read."""
    side = fills.shape[-1]
    tol = per_face(tolerance, fills)
    known = known.to(fills.dtype)
    mirrorable = (1 - known) * known.flip(-1)
    # The face's real pixels: the known ones, and each hole pixel whose mirror is known taken from
    # it (0 elsewhere). Their local means are taken over real pixels only, so no drawn pixel
    # enters the mirror's detail or colour (the cut between the two would pass for detail), and
    # the detail runs on across the centre line without a seam.
    real = known + mirrorable
    values = images * known + mirrorable * images.flip(-1)
    coarse = blurred(values, COARSE * side) / blurred(real, COARSE * side).clamp_min(_EMPTY)
    gap = (coarse - blurred(fills, COARSE * side)).abs().mean(1, keepdim=True)
    around = _blurred(real, band)
    where = mirrorable * (around > per_face(reach, fills)).to(fills.dtype)
    take = blurred(where * (gap < tol).to(fills.dtype), SOFTEN * side) * where
    detail = values - _blurred(values, band) / around.clamp_min(_EMPTY)
    return fills + take * (detail - fine(fills, band))
