"""Write outputs to a temporary path and rename them into place only on success."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import psutil


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of `dest` (file or folder); move it onto `dest` only if the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_leftovers(dest)
    # the pid in the name tells a later run whether this writer may still be busy
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent))
    target = tmp / dest.name
    try:
        yield target
        if not target.exists():
            raise FileNotFoundError(f"nothing was written to {target}")
        _fsync_tree(target)  # the data must be on disk before the rename makes it visible
        _replace(target, dest, tmp / ".old")
        _fsync(dest.parent)  # so the rename itself survives a power cut
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


def _fsync_tree(path: Path) -> None:
    """Flush a file, or every file and folder of a folder tree, to disk."""
    if not path.is_dir():
        _fsync(path)
        return
    for root, dirs, files in os.walk(path):
        for name in files:
            file = os.path.join(root, name)
            if not os.path.islink(file):  # a link's target is not ours; its entry is covered by the folder fsync
                _fsync(file)
        _fsync(root)  # the folder's entries (names of the files) must be durable too


def _fsync(path: str | os.PathLike) -> None:
    """Flush one file or folder to disk; read-only, since a folder cannot be opened for writing."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_dead_leftovers(dest: Path) -> None:
    """Remove temporaries of `dest` left by writers that died (SIGKILL, power cut) before cleaning up."""
    # mkdtemp's random part has no dots, so a dotted dest.name cannot match another dest's leftovers
    pattern = re.compile(rf"\.{re.escape(dest.name)}\.(\d+)\.\w+\.tmp")
    for entry in dest.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir() and not psutil.pid_exists(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def write_json(dest: str | os.PathLike, obj) -> None:
    """Write `obj` as pretty JSON, atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_text(dest: str | os.PathLike, text: str) -> None:
    """Write text, atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text)
