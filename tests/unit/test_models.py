import pytest
import torch

from ganfill.config import ConfigError, ModelConfig
from ganfill.models import Discriminator, Generator, build, generate, recalibrate_batchnorm, sample_z


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_shapes_follow_image_size(size: int) -> None:
    assert ModelConfig(image_size=size).base == (4, 4)
    cfg = ModelConfig(image_size=size, gf_dim=4, df_dim=4)
    g, d = build(cfg, seed=0)
    z = torch.rand(3, cfg.z_dim) * 2 - 1
    x = g(z)
    assert x.shape == (3, 3, size, size)
    assert x.abs().max() <= 1
    assert d(x).shape == (3,)
    assert len([m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]) == cfg.n_layers


def test_reference_parameter_counts() -> None:
    g, d = Generator(ModelConfig()), Discriminator(ModelConfig())
    # G: 100 -> 4x4x512 (+BN), deconvs 512->256->128->64->3 (5x5), BN on all but the last.
    g_expected = (
        100 * 8192 + 2 * 8192 + sum(i * o * 25 for i, o in [(512, 256), (256, 128), (128, 64), (64, 3)])
    )
    g_expected += 2 * (256 + 128 + 64) + 3
    d_expected = sum(i * o * 25 for i, o in [(3, 64), (64, 128), (128, 256), (256, 512)]) + 64
    d_expected += 2 * (128 + 256 + 512) + 512 * 16 + 1
    assert sum(p.numel() for p in g.parameters()) == g_expected
    assert sum(p.numel() for p in d.parameters()) == d_expected


def test_init_statistics() -> None:
    g, d = build(ModelConfig(), seed=1)
    for m in list(g.modules()) + list(d.modules()):
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            assert abs(m.weight.std().item() - 0.02) < 0.002
            assert abs(m.weight.mean().item()) < 0.002
        if isinstance(m, torch.nn.BatchNorm2d):
            assert abs(m.weight.mean().item() - 1) < 0.01


def test_build_is_reproducible_by_seed() -> None:
    a, _ = build(ModelConfig(image_size=16, gf_dim=4), seed=3)
    b, _ = build(ModelConfig(image_size=16, gf_dim=4), seed=3)
    c, _ = build(ModelConfig(image_size=16, gf_dim=4), seed=4)
    assert torch.equal(a.project.weight, b.project.weight)
    assert not torch.equal(a.project.weight, c.project.weight)


@pytest.mark.parametrize("size, shape, layers", [(16, (6, 12), 1), (64, (24, 48), 3), (128, (48, 96), 4)])
def test_a_mouth_pair_draws_the_mouths_box_of_the_frame(size: int, shape: tuple, layers: int) -> None:
    cfg = ModelConfig(image_size=size, region="mouth", gf_dim=4, df_dim=4)
    g, d = build(cfg, seed=0)
    x = g(torch.rand(2, cfg.z_dim) * 2 - 1)
    assert x.shape == (2, 3, *shape) and cfg.box[2:] == shape and cfg.n_layers == layers
    assert d(x).shape == (2,) and cfg.base == (3, 6)
    top, left = cfg.box[:2]  # the box sits over the mouth mask's rows and columns, with a margin
    assert top < 0.53 * size and top + shape[0] > 0.81 * size
    assert left < size / 4 and left + shape[1] > 0.75 * size


@pytest.mark.parametrize("bad", [{"image_size": 48}, {"image_size": 8}, {"z_dim": 0}, {"region": "nose"}])
def test_bad_model_config_is_refused(bad: dict) -> None:
    with pytest.raises(ConfigError):
        ModelConfig(**bad)


@pytest.mark.parametrize("shorten", [0.0, 0.6])
def test_recalibrated_batchnorm_matches_sample_statistics(shorten: float) -> None:
    """After recalibration the first batch-norm's running mean is the mean activation over the
    same seeded samples, drawn as training drew them (TrainConfig.shorten) and computed here by
    hand; eval-mode outputs change accordingly."""
    cfg = ModelConfig(image_size=16, gf_dim=4)
    g, _ = build(cfg, seed=0)
    before = generate(g, 4)
    recalibrate_batchnorm(g, batches=4, batch_size=32, seed=3, shorten=shorten)
    assert g.training  # mode restored
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        acts = torch.cat(
            [g.project(sample_z(32, cfg.z_dim, generator=gen, shorten=shorten)) for _ in range(4)]
        )
    assert torch.allclose(g.project_bn.running_mean, acts.mean(0), atol=1e-5)
    per_batch_var = acts.view(4, 32, -1).var(1).mean(0)  # momentum None: the average of batch stats
    assert torch.allclose(g.project_bn.running_var, per_batch_var, atol=1e-5)
    assert not torch.allclose(generate(g, 4), before)


def test_default_recalibration_draws_enough_codes_to_be_stable() -> None:
    """Two redraws of the statistics at the default count move eval outputs far less than two of
    512 codes (the old default), whose draw moved the bundled faces by about 4 grey levels."""

    def redraws_apart(**counts: int) -> float:
        outputs = []
        for seed in (1, 2):
            g, _ = build(ModelConfig(image_size=16, gf_dim=4), seed=0)
            recalibrate_batchnorm(g, seed=seed, **counts)
            outputs.append(generate(g, 64))
        return (outputs[0] - outputs[1]).abs().mean().item()

    assert redraws_apart() < 0.5 * redraws_apart(batches=8)


def test_shortened_codes_keep_direction_and_span_their_range() -> None:
    """shorten scales each prior code by one factor in [1 - shorten, 1]: the same directions as
    the prior's draws, lengths from half to all of them at 0.5; 0 draws the prior unchanged."""
    prior = sample_z(2000, 100, generator=torch.Generator().manual_seed(5))
    again = sample_z(2000, 100, generator=torch.Generator().manual_seed(5), shorten=0.0)
    short = sample_z(2000, 100, generator=torch.Generator().manual_seed(5), shorten=0.5)
    assert torch.equal(prior, again)
    factor = short.norm(dim=1) / prior.norm(dim=1)
    assert torch.allclose(short / factor[:, None], prior, atol=1e-5)
    assert 0.5 <= factor.min() < 0.52 and 0.98 < factor.max() <= 1.0
