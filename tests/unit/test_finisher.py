import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganfill import masks
from ganfill.checkpoint import CRITIC_KIND, ModelFileError, read_safetensors
from ganfill.config import ConfigError, FinisherTrainConfig
from ganfill.finisher import Finisher, add_detail, blurred, consistent, finish, load_finisher, save_finisher
from ganfill.finisher_training import _batch, critic_file, hole_crops, train_finisher


def test_consistent_sets_each_block_mean_to_the_low_pixel() -> None:
    high, low = torch.randn(2, 3, 12, 12), torch.randn(2, 3, 4, 4)
    assert torch.allclose(F.avg_pool2d(consistent(high, low), 3), low, atol=1e-6)
    assert not torch.allclose(F.avg_pool2d(high, 3), low, atol=0.1)  # it had to move


def test_the_finisher_cannot_change_what_the_search_decided() -> None:
    torch.manual_seed(0)
    finisher = Finisher(width=8, blocks=1).eval()
    low = torch.rand(2, 3, 8, 8) - 0.5
    context, known = torch.rand(2, 3, 24, 24) * 2 - 1, (torch.rand(2, 1, 24, 24) > 0.5).float()
    with torch.no_grad():
        out = finisher(low, context, known)
    assert out.shape == (2, 3, 24, 24)
    assert torch.allclose(F.avg_pool2d(out, 3), low, atol=1e-5)


def test_keep_2_holds_the_completions_2x2_means_and_frees_its_pixels() -> None:
    torch.manual_seed(0)
    finisher = Finisher(width=8, blocks=1, keep=2).eval()
    low = torch.rand(2, 3, 8, 8) - 0.5
    context, known = torch.rand(2, 3, 24, 24) * 2 - 1, torch.zeros(2, 1, 24, 24)
    with torch.no_grad():
        out = finisher(low, context, known)
    assert torch.allclose(F.avg_pool2d(out, 6), F.avg_pool2d(low, 2), atol=1e-5)
    assert not torch.allclose(F.avg_pool2d(out, 3), low, atol=1e-3)  # the 64-px pixels may move


def _striped_faces(n: int, side: int = 48, period: int = 4) -> torch.Tensor:
    """Images whose detail lives below the 3x3 block scale: fine stripes of random phase."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:side, 0:side]
    out = []
    for _ in range(n):
        colour = rng.uniform(60, 190, 3)
        stripes = 50 * np.sin(2 * np.pi * (xx + yy) / period + rng.uniform(0, 6))
        out.append(np.clip(colour[:, None, None] + stripes[None], 0, 255))
    return torch.from_numpy(np.stack(out)).round().byte()


def test_training_learns_the_detail_and_the_file_round_trips(tmp_path: Path) -> None:
    faces, path = _striped_faces(32), tmp_path / "finisher.safetensors"
    config = FinisherTrainConfig(steps=60, batch_size=8, lr=2e-3, width=16, blocks=1, save_every=30)
    log = train_finisher(faces, path, config, progress=False)
    assert log[-1]["l1"] < 0.8 * log[0]["l1"]
    finisher = load_finisher(path)
    assert finisher.info["steps_done"] == 60
    assert finisher.spec == {"width": 16, "blocks": 1, "scale": 3, "keep": 1}
    images = faces[:4].permute(0, 2, 3, 1).numpy()
    low = F.avg_pool2d(faces[:4].float(), 3).round().byte().permute(0, 2, 3, 1).numpy()
    known = np.ones((4, 48, 48), np.float32)
    known[:, 12:36, 12:36] = 0
    out = finish(finisher, low, images, known).astype(float)
    blurred = F.interpolate(
        torch.from_numpy(low).permute(0, 3, 1, 2).float(), scale_factor=3, mode="bilinear"
    )
    blurred = blurred.permute(0, 2, 3, 1).numpy()
    hole = known == 0
    # closer to the true stripes in the hole than the upsampled block means are
    assert np.abs(out - images)[hole].mean() < 0.8 * np.abs(blurred - images)[hole].mean()
    more = dataclasses.replace(config, steps=2)  # continued: its first step starts where the run ended
    again = train_finisher(faces, tmp_path / "more.safetensors", more, init_from=path, progress=False)
    assert (
        again[0]["l1"] < 0.8 * log[0]["l1"]
        and load_finisher(tmp_path / "more.safetensors").info["steps_done"] == config.steps + more.steps
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is here")
def test_training_runs_on_the_device_asked_for(tmp_path: Path) -> None:
    config = FinisherTrainConfig(steps=1, batch_size=2, width=8, blocks=1, device="cuda")
    with pytest.raises(ConfigError, match="device cuda: no CUDA GPU is available"):
        train_finisher(_striped_faces(4), tmp_path / "f.safetensors", config, progress=False)
    assert not (tmp_path / "f.safetensors").exists()


def test_a_continued_run_keeps_its_critic_or_warms_a_fresh_one_up(tmp_path: Path) -> None:
    faces, first = _striped_faces(16), tmp_path / "f.safetensors"
    config = FinisherTrainConfig(steps=20, batch_size=4, lr=2e-3, width=8, blocks=1, save_every=20)
    train_finisher(faces, first, config, progress=False)
    trained = read_safetensors(critic_file(first), CRITIC_KIND)[0]
    assert critic_file(first).name == "f.critic.safetensors"
    still = dataclasses.replace(config, steps=1, lr=1e-12)  # continued, learning nothing
    train_finisher(faces, tmp_path / "kept.safetensors", still, init_from=first, progress=False)
    kept = read_safetensors(critic_file(tmp_path / "kept.safetensors"), CRITIC_KIND)[0]
    weights = [k for k in trained if not k.endswith(("_u", "_v"))]  # spectral norm's vectors move in use
    assert all(torch.allclose(kept[k], trained[k], atol=1e-6) for k in weights)  # the critic carried on
    critic_file(first).unlink()  # as the bundled file: no critic kept
    fresh, warmed = (tmp_path / f"{name}.safetensors" for name in ("fresh", "warmed"))
    train_finisher(faces, fresh, dataclasses.replace(config, steps=1), init_from=first, progress=False)
    warm = dataclasses.replace(config, steps=1, critic_warmup=10)
    train_finisher(faces, warmed, warm, init_from=first, progress=False)
    a, b = (read_safetensors(critic_file(f), CRITIC_KIND)[0] for f in (fresh, warmed))
    assert not any(torch.allclose(a[k], trained[k]) for k in weights)  # a fresh critic
    assert not any(torch.allclose(a[k], b[k]) for k in weights)  # the warm-up trained it
    assert load_finisher(warmed).info["steps_done"] == 21  # warm-up steps are not the finisher's


def test_a_model_file_is_not_a_finisher(tiny_model_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="a model file, not a finisher"):
        load_finisher(tiny_model_file)
    fresh = Finisher(8, 1)
    save_finisher(tmp_path / "f.safetensors", fresh, {}, half=True)
    loaded = load_finisher(tmp_path / "f.safetensors")
    weight = loaded.head.weight
    assert weight.dtype == torch.float32 and torch.allclose(weight, fresh.head.weight, atol=1e-3)


def test_crops_are_cut_around_the_hole_on_the_block_grid() -> None:
    faces = torch.arange(2 * 3 * 60 * 60, dtype=torch.float32).view(2, 3, 60, 60)
    known = torch.ones(2, 1, 60, 60)
    known[0, :, 50:55, 2:6] = 0  # a hole near a corner
    known[1, :, 20:40, 20:40] = 0
    cut, cut_known = hole_crops(faces, known, 24, np.random.default_rng(0))
    assert cut.shape == (2, 3, 24, 24) and cut_known.shape == (2, 1, 24, 24)
    assert (cut_known == 0).any(dim=(1, 2, 3)).all()  # every crop holds hole pixels
    for face, crop in zip(faces, cut, strict=True):
        top, left = (int(v) for v in torch.nonzero(face[0] == crop[0, 0, 0])[0])
        assert top % 3 == 0 and left % 3 == 0


def test_training_draws_only_the_hole_kinds_asked_for() -> None:
    faces = torch.randint(0, 256, (4, 3, 48, 48), dtype=torch.uint8)
    config = FinisherTrainConfig(batch_size=8, crop=0, holes=("eyes",))
    _, known, _ = _batch(faces, config, np.random.default_rng(0), torch.Generator().manual_seed(0))
    eyes = torch.from_numpy(masks.make("eyes", 1, 48))
    assert all(torch.equal(k[0], eyes[0]) for k in known)
    _, mixed, _ = _batch(
        faces, FinisherTrainConfig(batch_size=8, crop=0), np.random.default_rng(0), torch.Generator()
    )
    assert not all(torch.equal(k[0], eyes[0]) for k in mixed)  # the default mixes kinds


def test_softened_means_keep_their_average_and_lose_detail(tmp_path: Path) -> None:
    images = _striped_faces(2, 24).float()
    soft = blurred(images, 1.0)
    assert torch.allclose(soft.mean((2, 3)), images.mean((2, 3)), atol=0.5)
    edges = lambda x: (x[..., 1:, :] - x[..., :-1, :]).abs().mean()  # noqa: E731
    assert edges(soft) < 0.5 * edges(images) and torch.equal(blurred(images, 0.0), images)
    config = FinisherTrainConfig(steps=2, batch_size=2, width=8, blocks=1, soften=1.0, save_every=2)
    assert len(train_finisher(_striped_faces(4), tmp_path / "f.safetensors", config, progress=False)) == 2


def test_the_detail_pass_redraws_a_faces_brightness_and_keeps_its_block_means() -> None:
    torch.manual_seed(0)
    net = Finisher(width=8, blocks=1, scale=1, keep=4).eval()
    faces = torch.rand(2, 3, 16, 16) - 0.5
    out = add_detail(net, faces)
    assert out.shape == faces.shape and not torch.allclose(out, faces, atol=1e-3)  # its pixels redrawn
    assert torch.allclose(F.avg_pool2d(out, 4), F.avg_pool2d(faces, 4), atol=1e-5)  # the 4x4 means kept
    change = out - faces
    assert torch.allclose(change, change[:, :1].expand_as(change), atol=1e-6)  # brightness only
    grey = faces[:, :1].expand(-1, 3, -1, -1)
    drawn = add_detail(net, grey)
    assert torch.equal(drawn[:, 0], drawn[:, 1]) and torch.equal(drawn[:, 1], drawn[:, 2])  # grey stays grey
    half = add_detail(net, faces, torch.tensor([0.0, 0.5]))  # a strength per face
    assert torch.equal(half[0], faces[0]) and torch.allclose(half[1], faces[1] + 0.5 * change[1], atol=1e-6)
    with pytest.raises(ValueError, match="3 strengths for 2 faces"):  # not broadcast to 3 faces
        add_detail(net, faces, torch.tensor([0.0, 0.5, 1.0]))
    with pytest.raises(ModelFileError, match="model's own size"):
        add_detail(Finisher(8, 1), faces)


def test_samples_from_the_encoders_guess_are_distinct_alternatives(planted) -> None:
    """With the default search (the guess, no spread) and the detail pass, samples=3 gave each face
    one start: three identical alternatives for one face, and a crash for two."""
    from ganfill.completion import Completer
    from ganfill.models import Encoder

    torch.manual_seed(0)
    model = dataclasses.replace(planted, encoder=Encoder(16, planted.config.z_dim, 8).eval())
    completer = Completer(model, detail=Finisher(width=4, blocks=1, scale=1, keep=2).eval())
    faces = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    out = completer.complete(faces, "center", samples=3, iters=2)
    assert out.alternatives.shape == (2, 3, 16, 16, 3)
    for alternatives in out.alternatives.astype(int):
        assert all(np.abs(alternatives[i] - alternatives[j]).max() > 0 for i, j in [(0, 1), (0, 2), (1, 2)])


def _fine_rows(n: int, side: int = 32) -> torch.Tensor:
    """Images whose detail lives inside 2x2 blocks: rows alternating +-40 over a random colour."""
    rng = np.random.default_rng(0)
    lines = 40 * (-1.0) ** np.arange(side)[:, None] * np.ones((side, side))
    colours = rng.uniform(60, 190, (n, 3))[:, :, None, None]
    return torch.from_numpy(colours + lines[None, None]).round().byte()


def test_a_detail_pass_trains_at_the_models_size(tmp_path: Path) -> None:
    faces, path = _fine_rows(32), tmp_path / "detail.safetensors"
    small = {"steps": 80, "batch_size": 8, "lr": 2e-3, "width": 16, "blocks": 1, "save_every": 80}
    config = FinisherTrainConfig(**small, scale=1, keep=2, crop=16, soften=1.0)
    log = train_finisher(faces, path, config, progress=False)
    assert log[-1]["l1"] < 0.8 * log[0]["l1"]
    net = load_finisher(path)
    assert net.spec == {"width": 16, "blocks": 1, "scale": 1, "keep": 2}
    images = faces[:4].permute(0, 2, 3, 1).numpy()
    known = np.ones((4, 32, 32), np.float32)
    known[:, 14:18, 8:24] = 0
    soft = blurred(faces[:4].float(), 1.0).round().byte().permute(0, 2, 3, 1).numpy()  # the rows gone
    fill = np.where(known[..., None] > 0.5, images, soft)  # a soft fill in a sharp image
    hole = known == 0
    error = lambda x: np.abs(x.astype(float) - images)[hole].mean()  # noqa: E731
    assert error(finish(net, fill, fill, known)) < 0.6 * error(fill)  # the rows drawn again


def test_a_detail_pass_learns_over_a_models_own_guesses(tiny_model, tmp_path: Path) -> None:
    from ganfill.config import ConfigError
    from ganfill.models import Encoder

    model = dataclasses.replace(tiny_model, encoder=Encoder(16, tiny_model.config.z_dim).eval())
    faces, path = _fine_rows(8, 16), tmp_path / "detail.safetensors"
    config = FinisherTrainConfig(
        steps=2, batch_size=4, width=8, blocks=1, scale=1, keep=2, crop=0, save_every=2
    )
    log = train_finisher(faces, path, config, guesses=model, progress=False)
    blurred_start = train_finisher(faces, tmp_path / "b.safetensors", config, progress=False)
    assert load_finisher(path).info["guesses"] is True
    assert log[0]["l1"] != blurred_start[0]["l1"]  # it was given the model's fills, not the truth blurred
    with pytest.raises(ConfigError, match="encoder"):
        train_finisher(faces, path, config, guesses=tiny_model, progress=False)


def test_a_finisher_learns_over_a_models_completions(planted, tmp_path: Path) -> None:
    """At scale 3 the model guesses each face at its own size from the 3x3 means: the finisher's
    low input holds the truth's means where known and the model's guess (with the detail pass
    completion runs) in the hole, each model pixel a 3x3 block at the finisher's size."""
    from ganfill.models import Encoder

    model = dataclasses.replace(planted, encoder=Encoder(16, planted.config.z_dim).eval())
    torch.manual_seed(0)
    detail = Finisher(width=4, blocks=1, scale=1, keep=2).eval()
    faces = _fine_rows(4, 48)
    config = FinisherTrainConfig(batch_size=4, width=8, blocks=1, scale=3, crop=0, holes=("center",))

    def drawn(with_detail: Finisher | None) -> tuple[torch.Tensor, ...]:
        rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
        return _batch(faces, config, rng, gen, model, with_detail)

    batch, known, fills = drawn(None)
    low = F.avg_pool2d(fills, 3)
    assert torch.allclose(fills, F.interpolate(low, scale_factor=3, mode="nearest"), atol=1e-6)
    small, small_known = F.avg_pool2d(batch, 3), (F.avg_pool2d(known, 3) > 0.999).float()
    with torch.no_grad():
        guess = model.generator(model.encoder(small, small_known))
    hole = small_known < 0.5
    assert 0 < hole.sum() < hole.numel()
    assert torch.allclose(low, torch.where(hole, guess, small), atol=1e-5)
    _, _, detailed = drawn(detail)
    assert torch.allclose(
        F.avg_pool2d(detailed, 3), torch.where(hole, add_detail(detail, guess), small), atol=1e-5
    )
    assert not torch.allclose(detailed, fills, atol=1e-3)
    path = tmp_path / "finisher.safetensors"
    train_finisher(
        faces, path, dataclasses.replace(config, steps=2, save_every=2), guesses=model, progress=False
    )
    assert load_finisher(path).info["guesses"] is True


def test_without_context_a_detail_pass_learns_to_redraw_whole_faces(tmp_path: Path) -> None:
    from ganfill.config import ConfigError

    faces, path = _fine_rows(32), tmp_path / "detail.safetensors"
    small = {"steps": 80, "batch_size": 8, "lr": 2e-3, "width": 16, "blocks": 1, "save_every": 80}
    config = FinisherTrainConfig(
        **(small | {"steps": 100}), scale=1, keep=2, crop=16, soften=0.6, context=False
    )
    train_finisher(faces, path, config, progress=False)
    truth = faces[:4].float().div(127.5).sub(1)
    soft = blurred(truth, 0.5)  # the rows faint over the whole face, no photo around it
    error = lambda x: (x - truth).abs().mean()  # noqa: E731
    assert error(add_detail(load_finisher(path), soft)) < 0.6 * error(soft)
    with pytest.raises(ConfigError, match="without context"):
        FinisherTrainConfig(context=False)
    with pytest.raises(ConfigError, match="border needs"):
        FinisherTrainConfig(border=4)
    mirrored = dataclasses.replace(config, steps=2, save_every=2, border=4)
    log = train_finisher(faces, tmp_path / "m.safetensors", mirrored, progress=False)
    unmirrored = train_finisher(
        faces, tmp_path / "u.safetensors", dataclasses.replace(mirrored, border=0), progress=False
    )
    assert load_finisher(tmp_path / "m.safetensors").info["border"] == 4
    assert log[0]["l1"] != unmirrored[0]["l1"]  # the crops' edges were mirrored, as at use


def test_a_highpass_detail_pass_holds_the_coarse_content_without_block_edges(tmp_path: Path) -> None:
    yy, xx = torch.meshgrid(torch.linspace(-0.8, 0.8, 32), torch.linspace(-0.8, 0.8, 32), indexing="ij")
    smooth = (0.5 * xx + 0.3 * yy + 0.2 * torch.sin(3 * xx)).expand(2, 3, 32, 32)  # smooth shading
    noisy = torch.rand(2, 3, 32, 32) - 0.5

    def change(faces: torch.Tensor, **spec) -> torch.Tensor:
        torch.manual_seed(0)
        return add_detail(Finisher(width=8, blocks=1, scale=1, **spec).eval(), faces) - faces

    def edges(x: torch.Tensor) -> float:  # steps across 4-px block edges over steps inside blocks
        return (
            (x[..., 4:-4:4] - x[..., 3:-5:4]).abs().mean() / (x[..., 5:-4:4] - x[..., 4:-4:4]).abs().mean()
        ).item()

    drawn = change(noisy, keep=1, highpass=2.0)
    assert drawn.abs().mean() > 0.01 and blurred(drawn, 4.0).abs().mean() < 0.05 * drawn.abs().mean()
    assert (
        edges(change(smooth, keep=1, highpass=2.0)) < 2.0 < edges(change(smooth, keep=4))
    )  # held blocks show
    net = Finisher(width=8, blocks=1, scale=1, keep=1, highpass=2.0)
    save_finisher(tmp_path / "hp.safetensors", net, {})
    assert load_finisher(tmp_path / "hp.safetensors").spec["highpass"] == 2.0


def test_the_detail_pass_draws_no_line_along_the_frame() -> None:
    torch.manual_seed(0)
    net = Finisher(width=8, blocks=2, scale=1, keep=1, highpass=2.0).eval()
    torch.nn.init.normal_(net.head.bias, std=1.0)  # a network that reacts to its zero padding
    faces = torch.zeros(1, 3, 32, 32)  # flat grey: nothing to sharpen anywhere
    assert (add_detail(net, faces) - faces).abs().max() < 1e-4  # the frame is mirrored...
    assert (add_detail(net, faces, border=0) - faces).abs().max() > 0.05  # ...not a black border to sharpen
