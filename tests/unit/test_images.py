"""Pictures of image sets: one row per image, one column per set."""

import numpy as np

from ganfill.images import side_by_side


def test_side_by_side_puts_each_set_in_its_own_column() -> None:
    sets = [np.full((3, 4, 5, 3), value, np.uint8) for value in (10, 20)]
    sets[1][2] = 30  # the third image of the second set
    picture = side_by_side(sets)
    pad = 2
    assert picture.shape == (3 * (4 + pad) + pad, 2 * (5 + pad) + pad, 3)
    top_left, top_right = picture[pad, pad], picture[pad, 2 * pad + 5]
    bottom_right = picture[3 * pad + 2 * 4, 2 * pad + 5]
    assert top_left.tolist() == [10] * 3 and top_right.tolist() == [20] * 3
    assert bottom_right.tolist() == [30] * 3
