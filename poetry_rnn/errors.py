"""One error type for bad input, and the wrapper that turns it into one clear message."""

from __future__ import annotations

import functools
import sys
from typing import Callable


class PoetryRnnError(Exception):
    """Bad input or a failed precondition: the message says what, where and what to do."""


def cli(main: Callable[[], None]) -> Callable[[], None]:
    """Run a stage's main(): a PoetryRnnError prints one line to stderr and exits 2, no traceback."""

    @functools.wraps(main)
    def wrapper() -> None:
        try:
            main()
        except PoetryRnnError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
