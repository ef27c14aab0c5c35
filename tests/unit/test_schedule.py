"""The one rule for each image's start, step count and step size, pinned as a table."""

import numpy as np
import pytest

from ganfill import masks
from ganfill.config import CompletionConfig
from ganfill.schedule import plan

KINDS = ("center", "random", "left", "pattern", "grid", "top")


@pytest.mark.parametrize(
    "config, has_encoder, lowres, init, iters, lr",
    [
        # default search from the encoder: holes 100 x 0.01, scattered 100 x 0.04, open holes 10
        ({}, True, False, "encoder", [100, 100, 10, 100, 100, 10], [0.01, 0.04, 0.01, 0.01, 0.04, 0.01]),
        # no encoder, or lowres: the paper's random start, 1500 steps everywhere
        ({}, False, False, "random", [1500] * 6, [0.01] * 6),
        ({}, True, True, "random", [1500] * 6, [0.01] * 6),
        ({"init": "random"}, True, False, "random", [1500] * 6, [0.01] * 6),
        # explicit values win for every image
        ({"iters": 7}, True, False, "encoder", [7] * 6, [0.01, 0.04, 0.01, 0.01, 0.04, 0.01]),
        ({"lr": 0.02}, True, False, "encoder", [100, 100, 10, 100, 100, 10], [0.02] * 6),
        ({"iters": 3, "lr": 0.5}, False, False, "random", [3] * 6, [0.5] * 6),
    ],
)
def test_schedule_table(config, has_encoder, lowres, init, iters, lr) -> None:
    known = np.concatenate([masks.make(k, 1, 64) for k in KINDS])
    schedule = plan(CompletionConfig(**config), known, has_encoder=has_encoder, lowres=lowres)
    assert schedule.init == init
    assert schedule.iters.tolist() == iters
    assert np.allclose(schedule.lr, lr)
    assert schedule.steps == max(iters)
