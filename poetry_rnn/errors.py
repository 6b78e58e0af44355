"""One error type for bad input, and the wrapper every stage and command runs under."""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Callable


class PoetryRnnError(Exception):
    """Bad input or a failed precondition: the message says what, where and what to do."""


MMAP_THRESHOLD = 1 << 20  # bytes; glibc's M_MMAP_THRESHOLD


def return_freed_memory() -> None:
    """Have glibc serve every allocation of 1 MiB or more with its own mmap, given back to the OS when freed.
    By default glibc raises that threshold to the size of the first large block freed, after which each
    batch's transient tensors land on the heap between small tensors that live on (a token's score), so the
    heap cannot shrink: scoring 2M tokens in batches grew the process by 1.7 GB instead of 30 MB
    (tests/test_memory.py). A no-op where the C library is not glibc."""
    if sys.platform.startswith("linux"):
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the process's own symbols: glibc's, if linked
        if mallopt is not None:
            mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD; setting it also stops the dynamic adjustment


def entry_point(main: Callable) -> Callable:
    """Run a stage's main() or a command: freed memory goes back to the OS; a PoetryRnnError prints one line
    `error: …` to stderr and exits 2, Ctrl-C exits 130, no traceback either way."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        return_freed_memory()
        try:
            return main(*args, **kwargs)
        except PoetryRnnError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
