"""Pivotal tuning: G' fits the known pixels, G stays as it was, and the schedule's default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganfill import masks
from ganfill.checkpoint import Model
from ganfill.completion import Completer
from ganfill.config import CompletionConfig
from ganfill.schedule import TUNE_STEPS, plan
from ganfill.tuning import adam, tune, tune_batch

pytestmark = pytest.mark.unit


def _face_and_known(planted: Model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A face G cannot draw exactly (another code's face, shifted by a pixel), its centre
    unknown, and the code G draws nearest it is taken as given: two codes, best first."""
    torch.manual_seed(1)
    with torch.no_grad():
        image = planted.generator(torch.rand(1, 8) * 2 - 1).roll(1, -1)
    known = torch.from_numpy(masks.make("center", 1, 16, seed=0)).float()[:, None]
    return image, known, torch.rand(2, 8) * 2 - 1


def test_adam_steps_as_torch_optim_adam_does() -> None:
    """The direct fused step moves weights exactly as torch.optim.Adam(fused=True) would."""
    torch.manual_seed(0)
    start = [torch.randn(5, 3), torch.randn(7)]
    ours, theirs = [w.clone() for w in start], [w.clone().requires_grad_(True) for w in start]
    step, opt = adam(ours, 0.1), torch.optim.Adam(theirs, lr=0.1, fused=True)
    for i in range(3):
        grads = [(torch.rand_like(w) + 0.5) * (i + 1) for w in ours]  # one sign: each step moves ~lr
        for v, grad in zip(theirs, grads, strict=True):
            v.grad = grad
        step(grads)
        opt.step()
    for w, v, w0 in zip(ours, theirs, start, strict=True):
        assert (w0 - w).min() > 0.2
        torch.testing.assert_close(w, v.detach(), rtol=0, atol=1e-7)


def test_tuning_fits_the_known_pixels_and_leaves_g_alone(planted: Model) -> None:
    image, known, z = _face_and_known(planted)
    g = planted.generator
    before = {k: v.clone() for k, v in g.state_dict().items()}
    with torch.no_grad():
        drawn = g(z)
    tuned = tune(g, z, image, known, steps=60, lr=3e-3, locality=1.0)

    def known_error(hat: torch.Tensor) -> float:
        return float(((hat - image).abs() * known).sum() / known.sum())

    assert tuned.shape == drawn.shape
    assert known_error(tuned[:1]) < 0.7 * known_error(drawn[:1])  # the pivot's face fits better
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in before.items())  # G itself unchanged
    untouched = tune(g, z, image, known, steps=0, lr=3e-3, locality=1.0)
    assert torch.equal(untouched, drawn)


def test_the_locality_term_keeps_the_generators_other_faces(planted: Model) -> None:
    image, known, z = _face_and_known(planted)
    g = planted.generator
    other = torch.rand(8, 8, generator=torch.Generator().manual_seed(5)) * 2 - 1
    with torch.no_grad():
        reference = g(other)

    def drift(locality: float) -> float:
        out = tune(g, torch.cat([z, other]), image, known, steps=60, lr=3e-3, locality=locality)
        return float((out[len(z) :] - reference).abs().mean())

    assert drift(10.0) < drift(0.0)


def test_tune_batch_tunes_only_the_images_asked_and_each_as_alone(planted: Model) -> None:
    image, known, z = _face_and_known(planted)
    images, knowns = torch.cat([image, image.flip(-1)]), torch.cat([known, known])
    zs = torch.stack([z, z.flip(0)])
    with torch.no_grad():
        hats = torch.stack([planted.generator(c) for c in zs])
    out = tune_batch(
        planted.generator, zs, hats, images, knowns, torch.tensor([0, 20]), lr=3e-3, locality=1.0
    )
    assert torch.equal(out[0], hats[0]) and not torch.equal(out[1], hats[1])
    alone = tune(planted.generator, zs[1], images[1:], knowns[1:], steps=20, lr=3e-3, locality=1.0)
    assert torch.equal(out[1], alone)


def test_tuning_runs_on_holes_over_the_mouth_from_the_encoders_start() -> None:
    kinds = ("center", "mouth", "eyes", "random", "strokes", "left")
    known = np.concatenate([masks.make(k, 1, 64, seed=1) for k in kinds])
    default = plan(CompletionConfig(), known, has_encoder=True).tune
    assert default.tolist() == [0, TUNE_STEPS] + [0] * 4  # the mouth's hole alone
    assert plan(CompletionConfig(tune=7), known, has_encoder=True).tune.tolist() == [7] * 6
    assert not plan(CompletionConfig(), known, has_encoder=True, lowres=True).tune.any()
    assert not plan(CompletionConfig(init="random"), known, has_encoder=True).tune.any()
    large = np.concatenate([masks.make(k, 1, 128, seed=1) for k in ("mouth", "eyes")])
    assert plan(CompletionConfig(), large, has_encoder=True).tune.tolist() == [TUNE_STEPS, 0]  # any frame
    with pytest.raises(ValueError, match="tune must be >= 0"):
        CompletionConfig(tune=-1)


def test_a_tuned_completion_changes_the_hole_only(tiny_model_file) -> None:
    faces = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    completer = Completer(tiny_model_file)
    plain = completer.complete(faces, "center", iters=3)
    tuned = completer.complete(faces, "center", iters=3, tune=10, tune_lr=1e-2)
    known = plain.known.astype(bool)
    assert not np.array_equal(plain.hats, tuned.hats)
    assert np.array_equal(plain.images[known], tuned.images[known])  # known pixels as given
    assert np.array_equal(plain.latents, tuned.latents)  # the search's code is the pivot
