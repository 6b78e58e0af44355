"""fetch(): local paths as is; http(s) cached, resumed, retried and checksummed against a real local server."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading

import pytest
import requests

from http_server import Knobs, serve_directory
from poetry_rnn.inputs import download
from poetry_rnn.inputs.download import fetch, sha256_file
from poetry_rnn.errors import PoetryRnnError

DATA = os.urandom(3 * (1 << 20) + 12345)  # a bit over 3 chunks
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(download, "BACKOFF_BASE_S", 0.001)


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "vectors.zip").write_bytes(DATA)
    return root


def cache_files(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def cached_name(url):
    """The name fetch() gives the download of url in its cache."""
    return f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-{url.rsplit('/', 1)[1]}"


@contextlib.contextmanager
def stalling_server(body_bytes):
    """A server that answers 200 with the headers and the first body_bytes of DATA, then goes silent."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()
    conns = []

    def serve():
        listener.settimeout(0.05)
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conns.append(conn)
            conn.recv(65536)
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(DATA)}\r\n\r\n".encode() + DATA[:body_bytes])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/vectors.zip"
    finally:
        done.set()
        thread.join()
        for conn in conns:
            conn.close()
        listener.close()


def test_http_download_lands_in_cache_under_url_hash_and_prints_no_progress_off_terminal(served, tmp_path, capsys):
    knobs = Knobs()
    with serve_directory(served, knobs) as base:
        url = f"{base}/vectors.zip"
        path = fetch(url, tmp_path / "cache", sha256=SHA)
    assert path == tmp_path / "cache" / f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-vectors.zip"
    assert path.read_bytes() == DATA
    assert cache_files(tmp_path / "cache") == [path.name]  # no .part left
    assert capsys.readouterr().err == ""  # tqdm(disable=None) is quiet when stderr is not a terminal
    assert len(knobs.requests) == 1


def test_existing_cached_file_is_not_downloaded_again(served, tmp_path):
    knobs = Knobs()
    with serve_directory(served, knobs) as base:
        first = fetch(f"{base}/vectors.zip", tmp_path / "cache")
        second = fetch(f"{base}/vectors.zip", tmp_path / "cache", sha256=SHA)
    assert first == second
    assert len(knobs.requests) == 1


def test_existing_part_file_is_resumed_with_range_and_result_is_byte_identical(served, tmp_path):
    knobs = Knobs()
    with serve_directory(served, knobs) as base:
        url = f"{base}/vectors.zip"
        cache = tmp_path / "cache"
        cache.mkdir()
        dest = cache / f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-vectors.zip"
        dest.with_name(dest.name + ".part").write_bytes(DATA[:1000])
        path = fetch(url, cache, sha256=SHA)
    assert knobs.ranges() == ["bytes=1000-"]
    assert path.read_bytes() == DATA
    assert cache_files(cache) == [dest.name]


def test_connection_cut_midway_is_retried_and_resumed_from_the_part_file(served, tmp_path):
    knobs = Knobs(cut_after=1 << 20)
    with serve_directory(served, knobs) as base:
        path = fetch(f"{base}/vectors.zip", tmp_path / "cache", sha256=SHA)
    assert path.read_bytes() == DATA
    assert len(knobs.requests) == 2
    assert knobs.ranges() == [f"bytes={1 << 20}-"]


def test_server_ignoring_range_restarts_the_file_from_zero_cleanly(served, tmp_path):
    knobs = Knobs(ignore_range=True)
    with serve_directory(served, knobs) as base:
        url = f"{base}/vectors.zip"
        cache = tmp_path / "cache"
        cache.mkdir()
        dest = cache / f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-vectors.zip"
        dest.with_name(dest.name + ".part").write_bytes(b"stale bytes that must not survive")
        path = fetch(url, cache, sha256=SHA)
    assert knobs.ranges() == ["bytes=33-"]
    assert path.read_bytes() == DATA  # not stale prefix + whole file
    assert cache_files(cache) == [dest.name]


def test_server_errors_are_retried_then_download_succeeds(served, tmp_path):
    knobs = Knobs(fail_first=3)
    with serve_directory(served, knobs) as base:
        path = fetch(f"{base}/vectors.zip", tmp_path / "cache", sha256=SHA)
    assert path.read_bytes() == DATA
    assert len(knobs.requests) == 4


def test_persistent_server_error_gives_up_after_retries_naming_url_and_error(served, tmp_path):
    knobs = Knobs(fail_first=100)
    with serve_directory(served, knobs) as base:
        url = f"{base}/vectors.zip"
        with pytest.raises(PoetryRnnError) as err:
            fetch(url, tmp_path / "cache")
    assert len(knobs.requests) == 1 + download.RETRIES
    message = str(err.value)
    assert url in message and "HTTP 500" in message and "5 attempts" in message
    assert cache_files(tmp_path / "cache") == []


def test_connection_refused_is_retried_then_reported(tmp_path):
    with serve_directory(tmp_path) as base:
        url = f"{base}/gone.zip"
    # The server is shut down now, so the port refuses connections.
    with pytest.raises(PoetryRnnError, match="gave up after 5 attempts") as err:
        fetch(url, tmp_path / "cache")
    assert url in str(err.value) and "partial file" not in str(err.value)
    assert cache_files(tmp_path / "cache") == []


def test_a_stalled_read_times_out_is_retried_and_keeps_the_part_file(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_S", (1, 0.2))
    with stalling_server(1000) as url:
        with pytest.raises(PoetryRnnError) as err:
            fetch(url, tmp_path / "cache")
    message = str(err.value)
    assert url in message and "gave up after 5 attempts" in message and "timed out" in message.lower()
    assert "is kept and resumed" in message
    part = tmp_path / "cache" / (cached_name(url) + ".part")
    assert cache_files(tmp_path / "cache") == [part.name] and part.read_bytes() == DATA[:1000]


def test_every_request_has_a_connect_and_a_read_timeout(tmp_path, monkeypatch):
    seen = []

    def no_route(self, url, **kwargs):
        seen.append(kwargs.get("timeout"))
        raise requests.ConnectTimeout("connect timed out")

    monkeypatch.setattr(requests.Session, "get", no_route)
    with pytest.raises(PoetryRnnError, match=r"cannot fetch http://10\.255\.255\.1/g\.zip: gave up.*connect timed out"):
        fetch("http://10.255.255.1/g.zip", tmp_path / "cache")
    connect, read = download.TIMEOUT_S
    assert 0 < connect <= 30 and 0 < read <= 300
    assert seen == [download.TIMEOUT_S] * (1 + download.RETRIES)
    assert cache_files(tmp_path / "cache") == []


def test_interrupted_download_keeps_its_part_file_then_resumes_it_on_the_next_run(served, tmp_path):
    cache = tmp_path / "cache"
    knobs = Knobs(cut_after=1000, cut_times=100)
    with serve_directory(served, knobs) as base:
        url = f"{base}/vectors.zip"
        with pytest.raises(PoetryRnnError, match="gave up after 5 attempts") as err:
            fetch(url, cache)
        part = cache / (cached_name(url) + ".part")
        assert str(part) in str(err.value) and "is kept and resumed" in str(err.value)
        assert cache_files(cache) == [part.name] and part.read_bytes() == DATA[:5000]  # one slice per attempt
        knobs.cut_times, knobs.requests[:] = 0, []  # the network is back: run again
        path = fetch(url, cache, sha256=SHA)
    assert knobs.ranges() == ["bytes=5000-"]
    assert path.read_bytes() == DATA and cache_files(cache) == [path.name]  # the .part is gone after success


def test_not_found_fails_at_once_naming_url_and_status(served, tmp_path):
    knobs = Knobs()
    with serve_directory(served, knobs) as base:
        url = f"{base}/missing.zip"
        with pytest.raises(PoetryRnnError) as err:
            fetch(url, tmp_path / "cache")
    assert url in str(err.value) and "HTTP 404" in str(err.value)
    assert len(knobs.requests) == 1  # a 4xx is not retried
    assert cache_files(tmp_path / "cache") == []


def test_sha256_mismatch_on_download_reports_both_digests_and_removes_the_file(served, tmp_path):
    wrong = "0" * 64
    with serve_directory(served) as base:
        url = f"{base}/vectors.zip"
        with pytest.raises(PoetryRnnError) as err:
            fetch(url, tmp_path / "cache", sha256=wrong)
    message = str(err.value)
    assert wrong in message and SHA in message and url in message
    assert cache_files(tmp_path / "cache") == []


def test_local_path_and_file_url_are_returned_as_is(tmp_path):
    local = tmp_path / "my vectors.txt"
    local.write_bytes(b"hello")
    digest = hashlib.sha256(b"hello").hexdigest()
    assert fetch(str(local), tmp_path / "cache", sha256=digest) == local
    assert fetch(local.as_uri(), tmp_path / "cache", sha256=digest) == local
    assert not (tmp_path / "cache").exists()  # nothing copied


def test_local_file_sha256_mismatch_reports_both_digests_and_keeps_the_file(tmp_path):
    local = tmp_path / "mine.txt"
    local.write_bytes(b"hello")
    with pytest.raises(PoetryRnnError) as err:
        fetch(str(local), tmp_path / "cache", sha256="f" * 64)
    message = str(err.value)
    assert "f" * 64 in message and hashlib.sha256(b"hello").hexdigest() in message and str(local) in message
    assert local.read_bytes() == b"hello"  # the user's own file is never removed
    assert not (tmp_path / "cache").exists()


def test_local_folder_is_returned_as_is_but_cannot_be_checksummed(tmp_path):
    folder = tmp_path / "poems"
    folder.mkdir()
    assert fetch(str(folder), tmp_path / "cache") == folder
    with pytest.raises(PoetryRnnError, match=r"cannot check the sha256 of .*poems: it is a folder"):
        fetch(folder.as_uri(), tmp_path / "cache", sha256="0" * 64)
    assert folder.is_dir() and not (tmp_path / "cache").exists()


def test_missing_local_file_is_refused_naming_the_path(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(PoetryRnnError, match="no such file") as err:
        fetch(missing.as_uri(), tmp_path / "cache")
    assert str(missing) in str(err.value)
    assert not (tmp_path / "cache").exists() and not missing.exists()


@pytest.mark.parametrize("source", ["ftp://example.org/glove.zip", "s3://bucket/glove.zip"])
def test_unsupported_scheme_is_refused_naming_accepted_kinds(source, tmp_path):
    with pytest.raises(PoetryRnnError) as err:
        fetch(source, tmp_path / "cache")
    message = str(err.value)
    assert source in message and "http(s)://" in message and "file://" in message and "local path" in message
    assert not (tmp_path / "cache").exists()


def test_sha256_file_streams_the_digest(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(DATA)
    assert sha256_file(path) == SHA
