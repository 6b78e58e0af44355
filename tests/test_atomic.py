"""atomic_path(): an output appears whole, on success only; a failure leaves the disk as it was."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from poetry_rnn import atomic
from poetry_rnn.atomic import atomic_path, write_json, write_text


def entries(folder):
    """Every name in folder, hidden temporaries included."""
    return sorted(os.listdir(folder))


def test_failure_leaves_no_file_and_no_temporary(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(tmp_path / "out.json") as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert entries(tmp_path) == []


def test_failure_leaves_no_folder_and_no_temporary(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "data" / "chunks") as tmp:
            tmp.mkdir()
            (tmp / "train.npz").write_bytes(b"partial")
            raise RuntimeError("boom")
    assert entries(tmp_path / "data") == []


def test_interrupt_leaves_nothing_either(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "out") as tmp:
            tmp.mkdir()
            raise KeyboardInterrupt
    assert entries(tmp_path) == []


def test_failure_keeps_the_previous_output_untouched(tmp_path):
    dest = tmp_path / "chunks"
    dest.mkdir()
    (dest / "train.npz").write_bytes(b"good")
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.mkdir()
            (tmp / "train.npz").write_bytes(b"bad")
            raise RuntimeError("boom")
    assert entries(tmp_path) == ["chunks"] and (dest / "train.npz").read_bytes() == b"good"


def test_success_replaces_a_folder_whole_dropping_its_old_files(tmp_path):
    dest = tmp_path / "chunks"
    dest.mkdir()
    (dest / "old.npz").write_bytes(b"old")
    with atomic_path(dest) as tmp:
        tmp.mkdir()
        (tmp / "train.npz").write_bytes(b"new")
    assert entries(tmp_path) == ["chunks"] and entries(dest) == ["train.npz"]
    assert (dest / "train.npz").read_bytes() == b"new"


def test_a_failed_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    dest = tmp_path / "chunks"
    dest.mkdir()
    (dest / "train.npz").write_bytes(b"good")
    real_replace = os.replace

    def flaky_replace(src, dst):
        if str(src).endswith("chunks") and ".tmp" in str(src):
            raise OSError("disk gone")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky_replace)
    with pytest.raises(OSError, match="disk gone"):
        with atomic_path(dest) as tmp:
            tmp.mkdir()
    assert entries(tmp_path) == ["chunks"] and (dest / "train.npz").read_bytes() == b"good"


def test_writing_nothing_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "out.json"):
            pass
    assert entries(tmp_path) == []


def test_write_json_and_write_text_replace_a_file(tmp_path):
    write_text(tmp_path / "a.txt", "old")
    write_text(tmp_path / "a.txt", "new")
    write_json(tmp_path / "m.json", {"x": 1})
    assert (tmp_path / "a.txt").read_text() == "new" and (tmp_path / "m.json").read_text() == '{\n  "x": 1\n}\n'
    assert entries(tmp_path) == ["a.txt", "m.json"]


def record_fsyncs_and_renames(monkeypatch):
    """Log ("fsync", path) and ("replace", dest) in the order atomic_path does them."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(Path(dst).resolve())))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    return events


def test_a_file_is_fsynced_before_the_rename_and_its_folder_after(tmp_path, monkeypatch):
    events = record_fsyncs_and_renames(monkeypatch)
    dest = tmp_path.resolve() / "out.json"
    with atomic_path(dest) as tmp:
        tmp.write_text("data")
        written = str(tmp.resolve())
    rename = events.index(("replace", str(dest)))
    assert ("fsync", written) in events[:rename]  # the temporary file, inside its .tmp folder
    assert ("fsync", str(dest.parent)) in events[rename + 1:]


def test_a_folder_write_fsyncs_every_file_and_folder_of_the_tree(tmp_path, monkeypatch):
    events = record_fsyncs_and_renames(monkeypatch)
    with atomic_path(tmp_path.resolve() / "chunks") as tmp:
        (tmp / "sub").mkdir(parents=True)
        (tmp / "train.npz").write_bytes(b"a")
        (tmp / "sub" / "valid.npz").write_bytes(b"b")
        tree = {str(tmp.resolve()), str(tmp.resolve() / "sub")}
        tree |= {str(tmp.resolve() / n) for n in ("train.npz", "sub/valid.npz")}
    synced = {path for kind, path in events if kind == "fsync"}
    assert tree <= synced


def test_the_leftover_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    dest = tmp_path / "out.json"
    crash = (
        "import os, signal, sys\n"
        "from poetry_rnn.atomic import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(atomic.__file__).parent.parent
    run = subprocess.run([sys.executable, "-c", crash, str(dest)], cwd=root)
    assert run.returncode == -signal.SIGKILL
    assert len(list(tmp_path.glob(".out.json.*.tmp"))) == 1  # the crash really left its temporary behind
    write_text(dest, "whole")
    assert entries(tmp_path) == ["out.json"] and dest.read_text() == "whole"


def test_leftovers_of_a_live_writer_or_of_another_output_are_kept(tmp_path):
    dead = tmp_path / ".out.json.999999999.abc123.tmp"  # above any pid_max: that writer is gone
    busy = tmp_path / f".out.json.{os.getpid()}.abc123.tmp"  # a writer of out.json busy right now: this process
    other = tmp_path / ".out.json.old.999999999.abc123.tmp"  # a dead writer, but of "out.json.old"
    for leftover in (dead, busy, other):
        leftover.mkdir()
    write_text(tmp_path / "out.json", "whole")
    assert entries(tmp_path) == sorted([busy.name, other.name, "out.json"])  # only the dead one went
