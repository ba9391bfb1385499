"""The one exception type for bad input: a file the program reads is missing, corrupt or of the wrong kind.

    try:
        detector = Detector("models/")
    except InputError as exc:
        print(exc.path, exc.what, exc.hint)

`str(exc)` is "<path>: <what> (<hint>)"; the command line prints it as `ERROR <path>: <what> (<hint>)`
and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A file (or folder) given to sdaie cannot be used: what is wrong with it and what to do."""

    def __init__(self, path: str | Path, what: str, hint: str):
        self.path, self.what, self.hint = str(path), what, hint
        super().__init__(f"{self.path}: {what} ({hint})")
