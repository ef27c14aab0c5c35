"""Realism metrics on cases with a known answer."""

import numpy as np
from scipy.ndimage import gaussian_filter

from ganfill import masks
from ganfill.data import load_folder
from ganfill.model_eval import coverage
from ganfill.realism import (
    colour_ratio,
    detail_ratio,
    detail_ratio_at,
    detail_region,
    sliced_wasserstein,
    swd,
)


def faces_and_blur(faces_dir):
    faces = load_folder(faces_dir, 64).images.permute(0, 2, 3, 1).numpy()
    blur = np.stack([gaussian_filter(f.astype(float), (1, 1, 0)) for f in faces]).round().astype(np.uint8)
    return faces, blur


def test_detail_ratio_is_one_for_the_truth_below_for_blur_above_for_noise(faces_dir) -> None:
    faces, blur = faces_and_blur(faces_dir)
    known = masks.make("center", 1, 64)[0]
    noisy = np.clip(faces + np.random.default_rng(0).normal(0, 25, faces.shape), 0, 255).astype(np.uint8)
    for face, soft, grainy in zip(faces, blur, noisy, strict=True):
        assert detail_ratio(face, face, known) == 1.0
        assert detail_ratio(soft, face, known) < 0.8
        assert detail_ratio(grainy, face, known) > 1.2


def test_downsampled_the_detail_ratio_sees_edges_not_grain(faces_dir) -> None:
    faces, blur = faces_and_blur(faces_dir)
    known = masks.make("center", 1, 64)[0]
    grain = np.random.default_rng(0).normal(0, 3, (*faces.shape[:3], 1))  # 1-px grain on a blurred face
    grainy = np.clip(blur + grain, 0, 255).astype(np.uint8)
    full, half = (
        [detail_ratio_at(g, f, known, k) for g, f in zip(grainy, faces, strict=True)] for k in (1, 2)
    )
    assert np.mean(full) > 1.0 and np.mean(half) < 0.75  # grain passes for detail at full size only
    assert all(detail_ratio_at(f, f, known, 2) == 1.0 for f in faces)


def test_detail_region_is_the_eroded_hole() -> None:
    known = masks.make("center", 1, 64)[0]  # hole rows and columns 16..47
    region = detail_region(known, erode=2)
    assert region.sum() == 28 * 28 and region[18:46, 18:46].all()
    scattered = masks.make("random", 1, 64)[0]
    assert detail_region(scattered).sum() < 0.15 * (scattered == 0).sum()  # little is far from a known pixel


def test_colour_ratio_sees_a_paler_fill_and_only_the_hole() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(60, 200, (16, 16, 3)).astype(np.uint8)
    known = np.ones((16, 16), np.float32)
    known[4:12, 4:12] = 0
    grey = truth.mean(-1, keepdims=True)
    paler = np.round(grey + 0.5 * (truth - grey)).astype(np.uint8)  # half the colour, same brightness
    assert colour_ratio(truth, truth, known) == 1.0
    assert 0.45 < colour_ratio(paler, truth, known) < 0.55
    outside = truth.copy()
    outside[:2] = 0  # changes outside the hole do not count
    assert colour_ratio(outside, truth, known) == 1.0
    assert np.isnan(colour_ratio(truth, truth, np.ones((16, 16))))  # no hole


def test_sliced_wasserstein_of_identical_sets_is_zero_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 10))
    assert sliced_wasserstein(a, a.copy(), rng) == 0.0
    near = sliced_wasserstein(a, a + 0.1, rng)
    assert 0 < near < sliced_wasserstein(a, a + 1.0, rng)


def test_swd_of_the_truth_is_its_floor_and_blur_is_further(faces_dir) -> None:
    faces, blur = faces_and_blur(faces_dir)
    known = masks.make("center", len(faces), 64)
    itself, floor = swd(faces, faces, known)
    blurred, floor_again = swd(blur, faces, known)
    assert floor == floor_again and abs(itself - floor) < 0.15 * floor
    assert blurred > 1.1 * itself  # 16 faces give few patches; the benchmarks use hundreds


def test_more_patches_per_hole_make_swd_depend_on_the_images_not_the_draw() -> None:
    rng = np.random.default_rng(0)
    texture = np.stack([gaussian_filter(rng.normal(128, 40, (96, 96, 3)), (1, 1, 0)) for _ in range(4)])
    truths = texture.clip(0, 255).astype(np.uint8)
    fills = np.stack([gaussian_filter(t.astype(float), (1, 1, 0)) for t in truths]).round().astype(np.uint8)
    known = np.ones((4, 96, 96), np.float32)
    known[:, 12:84, 12:84] = 0  # a photo-sized hole: thousands of patch centres
    spread = {}
    for per_image in (16, 512):
        scores = [swd(fills, truths, known, seed=s, per_image=per_image)[0] for s in range(3)]
        spread[per_image] = max(scores) - min(scores)
    assert spread[512] < spread[16] / 2


def test_precision_and_recall_coverage() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 8))
    assert coverage(real, real) == 1.0
    assert coverage(real + 100, real) == 0.0  # far away: no sample inside any real ball
    collapsed = np.repeat(real[:1], 200, 0) + 1e-3 * rng.normal(size=(200, 8))
    assert coverage(real, collapsed) < 0.2  # a collapsed generator covers few real faces (recall)
