"""One error type for bad input, and the wrapper that turns it into one clear message."""

from __future__ import annotations

import functools
import sys
from typing import Callable


class PoetryRnnError(Exception):
    """Bad input or a failed precondition: the message says what, where and what to do."""


def entry_point(main: Callable) -> Callable:
    """Run a stage's main() or a command: a PoetryRnnError prints one line `error: …` to stderr and exits 2,
    Ctrl-C exits 130, no traceback either way."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except PoetryRnnError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
