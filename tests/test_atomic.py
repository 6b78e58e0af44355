"""atomic_path(): an output appears whole, on success only; a failure leaves the disk as it was."""

import os

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
