import numpy as np
import pytest

from ganfill import masks

EXPECTED_MISSING = {
    "center": (0.25, 0.0),
    "random": (0.8, 0.03),
    "left": (0.5, 0.0),
    "right": (0.5, 0.0),
    "top": (0.5, 0.0),
    "bottom": (0.5, 0.0),
    "grid": (1 - 1 / 16, 0.0),
    "lowres": (1.0, 0.0),
    "pattern": (0.25, 0.01),
    "strokes": (0.2, 0.19),
    "eyes": (16 * 52 / 4096, 0.0),
    "mouth": (18 * 32 / 4096, 0.0),
    "rectangle": (0.15, 0.1),
}


@pytest.mark.parametrize("kind", list(masks.KINDS))
def test_shape_polarity_fraction_and_determinism(kind: str) -> None:
    a = masks.make(kind, 6, 64, seed=3)
    assert a.shape == (6, 64, 64) and a.dtype == np.float32
    assert set(np.unique(a)) <= {0.0, 1.0}
    expected, tol = EXPECTED_MISSING[kind]
    assert abs(masks.missing_fraction(a) - expected) <= tol + 1e-6
    assert np.array_equal(a, masks.make(kind, 6, 64, seed=3))
    # image i's mask depends on (seed, i) only, not on the batch it is drawn in
    assert np.array_equal(a[4:], masks.make(kind, 2, 64, seed=3, start=4))
    none = masks.make(kind, 0, 64)  # an empty batch, not numpy's "need at least one array"
    assert none.shape == (0, 64, 64) and none.dtype == np.float32


@pytest.mark.parametrize("kind", ["random", "pattern", "strokes", "rectangle"])
def test_random_kinds_differ_per_image_and_seed(kind: str) -> None:
    a = masks.make(kind, 2, 64, seed=0)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a, masks.make(kind, 2, 64, seed=1))


def test_polarity_of_named_holes() -> None:
    c = masks.make("center", 1, 64)[0]
    assert c[32, 32] == 0 and c[0, 0] == 1 and c[16:48, 16:48].sum() == 0 and c.sum() == 64 * 64 - 32 * 32
    left = masks.make("left", 1, 64)[0]
    assert left[:, :32].sum() == 0 and left[:, 32:].all()
    eyes, mouth = masks.make("eyes", 1, 64)[0], masks.make("mouth", 1, 64)[0]
    assert (
        eyes[5:21, 6:58].sum() == 0
        and eyes[21:].all()
        and mouth[34:52, 16:48].sum() == 0
        and mouth[:34].all()
    )
    g = masks.make("grid", 1, 64)[0]
    assert g[0, 0] == 1 and g[0, 1] == 0 and g[4, 4] == 1


def test_rectangles_are_one_tilted_box_of_a_face_region_each() -> None:
    """The encoder learns from them what a box drawn on a photo becomes in the aligned frame."""
    import cv2

    drawn = masks.make("rectangle", 200, 64)
    tilted = 0
    for known in drawn:
        hole = (known == 0).astype(np.uint8)
        assert cv2.connectedComponents(hole)[0] == 2  # one hole (and the rest)
        _, _, w, h = cv2.boundingRect(hole)
        assert 0.02 < hole.mean() < 0.4 and w > 4 and h > 4
        tilted += hole.sum() < 0.9 * w * h  # a tilted box fills less of its upright bounds
    assert 50 < tilted < 200  # most are tilted a little, some hardly


@pytest.mark.parametrize("width", ["thin", "medium", "thick"])
def test_stroke_widths_grow(width: str) -> None:
    a = masks.missing_fraction(masks.make("strokes", 40, 64, width=width))
    bounds = {"thin": (0.01, 0.15), "medium": (0.05, 0.3), "thick": (0.1, 0.5)}[width]
    assert bounds[0] < a < bounds[1]


def test_unknown_kind_lists_the_choices() -> None:
    with pytest.raises(masks.MaskError, match="center, random"):
        masks.make("circle", 1, 64)


def test_scattered_separates_pixel_masks_from_holes() -> None:
    assert masks.scattered(masks.make("random", 8, 64)).all()
    assert masks.scattered(masks.make("grid", 2, 64)).all()
    for kind in ("center", "left", "pattern", "lowres"):
        assert not masks.scattered(masks.make(kind, 8, 64)).any(), kind
    assert masks.scattered(masks.make("center", 1, 64)[0]).shape == (1,)


def test_open_holes_are_the_half_faces() -> None:
    for kind in ("left", "right", "top", "bottom"):
        assert masks.open_holes(masks.make(kind, 4, 64)).all(), kind
    for kind in ("center", "random", "grid", "pattern", "strokes"):
        assert not masks.open_holes(masks.make(kind, 8, 64)).any(), kind
    corner = np.ones((64, 64), np.float32)
    corner[:20, :20] = 0  # two sides on the frame, two on known pixels: not open
    assert not masks.open_holes(corner)[0]
    corner[:, :20] = 0  # a band down the side: 64 + 20 + 20 of frame against 64 of seam
    assert masks.open_holes(corner)[0]


def test_grow_holes_reaches_a_disc_and_feathering_ramps_to_one() -> None:
    known = np.ones((2, 21, 21), np.float32)
    known[:, 10, 10] = 0
    grown = masks.grow_holes(known, 3)
    yy, xx = np.mgrid[0:21, 0:21]
    assert np.array_equal(grown[0] == 0, (yy - 10) ** 2 + (xx - 10) ** 2 <= 9)  # a disc of radius 3
    assert np.array_equal(grown[0], grown[1]) and np.array_equal(masks.grow_holes(known, 0), known)
    fade = masks.feather_weights(grown[0], 3)
    assert fade[grown[0] == 1].max() == 0 and fade[10, 10] == 1  # kept pixels 0, the middle 1
    assert 0 < fade[10, 7] < fade[10, 8] < fade[10, 9] <= 1  # rising inwards from the edge
    assert np.array_equal(masks.feather_weights(grown[0], 0), 1 - grown[0])


@pytest.mark.parametrize(
    "kind, params, message",
    [
        ("center", {"scale": 0.7}, r"scale must be in \(0, 0.5\), got 0.7"),  # was no hole at all
        ("random", {"fraction": 2.0}, r"fraction must be in \(0, 1\), got 2.0"),  # was all hole
        ("pattern", {"fraction": -1}, r"fraction must be in \(0, 1\), got -1"),  # was numpy's ValueError
    ],
)
def test_a_parameter_that_leaves_no_hole_or_no_face_is_named(kind: str, params: dict, message: str) -> None:
    with pytest.raises(masks.MaskError, match=message):
        masks.make(kind, 1, 16, **params)
