"""What a generator can draw at all: held-out faces searched with every pixel known.

Yeh et al.'s search only picks a code: a mouth the generator cannot draw when all of it is given
cannot come out of a hole either. Each face (the astronaut's own aligned frame first, then
held-out faces) is searched from 8 random starts with every pixel known, no prior term and no
shell, and the best reconstruction is compared with the truth over the mouth's box: PSNR, and the
lips' redness, the mean Cr (YCbCr, 8-bit levels) at the truth's reddest 15% of the box less that
at its middle 40% (skin), measured at the same pixels in the reconstruction; beside it, that of
the generator's own random samples (each at its own reddest pixels). A face model is compared
over the box of its whole frame, a mouth model (ModelConfig.region "mouth") over its own.

The same question for the colouriser (--colourisers), the stage after the search that gives the
hole real faces' colours: with the mouth masked and the truth's own luma in the hole, the best
luma any fill could have, how much of the lips' redness does it give back at full strength (its
own colours), and how far is its Cr from the truth's over the box (mean |difference|, 8-bit levels)?

    python benchmarks/generator_range.py --limit 32 MOUTH.safetensors \
        src/ganfill/weights/faces64.safetensors
    python benchmarks/generator_range.py --limit 128 --colourisers \
        src/ganfill/weights/colouriser.safetensors
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from machine import describe_machine

from ganfill import masks as mask_kinds
from ganfill.alignment import FaceAligner
from ganfill.checkpoint import Model, load_model
from ganfill.colouring import TO_YCC, load_colouriser, recolour
from ganfill.config import REGIONS, CompletionConfig
from ganfill.data import HELDOUT_FILE, load_folder, read_split
from ganfill.images import to_tensor
from ganfill.inversion import invert
from ganfill.models import sample_z

STARTS, STEP_SIZE, SAMPLES = 8, 0.03, 256
_TOP, _LEFT, _HEIGHT, _WIDTH = REGIONS["mouth"]
BOX = (..., slice(_TOP, _TOP + _HEIGHT), slice(_LEFT, _LEFT + _WIDTH))
"""The mouth's box of the 64-px frame, as an index of [..., H, W] tensors."""


def her_frame() -> np.ndarray:
    """The astronaut's face aligned to the 64-px frame (uint8 [64, 64, 3])."""
    from skimage import data as samples

    photo = samples.astronaut()
    aligner = FaceAligner(64)
    return aligner.warp(photo, aligner.detect(photo)[0])


def redness(cr: torch.Tensor, truth_cr: torch.Tensor) -> torch.Tensor:
    """[B] mean of cr [B, P] at the pixels where truth_cr is in its top 15%, less at its 30-70th
    percentiles."""
    order = truth_cr.argsort(1)
    p = cr.shape[1]
    red, skin = order[:, int(0.85 * p) :], order[:, int(0.3 * p) : int(0.7 * p)]
    return cr.gather(1, red).mean(1) - cr.gather(1, skin).mean(1)


def box_cr(images: torch.Tensor) -> torch.Tensor:
    """Cr in 8-bit levels [B, P] of images [B, 3, h, w] in [-1, 1]."""
    return 127.5 * torch.einsum("c,bchw->bhw", TO_YCC[2], images).flatten(1)  # Cr's row sums to 0


def sample_redness(model: Model) -> float:
    """Mean lip redness of SAMPLES of the model's random samples, over the mouth's box."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        drawn = model.generator(sample_z(SAMPLES, model.config.z_dim, generator=gen))
    if model.config.region != "mouth":
        drawn = drawn[BOX]
    cr = box_cr(drawn)
    return float(redness(cr, cr).mean())


def reconstruct(model: Model, faces: np.ndarray, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's best reconstruction of faces [N, 64, 64, 3] and the truth, both cut to the
    mouth's box ([N, 3, h, w] in [-1, 1])."""
    y = to_tensor(faces)
    if model.config.region == "mouth":
        y = y[BOX]
    search = dataclasses.replace(
        CompletionConfig(),
        restarts=STARTS,
        prune_after=steps,
        lam=0.0,
        shell=0.0,
        precision="float32",
        save_every=0,
        tol=0.0,
        weighting="none",
    )
    gen = torch.Generator().manual_seed(0)
    starts = sample_z(len(y) * STARTS, model.config.z_dim, generator=gen).view(len(y), STARTS, -1)
    known = torch.ones(len(y), 1, *y.shape[-2:])
    found = invert(
        model.generator,
        model.discriminator,
        y,
        known,
        search,
        starts,
        iters=torch.full((len(y),), steps),
        lr=torch.full((len(y),), STEP_SIZE),
    )
    hat = found.hats[:, 0]
    return (hat, y) if model.config.region == "mouth" else (hat[BOX], y[BOX])


def her_and_theirs(truth: torch.Tensor, drawn: torch.Tensor) -> str:
    """'her truth / hers / held-out truth / theirs' of lip rednesses [N] (her first)."""
    return f"{truth[0]:.1f} / {drawn[0]:.1f} / {truth[1:].mean():.1f} / {drawn[1:].mean():.1f}"


def colour_range(path: str, faces: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, float]:
    """A colouriser's lip redness [N] over the mouth's box, given faces [N, 64, 64, 3] with the
    mouth masked and the truth's luma in the hole; the truth's redness [N]; its mean |Cr error|."""
    y = to_tensor(faces)
    known = torch.from_numpy(mask_kinds.make("mouth", len(y), 64, seed=0)).float()[:, None]
    coloured_cr, truth_cr = box_cr(recolour(load_colouriser(path), y, y, known)[BOX]), box_cr(y[BOX])
    error = float((coloured_cr - truth_cr).abs().mean())
    return redness(coloured_cr, truth_cr), redness(truth_cr, truth_cr), error


def print_colour_ranges(paths: list[str], faces: np.ndarray) -> None:
    """One row per colouriser file: its lip redness and Cr error, from the truth's luma."""
    print(f"the astronaut and {len(faces) - 1} held-out faces, mouth masked, the truth's luma in the hole")
    print(
        "| colouriser | lip redness (Cr levels): her truth / hers / held-out truth / theirs "
        "| box Cr error | s |"
    )
    print("|---|---|---|---|")
    for path in paths:
        start = time.perf_counter()
        drawn, truth, error = colour_range(path, faces)
        print(
            f"| {path} | {her_and_theirs(truth, drawn)} | {error:.2f} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="model files (face or mouth pairs)")
    parser.add_argument("--colourisers", nargs="+", default=[], help="colouriser files")
    parser.add_argument(
        "--data", default="data/aligned", help="aligned faces; the held-out split is taken from them"
    )
    parser.add_argument("--limit", type=int, default=32, help="held-out faces, evenly spaced in the split")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    if not args.models and not args.colourisers:
        parser.error("give model files, --colourisers files, or both")
    heldout = load_folder(args.data, 64, only=read_split(HELDOUT_FILE)).images.permute(0, 2, 3, 1).numpy()
    faces = np.concatenate([her_frame()[None], heldout[:: max(1, len(heldout) // args.limit)][: args.limit]])
    print(describe_machine())
    if args.colourisers:
        print_colour_ranges(args.colourisers, faces)
    if not args.models:
        return
    print(
        f"the astronaut and {len(faces) - 1} held-out faces, every pixel known, "
        f"{STARTS} starts x {args.steps} steps"
    )
    print(
        "| model | box PSNR dB: her / held-out | lip redness (Cr levels): "
        "her truth / hers / held-out truth / theirs / random samples' | s |"
    )
    print("|---|---|---|---|")
    for path in args.models:
        start = time.perf_counter()
        model = load_model(path)
        hat, y = reconstruct(model, faces, args.steps)
        psnr = -10 * torch.log10(((hat - y) / 2).pow(2).flatten(1).mean(1))
        drawn_cr, truth_cr = box_cr(hat), box_cr(y)
        drawn, truth = redness(drawn_cr, truth_cr), redness(truth_cr, truth_cr)
        print(
            f"| {path} | {psnr[0]:.2f} / {psnr[1:].mean():.2f} | {her_and_theirs(truth, drawn)} / "
            f"{sample_redness(model):.1f} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
