import dataclasses

import numpy as np
import pytest
import torch

from ganfill import masks
from ganfill.checkpoint import Model
from ganfill.completion import Completer
from ganfill.config import CompletionConfig
from ganfill.devices import bfloat16_is_fast
from ganfill.images import ImageError, to_uint8
from ganfill.inversion import importance_weights, invert, project


def test_importance_weights_hand_computed() -> None:
    known = torch.ones(1, 1, 5, 5)
    known[0, 0, 2, 2] = 0  # one missing pixel in the middle
    w = importance_weights(known, window=3)[0, 0]
    assert w[2, 2] == 0  # unknown pixels get no weight
    assert w[1, 1] == pytest.approx(1 / 9)  # interior neighbour: 1 of 9 missing
    assert w[0, 0] == 0  # no missing pixel in its window
    known2 = torch.ones(1, 1, 4, 4)
    known2[0, 0, 0, 1] = 0
    w2 = importance_weights(known2, window=3)[0, 0]
    assert w2[0, 0] == pytest.approx(1 / 4)  # corner: window clipped to 4 in-image pixels
    assert w2[1, 1] == pytest.approx(1 / 9)


def test_search_recovers_a_planted_code(planted: Model) -> None:
    z0 = torch.rand(4, 8) * 2 - 1
    with torch.no_grad():
        y = planted.generator(z0)
    images = to_uint8(y)
    known = masks.make("center", 4, 16)
    out = Completer(planted).complete(
        images, known, iters=300, lam=0.0, lr=0.05, weighting="none", blend="none"
    )
    hole = np.broadcast_to(known[..., None] < 0.5, images.shape)
    err = np.abs(out.images.astype(float) - images)[hole].mean()
    mean_fill = np.abs(images.reshape(4, -1, 3).mean(1)[:, None, None] - images)[hole].mean()
    assert err < 0.35 * mean_fill
    first = {i: t for i, it, c, p, t in out.history if it == 0}
    last = {i: t for i, it, c, p, t in out.history if it == 300}
    assert all(last[i] < 0.5 * first[i] for i in range(4))


def test_batch_equals_one_by_one(planted: Model) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    known = masks.make("random", 3, 16, seed=1)
    c = Completer(planted)
    together = c.complete(images, known, iters=15, seed=7)
    apart = c.complete(images, known, iters=15, seed=7, batch_size=1)
    assert np.array_equal(together.images, apart.images)


def test_weights_and_params_of_the_model_are_untouched(planted: Model) -> None:
    before = {k: v.clone() for k, v in planted.generator.state_dict().items()}
    g, d = planted.generator.train(), planted.discriminator
    y, known = torch.zeros(2, 3, 16, 16), torch.as_tensor(masks.make("left", 2, 16))[:, None]
    invert(g, d, y, known, CompletionConfig(iters=5, lr=0.01, lam=0.1), torch.zeros(2, 1, 8))
    assert g.training and all(p.requires_grad for p in g.parameters())  # restored after the search
    Completer(planted).complete(np.zeros((2, 16, 16, 3), np.uint8), masks.make("left", 2, 16), iters=5)
    after = planted.generator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_restarts_keep_the_best_and_z_stays_in_the_box(planted: Model, optimizer: str) -> None:
    y = torch.rand(2, 3, 16, 16) * 2 - 1
    known = torch.from_numpy(masks.make("center", 2, 16))[:, None]
    starts = torch.rand(2, 3, 8) * 2 - 1
    cfg = CompletionConfig(iters=20, restarts=3, optimizer=optimizer, lr=0.5)
    inv = invert(planted.generator, planted.discriminator, y, known, cfg, starts)
    assert inv.z.shape == (2, 3, 8) and inv.z.abs().max() <= 1
    assert (inv.loss[:, :-1] <= inv.loss[:, 1:]).all()  # sorted best first


def test_shell_pushes_short_codes_out_along_their_direction_and_leaves_long_ones() -> None:
    torch.manual_seed(0)
    typical = (100 / 3) ** 0.5  # the length of U[-1, 1]^100's samples
    short, long = (torch.rand(50, 100) * 2 - 1) * 0.5, torch.rand(50, 100) * 2 - 1
    pushed = project(short, 1.0)
    assert (pushed.norm(dim=1) >= 0.99 * typical).all() and pushed.abs().max() <= 1
    inside = pushed.abs().max(1).values < 1  # codes none of whose coordinates were clipped
    assert inside.any() and torch.allclose(
        pushed[inside] / short[inside], pushed[inside][:, :1] / short[inside][:, :1]
    )
    assert torch.equal(project(long, 0.7), long.clamp(-1, 1))  # already long enough: untouched
    assert torch.equal(project(short * 3, 0.0), (short * 3).clamp(-1, 1))  # 0: the paper's cube alone


def test_the_search_keeps_its_codes_on_the_shell(planted: Model) -> None:
    y = torch.rand(2, 3, 16, 16) * 2 - 1
    known = torch.from_numpy(masks.make("center", 2, 16))[:, None]
    starts = (torch.rand(2, 3, 8) * 2 - 1) * 0.2  # short guesses, as an encoder's are
    least = (8 / 3) ** 0.5
    for shell, above in ((0.0, False), (1.0, True)):
        cfg = CompletionConfig(iters=20, restarts=3, lr=0.01, shell=shell)
        inv = invert(planted.generator, planted.discriminator, y, known, cfg, starts)
        assert bool((inv.z.norm(dim=-1) >= 0.99 * least).all()) is above and inv.z.abs().max() <= 1


def test_pruning_keeps_only_each_images_best_start_searching(planted: Model) -> None:
    """Starts are independent rows: after pruning at step 3 the survivor (the lowest loss then)
    ends where an unpruned search of it ends, and the others stay where they were at step 3."""
    y = torch.rand(2, 3, 16, 16) * 2 - 1
    known = torch.from_numpy(masks.make("center", 2, 16))[:, None]
    starts = torch.rand(2, 4, 8) * 2 - 1
    cfg = CompletionConfig(iters=10, restarts=4, lr=0.05)

    def run(**o):
        return invert(
            planted.generator, planted.discriminator, y, known, dataclasses.replace(cfg, **o), starts
        )

    full, at3, pruned = run(), run(iters=3), run(prune_after=3)
    for i in range(2):
        rows = [z for z in pruned.z[i]]
        went_on = [r for r in rows if any(torch.allclose(r, z, atol=1e-6) for z in full.z[i])]
        stayed = [r for r in rows if any(torch.allclose(r, z, atol=1e-6) for z in at3.z[i])]
        assert len(went_on) == 1 and len(stayed) == 3
    assert pruned.iterations.tolist() == [10, 10]


def test_lowres_context_matches_the_downsampled_view(planted: Model) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    out = Completer(planted).complete(
        images, masks.make("lowres", 2, 16), iters=5, lowres=True, lowres_factor=4
    )
    pool = lambda a: a.astype(float).reshape(2, 4, 4, 4, 4, 3).mean((2, 4))  # noqa: E731
    assert np.abs(pool(out.images) - pool(images)).max() < 1.5  # rounding only


def test_early_stop_stops(planted: Model) -> None:
    images = to_uint8(planted.generator(torch.rand(2, 8) * 2 - 1).detach())
    out = Completer(planted).complete(
        images, masks.make("center", 2, 16), iters=400, lr=0.05, tol=0.01, patience=5
    )
    assert (out.iterations < 400).all()


def test_bfloat16_steps_search_like_float32_and_return_float32(planted: Model) -> None:
    z0 = torch.rand(4, 8) * 2 - 1
    with torch.no_grad():
        y = planted.generator(z0)
    known = torch.from_numpy(masks.make("center", 4, 16))[:, None]
    starts = torch.rand(4, 1, 8) * 2 - 1
    cfg = CompletionConfig(iters=150, lr=0.05, weighting="none")
    ref = invert(planted.generator, planted.discriminator, y, known, cfg, starts)
    seen = []
    hook = planted.generator.register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    half = invert(
        planted.generator,
        planted.discriminator,
        y,
        known,
        dataclasses.replace(cfg, precision="bfloat16"),
        starts,
    )
    hook.remove()
    assert seen[:-1] == [torch.bfloat16] * 150 and seen[-1] == torch.float32  # steps, then the final render
    assert half.hats.dtype == torch.float32
    start = invert(
        planted.generator, planted.discriminator, y, known, dataclasses.replace(cfg, iters=0), starts
    )
    assert (half.context < 0.5 * start.context).all()  # the bfloat16 gradients do search
    if bfloat16_is_fast(torch.device("cpu")):  # where the default uses it (AMX): where float32 lands
        assert torch.allclose(half.context, ref.context, rtol=0.2)
    else:  # emulated bfloat16 (no AMX, e.g. an AVX2-only EPYC) rounds otherwise: near it, no more
        assert (half.context < 2.5 * ref.context).all()
    assert not torch.equal(half.z, ref.z)


def test_zero_lam_never_runs_the_discriminator(planted: Model) -> None:
    calls = []
    handle = planted.discriminator.register_forward_hook(lambda *a: calls.append(1))
    y = torch.rand(2, 3, 16, 16) * 2 - 1
    known = torch.from_numpy(masks.make("center", 2, 16))[:, None]
    starts = torch.rand(2, 1, 8) * 2 - 1
    cfg = CompletionConfig(iters=4, lr=0.01, lam=0.0)
    inv = invert(planted.generator, planted.discriminator, y, known, cfg, starts)
    assert calls == [] and (inv.prior == 0).all()
    invert(planted.generator, planted.discriminator, y, known, dataclasses.replace(cfg, lam=0.1), starts)
    handle.remove()
    assert len(calls) == 5  # four steps and the final evaluation


def test_a_completer_never_toggles_its_shared_models_flags(planted: Model) -> None:
    # Concurrent server requests share one model: a search that set and restored its train/grad
    # flags could restore them under another request still searching.
    completer = Completer(planted)
    nets = (planted.generator, planted.discriminator)
    seen = []

    def on_step(step: int, loss: float) -> None:
        seen.append([(net.training, any(p.requires_grad for p in net.parameters())) for net in nets])

    y = np.zeros((2, 16, 16, 3), np.uint8)
    completer.complete(y, masks.make("center", 2, 16), CompletionConfig(iters=3, lam=0.1), on_step=on_step)
    assert seen and all(state == [(False, False), (False, False)] for state in seen)
    assert all(p.grad is None for net in nets for p in net.parameters())


def test_dilate_grows_the_hole_and_feather_fades_the_fill_in(planted: Model) -> None:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    known = masks.make("center", 2, 16)
    completer = Completer(planted)
    plain = completer.complete(images, known, iters=3, blend="none").images
    grown = completer.complete(images, known, iters=3, blend="none", dilate=2).images
    ring = (masks.grow_holes(known, 2) < 0.5) & (known > 0.5)
    far = masks.grow_holes(known, 2) > 0.5
    assert np.array_equal(grown[far], images[far])  # beyond the grown hole: untouched
    assert (grown[ring] != images[ring]).any() and np.array_equal(plain[ring], images[ring])
    soft = completer.complete(images, known, iters=3, blend="none", dilate=2, feather=2).images
    edge = ring & (masks.grow_holes(known, 1) > 0.5)  # the grown hole's outermost pixels
    d_soft = np.abs(soft[edge].astype(int) - images[edge]).mean()
    assert d_soft < 0.75 * np.abs(grown[edge].astype(int) - images[edge]).mean()  # half the fill there
    assert np.array_equal(soft[far], images[far])


def test_images_other_than_uint8_rgb_are_refused_not_cast(planted: Model) -> None:
    completer = Completer(planted)
    known = masks.make("center", 2, 16)
    images = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    with pytest.raises(ImageError, match=r"uint8 in 0-255, got float32 in \[0, 0.99"):
        completer.complete(images.astype(np.float32) / 255, known, iters=1)  # was cast to black
    with pytest.raises(ImageError, match=r"RGB \[B, H, W, 3\].*\(2, 16, 16, 4\)"):
        completer.complete(np.concatenate([images, images[..., :1]], -1), known, iters=1)
    one = completer.complete(images[0], known[0], iters=1, blend="none").images  # one image, any array
    assert one.shape == (1, 16, 16, 3)
    tensor = completer.complete(torch.from_numpy(images[:1]), known[:1], iters=1, blend="none").images
    assert np.array_equal(one, tensor)


def test_one_mask_serves_every_image_and_a_count_mismatch_is_named(planted: Model) -> None:
    completer = Completer(planted)
    images = np.random.default_rng(1).integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    known = masks.make("center", 3, 16)
    shared = completer.complete(images, known[0], iters=2, blend="none").images
    assert np.array_equal(shared, completer.complete(images, known, iters=2, blend="none").images)
    with pytest.raises(ImageError, match="3 images but 2 masks"):
        completer.complete(images, known[:2], iters=2)


def test_a_mask_kind_is_drawn_for_each_image_as_the_cli_draws_it(planted: Model) -> None:
    from ganfill.config import MaskConfig

    completer = Completer(planted)
    images = np.random.default_rng(2).integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    drawn = np.stack([masks.make("strokes", 1, 16, seed=5, start=i, width="thick")[0] for i in (4, 5, 6)])
    assert len({m.tobytes() for m in drawn}) == 3  # each image its own draw
    by_kind = completer.complete(
        images, MaskConfig(mask="strokes", stroke_width="thick"), seed=5, image_ids=[4, 5, 6], iters=2
    )
    by_array = completer.complete(images, drawn, seed=5, image_ids=[4, 5, 6], iters=2)
    assert np.array_equal(by_kind.images, by_array.images)
    assert np.array_equal(
        completer.complete(images[0], "center", iters=2).images,
        completer.complete(images[0], masks.make("center", 1, 16), iters=2).images,
    )
    lowres = completer.complete(images, "lowres", iters=2).images  # the search compares downsampled views
    assert np.array_equal(
        lowres, completer.complete(images, masks.make("lowres", 3, 16), lowres=True, iters=2).images
    )
    with pytest.raises(masks.MaskError, match="unknown mask 'nose'"):
        completer.complete(images, "nose", iters=1)
