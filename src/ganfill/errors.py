"""The base of every error a user can cause (a bad file, setting or input): shown as one line.

Anything else (a plain ValueError, a TypeError) is a bug in ganfill and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator


class UserError(ValueError):
    """A problem with the user's input or settings; str() is one line naming it."""


class InputWarning(UserWarning):
    """A usable input with a flaw worth one line (corrupt EXIF data, an image resized)."""


@contextlib.contextmanager
def warnings_as_lines(prefix: str) -> Iterator[None]:
    """While the block runs, InputWarnings are one line on stderr, "prefix: warning: ...";
    other warnings keep Python's format."""
    show = warnings.showwarning

    def one_line(message, category, *rest) -> None:  # the signature of warnings.showwarning
        if issubclass(category, InputWarning):
            print(f"{prefix}: warning: {message}", file=sys.stderr)
        else:
            show(message, category, *rest)

    warnings.showwarning = one_line
    try:
        yield
    finally:
        warnings.showwarning = show
