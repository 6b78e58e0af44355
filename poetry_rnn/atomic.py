"""Write outputs to a temporary path and rename them into place only on success."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of `dest` (file or folder); move it onto `dest` only if the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    target = tmp / dest.name
    try:
        yield target
        if not target.exists():
            raise FileNotFoundError(f"nothing was written to {target}")
        _replace(target, dest, tmp / ".old")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replace(target: Path, dest: Path, old: Path) -> None:
    """Rename target onto dest; an existing folder is moved aside first and put back if the rename fails."""
    if not (dest.is_dir() and not dest.is_symlink()):
        os.replace(target, dest)
        return
    os.replace(dest, old)  # a folder cannot be renamed onto a non-empty folder
    try:
        os.replace(target, dest)
    except BaseException:
        os.replace(old, dest)
        raise


def write_json(dest: str | os.PathLike, obj) -> None:
    """Write `obj` as pretty JSON, atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_text(dest: str | os.PathLike, text: str) -> None:
    """Write text, atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text)
