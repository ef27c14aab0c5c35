"""The one rule for each image's start, step count and step size, pinned as a table."""

import warnings

import numpy as np
import pytest

from ganfill import masks
from ganfill.config import CompletionConfig
from ganfill.errors import InputWarning
from ganfill.schedule import COLOUR, OPEN_HOLE_SYMMETRY, SYMMETRY, plan
from ganfill.symmetry import BAND, NARROW_BAND, NARROW_REACH, REACH

KINDS = ("center", "random", "left", "pattern", "grid", "top")


HOLE, SCATTERED, OPEN = (100, 0.01, 0.0), (100, 0.04, 0.0), (10, 0.01, 0.0)
BY_KIND = [HOLE, SCATTERED, OPEN, HOLE, SCATTERED, OPEN]  # KINDS' order, from the encoder


@pytest.mark.parametrize(
    "config, has_encoder, lowres, init, expected, restarts, prune",
    [
        # the default from the encoder: the guess, steps and step size by each mask's kind
        ({}, True, False, "encoder", BY_KIND, 1, 10),
        # no encoder, or lowres: the paper's random start, 1500 steps at 0.01 everywhere
        ({}, False, False, "random", [(1500, 0.01, 0.0)] * 6, 1, 10),
        ({}, True, True, "random", [(1500, 0.01, 0.0)] * 6, 1, 10),
        ({"init": "random", "restarts": 2}, True, False, "random", [(1500, 0.01, 0.0)] * 6, 2, 10),
        # explicit values win for every image
        ({"iters": 7}, True, False, "encoder", [(7, lr, s) for _, lr, s in BY_KIND], 1, 10),
        ({"lr": 0.02, "prune_after": 0}, True, False, "encoder", [(i, 0.02, s) for i, _, s in BY_KIND], 1, 0),
        # draws around the guess, when asked for: 4 starts pruned after 10 steps
        ({"spread": 0.8}, True, False, "encoder", [(i, lr, 0.8) for i, lr, _ in BY_KIND], 4, 10),
        (
            {"spread": 0.5, "restarts": 2},
            True,
            False,
            "encoder",
            [(i, lr, 0.5) for i, lr, _ in BY_KIND],
            2,
            10,
        ),
    ],
)
def test_schedule_table(config, has_encoder, lowres, init, expected, restarts, prune) -> None:
    known = np.concatenate([masks.make(k, 1, 64) for k in KINDS])
    schedule = plan(CompletionConfig(**config), known, has_encoder=has_encoder, lowres=lowres)
    assert schedule.init == init
    assert schedule.iters.tolist() == [e[0] for e in expected]
    assert np.allclose(schedule.lr, [e[1] for e in expected])
    assert np.allclose(schedule.spread, [e[2] for e in expected])
    assert (schedule.restarts, schedule.prune_after) == (restarts, prune)
    assert schedule.steps == max(e[0] for e in expected)


def test_asking_for_bfloat16_where_it_is_emulated_warns() -> None:
    known, config = masks.make("center", 2, 64), CompletionConfig(precision="bfloat16")
    with pytest.warns(InputWarning, match="does not multiply it natively"):
        assert plan(config, known, has_encoder=True).precision == "bfloat16"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan(config, known, has_encoder=True, fast_bfloat16=True)


def test_samples_raise_the_starts_and_keep_them_all_searching() -> None:
    known = masks.make("center", 2, 64)
    schedule = plan(CompletionConfig(), known, has_encoder=True, samples=6)
    assert (schedule.restarts, schedule.prune_after) == (6, 0)


@pytest.mark.parametrize(
    "kind, config, has_detail, lowres, expected",
    [
        ("center", {}, True, False, 1.0),  # the default from the encoder's guess
        ("pattern", {}, True, False, 0.6),  # narrow holes: the blend carries the context's detail in
        ("random", {}, True, False, 0.6),
        ("center", {}, False, False, 0.0),  # a model without a detail pass
        ("center", {"init": "random"}, True, False, 0.0),  # the paper's search stays as it was
        ("center", {"init": "random", "detail": 0.8}, True, False, 0.8),
        ("pattern", {"detail": 0.0}, True, False, 0.0),
        ("center", {}, True, True, 0.0),  # lowres: the downsampled view is the known information
    ],
)
def test_the_detail_pass_follows_the_encoders_start_and_the_holes_width(
    kind, config, has_detail, lowres, expected
) -> None:
    known = masks.make(kind, 3, 64, seed=1)
    schedule = plan(CompletionConfig(**config), known, has_encoder=True, has_detail=has_detail, lowres=lowres)
    assert schedule.detail.tolist() == [expected] * 3
    assert schedule.part(slice(1, 2)).detail.tolist() == [expected]


@pytest.mark.parametrize(
    "config, lowres, expected",
    [
        ({}, False, OPEN_HOLE_SYMMETRY),  # the default from the encoder's guess, on a half face
        ({"init": "random"}, False, 0.0),  # the paper's search stays as it was
        ({"symmetry": 0.0}, False, 0.0),
        ({"init": "random", "symmetry": 0.1}, False, 0.1),
        ({"symmetry": 0.1}, True, 0.0),  # lowres: no pixel of the face is known at full size
    ],
)
def test_the_mirror_detail_follows_the_encoders_start(config, lowres, expected) -> None:
    known = masks.make("left", 2, 64)
    schedule = plan(CompletionConfig(**config), known, has_encoder=True, lowres=lowres)
    assert schedule.symmetry.tolist() == [expected] * 2
    assert schedule.part(slice(0, 1)).symmetry.tolist() == [expected]


def test_the_mirror_detail_by_the_kind_of_hole() -> None:
    known = np.concatenate([masks.make(k, 1, 64, seed=1) for k in ("left", "center", "pattern", "strokes")])
    schedule = plan(CompletionConfig(), known, has_encoder=True)
    assert schedule.symmetry.tolist() == [OPEN_HOLE_SYMMETRY, SYMMETRY, SYMMETRY, SYMMETRY]
    assert schedule.band.tolist() == [BAND, BAND, NARROW_BAND, NARROW_BAND]  # narrow: only the finest
    assert schedule.reach.tolist() == [REACH, REACH, NARROW_REACH, NARROW_REACH]
    assert plan(CompletionConfig(symmetry=0.1), known, has_encoder=True).symmetry.tolist() == [0.1] * 4


@pytest.mark.parametrize(
    "config, has_encoder, fast, expected",
    [
        ({}, True, True, "bfloat16"),  # the default search on hardware that multiplies bfloat16
        ({}, True, False, "float32"),  # ... and where it does not
        ({"init": "random"}, True, True, "float32"),  # the paper's search stays as it always was
        ({}, False, True, "float32"),  # no encoder: the paper's search
        ({"precision": "float32"}, True, True, "float32"),  # explicit values win
        ({"precision": "bfloat16", "init": "random"}, True, True, "bfloat16"),
    ],
)
def test_precision_by_start_and_hardware(config, has_encoder, fast, expected) -> None:
    schedule = plan(
        CompletionConfig(**config), masks.make("center", 8, 64), has_encoder=has_encoder, fast_bfloat16=fast
    )
    assert schedule.precision == expected


def test_a_batch_too_small_to_gain_from_bfloat16_searches_in_float32() -> None:
    one = masks.make("center", 1, 64)  # a photo's one face
    assert plan(CompletionConfig(), one, has_encoder=True, fast_bfloat16=True).precision == "float32"
    starts = CompletionConfig(restarts=8)  # one face, eight starts searched side by side
    assert plan(starts, one, has_encoder=True, fast_bfloat16=True).precision == "bfloat16"
    asked = CompletionConfig(precision="bfloat16")
    assert plan(asked, one, has_encoder=True, fast_bfloat16=True).precision == "bfloat16"


@pytest.mark.parametrize(
    "config, has_colour, lowres, expected",
    [
        ({}, True, False, [COLOUR] * 3 + [0.0] * 4),  # holes only, where it was measured
        ({}, False, False, [0.0] * 7),  # no colouriser
        ({"init": "random"}, True, False, [0.0] * 7),  # the paper's search stays as it was
        ({}, True, True, [0.0] * 7),  # lowres: the downsampled view holds the colours
        ({"colour": 0.5}, True, False, [0.5] * 7),  # explicit values win
    ],
)
def test_the_colouriser_follows_the_encoders_start_and_the_kind_of_hole(
    config, has_colour, lowres, expected
) -> None:
    kinds = ("center", "eyes", "mouth", "pattern", "strokes", "random", "left")
    known = np.concatenate([masks.make(k, 1, 64, seed=1) for k in kinds])
    schedule = plan(CompletionConfig(**config), known, has_encoder=True, has_colour=has_colour, lowres=lowres)
    assert schedule.colour.tolist() == expected
    assert schedule.part(slice(1, 3)).colour.tolist() == expected[1:3]
