"""A weight interpolation ("model soup", Wortsman et al. 2022) of two model files that continue one
start: the generator and the encoder at (1 - alpha) * A + alpha * B, the discriminator kept from
A, and the generator's batch-norm statistics recomputed on codes drawn as a `--shorten` run draws
them (training.py). Weights averaged this way lie between their ends only when both were trained
on from the same file (BENCHMARKS.md "Session 38").

    python tools/soup.py src/ganfill/weights/faces64.safetensors runs/s35/gS_enc.safetensors \
        --alpha 0.5 --shorten 0.25 --out runs/soup.safetensors
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from ganfill.checkpoint import Model, ModelFileError, load_model, save_model
from ganfill.models import recalibrate_batchnorm


def _lerp_into(a: nn.Module, b: nn.Module, alpha: float, what: str) -> None:
    """a's floating-point weights and buffers moved to (1 - alpha) * a + alpha * b, in place."""
    theirs = b.state_dict()
    for name, mine in a.state_dict().items():
        if name not in theirs or theirs[name].shape != mine.shape:
            raise ModelFileError(f"the two files' {what}s differ at {name}: not one network's continuations")
        if mine.is_floating_point():
            mine.copy_((1 - alpha) * mine.float() + alpha * theirs[name].float())


@torch.no_grad()
def soup(a: Model, b: Model, alpha: float, shorten: float, seed: int = 0) -> Model:
    """Model a with its generator (and encoder) interpolated towards b's by alpha."""
    if (a.encoder is None) != (b.encoder is None):
        raise ModelFileError("one file has an encoder and the other not: export both with or both without")
    _lerp_into(a.generator, b.generator, alpha, "generator")
    if a.encoder is not None and b.encoder is not None:
        _lerp_into(a.encoder, b.encoder, alpha, "encoder")
    recalibrate_batchnorm(a.generator, seed=seed, shorten=shorten)
    a.info = {**a.info, "soup": {"alpha": alpha, "shorten": shorten, "seed": seed, "b": b.info}}
    return a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="model file A (its discriminator is kept)")
    parser.add_argument("b", help="model file B, trained on from the same start as A")
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of B (0: A, 1: B)")
    parser.add_argument(
        "--shorten", type=float, default=0.0, help="codes for the batch-norm statistics (train's --shorten)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of those codes (alpha 0: A, its statistics redrawn)"
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    try:  # a file that cannot be read, or two that are not one network: one line, exit status 1
        model = soup(load_model(args.a), load_model(args.b), args.alpha, args.shorten, args.seed)
    except ModelFileError as exc:
        raise SystemExit(f"soup.py {args.a} {args.b}: {exc}") from None
    save_model(args.out, model)
    print(f"wrote {args.out}: {1 - args.alpha:g} x {args.a} + {args.alpha:g} x {args.b}")


if __name__ == "__main__":
    main()
