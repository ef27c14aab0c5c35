"""The base of every error a user can cause (a bad file, setting or input): shown as one line.

Anything else (a plain ValueError, a TypeError) is a bug in ganfill and keeps its traceback.
"""


class UserError(ValueError):
    """A problem with the user's input or settings; str() is one line naming it."""
