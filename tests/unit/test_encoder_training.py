from pathlib import Path

import numpy as np
import pytest
import torch

from ganfill import masks
from ganfill.checkpoint import Model, load_model, save_model
from ganfill.completion import Completer
from ganfill.config import CompletionConfig, EncoderTrainConfig
from ganfill.devices import bfloat16_is_fast
from ganfill.encoder_training import train_encoder
from ganfill.images import to_tensor, to_uint8
from ganfill.inversion import invert
from ganfill.models import Encoder


def test_encoder_output_is_in_the_box() -> None:
    enc = Encoder(16, 8, 4)
    z = enc(torch.randn(5, 3, 16, 16) * 3, torch.ones(5, 1, 16, 16))
    assert z.shape == (5, 8) and z.abs().max() <= 1


def test_encoder_start_beats_a_random_start(tmp_path: Path, planted: Model) -> None:
    model = planted
    enc, log = train_encoder(
        model, EncoderTrainConfig(steps=150, batch_size=32, lr=2e-3, ef_dim=8), progress=False
    )
    assert log[-1]["z_mse"] < log[0]["z_mse"]
    one_step = EncoderTrainConfig(steps=1, batch_size=32, lr=2e-3, ef_dim=8)
    (_, fresh), (_, continued) = (
        train_encoder(model, one_step, start=s, progress=False) for s in (None, enc)
    )
    assert continued[0]["z_mse"] < fresh[0]["z_mse"]  # continuing keeps what was learnt
    model.encoder = enc
    images = to_uint8(model.generator(torch.rand(8, 8) * 2 - 1).detach())
    known = masks.make("center", 8, 16)
    y, m = to_tensor(images), torch.from_numpy(known)[:, None]
    cfg = CompletionConfig(iters=0, lr=0.01, lam=0.0, weighting="none")
    with torch.no_grad():
        guess = enc(y, m)[:, None]
    from_encoder = invert(model.generator, model.discriminator, y, m, cfg, guess)
    from_random = invert(model.generator, model.discriminator, y, m, cfg, torch.rand(8, 1, 8) * 2 - 1)
    assert from_encoder.loss.mean() < from_random.loss.mean()
    # saved with the model, loaded back, used by default
    save_model(tmp_path / "m.safetensors", model)
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.encoder is not None
    with torch.no_grad():
        assert torch.equal(loaded.encoder(y, m), enc(y, m))
    auto = Completer(loaded).complete(images, known, iters=0, blend="none")
    rand = Completer(loaded).complete(images, known, iters=0, blend="none", init="random")
    assert auto.context.mean() < rand.context.mean()


def test_init_random_reproduces_the_reference_search(tiny_model_file: Path, tiny_model) -> None:
    """With an encoder in the file, --init random gives bit for bit what a model without one gives."""
    images = np.random.default_rng(0).integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    known = masks.make("random", 3, 16)
    plain = Completer(tiny_model_file).complete(images, known, iters=5, seed=3)
    with_encoder = load_model(tiny_model_file)
    with_encoder.encoder = Encoder(16, 8, 4).eval()
    other = Completer(with_encoder).complete(images, known, iters=5, seed=3, init="random")
    assert np.array_equal(plain.images, other.images) and np.array_equal(plain.hats, other.hats)


def test_each_image_searches_as_its_mask_says_and_as_if_alone(tiny_model_file: Path) -> None:
    """In one batch from the encoder's start, each from the guess: a hole 100 steps at 0.01, a
    half face 10 at 0.01, scattered pixels 100 at 0.04; each image's result is that of its own
    search alone."""
    model = load_model(tiny_model_file)
    model.encoder = Encoder(16, 8, 4).eval()
    completer = Completer(model)
    images = np.random.default_rng(0).integers(0, 255, (4, 16, 16, 3), dtype=np.uint8)
    kinds = ("center", "left", "random", "top")
    known = np.concatenate([masks.make(k, 1, 16) for k in kinds])
    auto = completer.complete(images, known, blend="none")
    assert auto.iterations.tolist() == [100, 10, 100, 10]
    explicit = {
        "center": dict(spread=0.0, restarts=1, iters=100, lr=0.01),
        "left": dict(spread=0.0, restarts=1, iters=10, lr=0.01),
        "random": dict(spread=0.0, restarts=1, iters=100, lr=0.04),
    }
    for i, kind in enumerate(kinds[:3]):
        alone = completer.complete(
            images[i : i + 1], known[i : i + 1], blend="none", image_ids=[i], **explicit[kind]
        )
        assert np.abs(auto.hats[i].astype(int) - alone.hats[0]).max() <= 1, (
            kind
        )  # batch size: float noise only
    drawn = completer.complete(images[:1], known[:1], blend="none", spread=0.8, image_ids=[0])
    assert not np.array_equal(drawn.hats[0], auto.hats[0])  # draws around the guess, when asked for
    assert completer.complete(images, known, blend="none", iters=7).iterations.tolist() == [7] * 4
    random_start = completer.complete(images[1:3], known[1:3], blend="none", init="random", iters=None)
    assert random_start.iterations.tolist() == [1500, 1500]


def test_hole_term_teaches_what_the_holes_held(planted: Model) -> None:
    """Trained on the missing pixels' truth alone, E's guesses fill real faces' holes better
    than the same encoder untrained (hole weight 0 leaves it untouched)."""
    model = planted
    with torch.no_grad():
        model.generator.deconvs[-2].weight.mul_(20)  # faces that vary with z, as trained ones do
        z = torch.rand(64, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
        faces = torch.from_numpy(to_uint8(model.generator(z))).permute(0, 3, 1, 2).contiguous()
    y = to_tensor(faces.permute(0, 2, 3, 1).numpy())
    known = torch.from_numpy(masks.make("left", len(y), 16))[:, None]

    def hole_error(hole_weight: float) -> tuple[float, list[dict[str, float]]]:
        only_holes = EncoderTrainConfig(
            steps=60, batch_size=16, lr=5e-3, ef_dim=8, z_weight=0, pixel_weight=0, prior_weight=0,
            real_fraction=1.0, hole_weight=hole_weight,
        )  # fmt: skip
        enc, log = train_encoder(model, only_holes, faces=faces, progress=False)
        with torch.no_grad():
            return float(((model.generator(enc(y, known)) - y).abs() * (1 - known)).mean()), log

    (trained, log), (untrained, _) = hole_error(1.0), hole_error(0.0)
    assert trained < 0.5 * untrained
    assert log[-1]["hole_l1"] < 0.5 * log[0]["hole_l1"]  # the log shows the term falling


@pytest.mark.skipif(not bfloat16_is_fast(torch.device("cpu")), reason="this CPU has no native bfloat16 (AMX)")
def test_amp_trains_the_encoder_in_bfloat16(planted: Model) -> None:
    dtypes = []
    hook = planted.generator.register_forward_hook(lambda m, a, out: dtypes.append(out.dtype))
    config = EncoderTrainConfig(steps=150, batch_size=32, lr=2e-3, ef_dim=8, amp=True)
    enc, log = train_encoder(planted, config, progress=False)
    hook.remove()
    assert set(dtypes) == {torch.bfloat16}  # every pass through G: the samples and the guesses
    assert log[-1]["z_mse"] < 0.5 * log[0]["z_mse"]  # it learns
    assert all(p.dtype == torch.float32 for p in enc.parameters())
