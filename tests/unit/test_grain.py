import cv2
import numpy as np
import pytest

from ganfill.grain import grain_blur, grain_covariance, match_grain, photo_grain, residual


def _photo(noise: float, *, grey: bool = False, seed: int = 0, blur: float = 0.0) -> np.ndarray:
    """A smooth 96x96 gradient with Gaussian noise of this std (the same in every channel if grey),
    blurred by a Gaussian of std blur px first (a photo's grain, coarser than a pixel) if blur."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:96, 0:96]
    smooth = np.stack([xx, yy, (xx + yy) / 2], -1) + 80.0
    grain = rng.normal(0, 1, (96, 96, 1 if grey else 3))
    if blur:
        grain = cv2.GaussianBlur(grain, (0, 0), blur).reshape(grain.shape)
    return smooth + noise * grain / grain.std()


def _hole() -> np.ndarray:
    hole = np.zeros((96, 96), bool)
    hole[30:66, 24:72] = True
    return hole


def _std(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    return np.sqrt(np.diag(grain_covariance(residual(image)[region])))


def _measured(photo: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return np.sqrt(np.diag(photo_grain(photo, hole).covariance))


def test_the_photo_grain_is_measured_around_the_hole_and_edges_do_not_sway_it() -> None:
    photo, hole = _photo(4.0), _hole()
    expected = _std(photo, np.ones_like(hole))  # the residual of the noise, over the whole photo
    assert np.allclose(_measured(photo, hole), expected, rtol=0.12)
    photo[hole] = 0  # the hole's old content (an object to remove) does not count
    photo[20:23, 30:60] += 120  # a strong edge (a brow) in the ring
    assert np.allclose(_measured(photo, hole), expected, rtol=0.15)
    assert np.allclose(photo_grain(_photo(0.0), hole).covariance, 0, atol=1e-9)  # clean: nothing to match


def test_hair_beside_the_hole_is_not_taken_for_grain() -> None:
    photo, hole = _photo(4.0), _hole()
    expected = _std(photo, np.ones_like(hole))
    xx = np.arange(96)
    photo[:, :22] += 25 * np.sin(xx[:22] * 2.1)[None, :, None]  # fine strands left of the hole
    assert np.allclose(_measured(photo, hole), expected, rtol=0.15)


@pytest.mark.parametrize("blur", [0.0, 0.9])
def test_the_drawn_grain_is_as_coarse_as_the_photo_grain(blur: float) -> None:
    photo, hole = _photo(4.0, blur=blur), _hole()
    filled = photo.copy()
    filled[hole] = _photo(0.0)[hole]
    target = photo_grain(photo, hole)
    out = match_grain(filled, hole, target, np.random.default_rng(1))
    inner = np.zeros_like(hole)
    inner[36:60, 30:66] = True
    photo_coarseness = grain_blur(residual(photo), ~hole)
    assert abs(target.blur - photo_coarseness) < 0.1  # the ring reads as the whole photo
    assert abs(grain_blur(residual(out), inner) - photo_coarseness) < 0.15
    assert (photo_coarseness > 0.7) == (blur > 0)  # white grain reads as white, blurred as coarse


def test_a_smooth_fill_gets_the_photo_grain_and_nothing_else_changes() -> None:
    photo, hole = _photo(4.0), _hole()
    filled = photo.copy()
    filled[hole] = _photo(0.0)[hole]  # a fill as smooth as a warped-up face
    target = photo_grain(photo, hole)
    out = match_grain(filled, hole, target, np.random.default_rng(1))
    assert np.array_equal(out[~hole], filled[~hole])
    inner = np.zeros_like(hole)
    inner[36:60, 30:66] = True
    assert np.allclose(_std(out, inner), np.sqrt(np.diag(target.covariance)), rtol=0.15)
    assert np.allclose(_std(filled, inner), 0, atol=0.2)
    half = match_grain(filled, hole, target, np.random.default_rng(1), strength=0.5)
    assert np.allclose(_std(half, inner), np.sqrt(0.5 * np.diag(target.covariance)), rtol=0.15)
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
