"""Image helpers: pictures of image sets, and the warnings PIL raises while it reads a file."""

import warnings

import numpy as np
import pytest

from ganfill.errors import InputWarning
from ganfill.images import pil_flaws, side_by_side


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


def test_pil_flaws_names_the_file_but_not_for_another_objects_resource_warning() -> None:
    """A ResourceWarning the collector raises while a file is read (an unclosed temporary file of
    the server's form parser) is not that file's flaw: it passes through as it was."""
    with pytest.warns(InputWarning, match=r"^a\.jpg: corrupt EXIF data \(ignored\)$"), pil_flaws("a.jpg"):
        warnings.warn("Corrupt EXIF data.  Expecting to read 4 bytes", UserWarning, stacklevel=1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pil_flaws("a.jpg"):
            warnings.warn("unclosed file <tempfile>", ResourceWarning, stacklevel=1)
    assert [(w.category, str(w.message)) for w in seen] == [(ResourceWarning, "unclosed file <tempfile>")]
