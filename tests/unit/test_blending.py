import numpy as np
import pytest

from ganfill import masks
from ganfill.blending import paste, poisson_blend, poisson_blend_coarse


def ramp(h: int = 32, w: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack([0.03 * xx + 0.01 * yy, -0.02 * xx + 0.05 * yy, 0.5 + 0 * xx], -1)


@pytest.mark.parametrize("kind", ["center", "random", "left", "grid", "pattern", "strokes"])
def test_poisson_restores_a_ramp(kind: str) -> None:
    y = ramp()
    known = masks.make(kind, 1, 32, seed=2)[0]
    source = y + 0.7  # same gradients, wrong offset: the blend must remove the offset
    out = poisson_blend(y, source, known)
    assert np.abs(out - y).max() < 1e-4
    assert np.abs(paste(y, source, known) - y).max() == pytest.approx(0.7)


def test_hole_touching_the_border_and_several_holes() -> None:
    y = ramp()
    known = np.ones((32, 32), np.float32)
    known[:5, :9] = 0  # corner
    known[20:25, 10:30] = 0
    out = poisson_blend(y, np.zeros_like(y) + ramp() * 0 + y * 1.0 - 3.0, known)
    assert np.abs(out - y).max() < 1e-4


@pytest.mark.parametrize("fn", [paste, poisson_blend])
def test_known_pixels_are_never_changed(fn) -> None:
    rng = np.random.default_rng(0)
    y, source = rng.random((32, 32, 3)), rng.random((32, 32, 3))
    known = masks.make("random", 1, 32, seed=1, fraction=0.5)[0]
    out = fn(y, source, known)
    k = known.astype(bool)
    assert np.array_equal(out[k], y[k])
    assert not np.allclose(out[~k], y[~k])


def test_nothing_known_returns_the_source() -> None:
    y, source = ramp(), ramp() + 1
    assert np.array_equal(poisson_blend(y, source, np.zeros((32, 32))), source)


def test_coarse_blend_keeps_known_pixels_and_matches_the_exact_blend() -> None:
    y = ramp(96, 128) * 100 + np.random.default_rng(0).normal(0, 1, (96, 128, 3))  # a photo with grain
    known = np.ones((96, 128), np.float32)
    known[30:70, 40:100] = 0
    source = ramp(96, 128) * 100 + 25  # right gradients, wrong offset
    exact = poisson_blend(y, source, known)
    assert np.array_equal(poisson_blend_coarse(y, source, known, 1), exact)
    coarse = poisson_blend_coarse(y, source, known, 4)
    hole = known < 0.5
    assert np.array_equal(coarse[~hole], y[~hole])
    assert np.abs(coarse - exact)[hole].mean() < 0.5  # the offset (25) is gone, up to grain
    assert np.abs(paste(y, source, known) - exact)[hole].mean() > 20
