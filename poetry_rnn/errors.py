"""One error type for bad input, and the wrapper every stage and command runs under."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import signal
import sys
import threading
from typing import Callable, Iterator


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


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the process is, so that it stops as on Ctrl-C: every `finally` and `with`
    runs (servers it started are stopped, a stage's MLflow run is marked KILLED)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # a supervisor's or `kill`'s stop; a closed terminal


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within it, SIGTERM and SIGHUP raise Stopped (their default would end the process on the spot, leaving what
    it started running); one more while it stops is ignored, so that the cleanup runs to its end."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def stop(signum, frame):
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def entry_point(main: Callable) -> Callable:
    """Run a stage's main() or a command: freed memory goes back to the OS; a PoetryRnnError prints one line
    `error: …` to stderr and exits 2, Ctrl-C exits 130 and SIGTERM or SIGHUP 128 + the signal, after the same
    cleanup (stop_on_signals), no traceback either way."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        return_freed_memory()
        try:
            with stop_on_signals():
                return main(*args, **kwargs)
        except PoetryRnnError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        except Stopped as err:
            print(f"stopped by {err}", file=sys.stderr)
            sys.exit(128 + err.signum)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
