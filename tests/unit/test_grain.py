import numpy as np
import pytest

from ganfill.grain import GRAIN_NORM, grain_covariance, match_grain, photo_grain, residual


def _photo(noise: float, *, grey: bool = False, seed: int = 0) -> np.ndarray:
    """A smooth 96x96 gradient with Gaussian noise of this std (the same in every channel if grey)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:96, 0:96]
    smooth = np.stack([xx, yy, (xx + yy) / 2], -1) + 80.0
    grain = rng.normal(0, noise, (96, 96, 1 if grey else 3))
    return smooth + grain


def _hole() -> np.ndarray:
    hole = np.zeros((96, 96), bool)
    hole[30:66, 24:72] = True
    return hole


def _std(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    return np.sqrt(np.diag(grain_covariance(residual(image)[region])))


def test_the_photo_grain_is_measured_around_the_hole_and_edges_do_not_sway_it() -> None:
    photo, hole = _photo(4.0), _hole()
    expected = 4.0 * GRAIN_NORM  # the residual of white noise of std 4
    assert np.allclose(np.sqrt(np.diag(photo_grain(photo, hole))), expected, rtol=0.12)
    photo[hole] = 0  # the hole's old content (an object to remove) does not count
    photo[20:23, 30:60] += 120  # a strong edge (a brow) in the ring
    assert np.allclose(np.sqrt(np.diag(photo_grain(photo, hole))), expected, rtol=0.15)
    assert np.allclose(photo_grain(_photo(0.0), hole), 0, atol=1e-9)  # a clean photo: no grain to match


def test_a_smooth_fill_gets_the_photo_grain_and_nothing_else_changes() -> None:
    photo, hole = _photo(4.0), _hole()
    filled = photo.copy()
    filled[hole] = _photo(0.0)[hole]  # a fill as smooth as a warped-up face
    target = photo_grain(photo, hole)
    out = match_grain(filled, hole, target, np.random.default_rng(1))
    assert np.array_equal(out[~hole], filled[~hole])
    inner = np.zeros_like(hole)
    inner[36:60, 30:66] = True
    assert np.allclose(_std(out, inner), np.sqrt(np.diag(target)), rtol=0.15)
    assert np.allclose(_std(filled, inner), 0, atol=0.2)
    half = match_grain(filled, hole, target, np.random.default_rng(1), strength=0.5)
    assert np.allclose(_std(half, inner), np.sqrt(0.5 * np.diag(target)), rtol=0.15)
    assert np.array_equal(match_grain(filled, hole, target, np.random.default_rng(1), strength=0), filled)
    again = match_grain(filled, hole, target, np.random.default_rng(1))
    assert np.array_equal(out, again)  # seeded: the same photo completes the same way


def test_a_fill_as_grainy_as_the_photo_is_left_alone_and_grey_grain_stays_grey() -> None:
    photo, hole = _photo(4.0), _hole()
    target = photo_grain(photo, hole)
    assert np.array_equal(match_grain(photo, hole, target, np.random.default_rng(0)), photo)
    grey = np.repeat(_photo(4.0, grey=True), 3, -1)
    filled = grey.copy()
    filled[hole] = 100.0
    out = match_grain(filled, hole, photo_grain(grey, hole), np.random.default_rng(0))
    added = out[hole] - filled[hole]
    assert added.std() > 2 and np.abs(added - added.mean(-1, keepdims=True)).max() < 1e-6


@pytest.mark.parametrize("width", [1, 4])
def test_a_thin_hole_measures_nothing_and_gets_no_grain(width: int) -> None:
    photo = _photo(4.0)
    hole = np.zeros((96, 96), bool)
    hole[40 : 40 + width, 10:90] = True  # a stroke: the blend carries the photo's grain in
    filled = photo.copy()
    filled[hole] = 100.0
    out = match_grain(filled, hole, photo_grain(photo, hole), np.random.default_rng(0))
    assert np.array_equal(out, filled)
