"""The project's one download function: cached, resumable, retried, checksummed."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import requests
import urllib3
from tqdm import tqdm

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.paths import user_root

CHUNK_BYTES = 1 << 20
TIMEOUT_S = (10, 60)  # (connect, read)
RETRIES = 4
BACKOFF_BASE_S = 0.5  # delays are 0.5, 1, 2, 4 s; tests set this to ~0
ACCEPTED = "an http(s):// URL, a file:// URL or a local path"


class _Retryable(Exception):
    """A failure worth another attempt (5xx, short body, unusable partial file)."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def local_path(source: str) -> Path | None:
    """The local file or folder `source` names (a relative path is taken from the user's repo, so a `dvc exp run
    --temp` copy finds it too), or None for an http(s) URL."""
    parts = urlsplit(str(source))
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return None
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise PoetryRnnError(
                f"cannot fetch {source}: file:// URLs on another host are not supported; "
                "use file:///absolute/path or a plain local path"
            )
        return Path(url2pathname(parts.path))
    if scheme == "" or len(scheme) == 1:  # one letter: a Windows drive, not a scheme
        return user_root() / source
    raise PoetryRnnError(f"cannot fetch {source}: the scheme {parts.scheme}:// is not supported; use {ACCEPTED}")


def fetch(source: str, cache_dir: Path, sha256: str | None = None) -> Path:
    """Return a local path (file or folder) for `source`, downloading http(s) URLs into `cache_dir` once."""
    path = local_path(source)
    if path is None:
        return _fetch_http(str(source), Path(cache_dir), sha256)
    if not path.exists():
        raise PoetryRnnError(f"cannot fetch {source}: no such file {path}; check the path")
    if sha256 and path.is_dir():
        raise PoetryRnnError(f"cannot check the sha256 of {path}: it is a folder; zip it, or set the sha256 to null")
    if sha256:
        _verify(path, sha256, where=str(path), remove=False)  # never delete the user's own file
    return path


def fingerprint(source: str) -> dict:
    """What identifies a source's content, for DVC: a local file's sha256, a digest over a folder's files (names
    and contents); an http(s) URL stands for itself (its download is cached by URL)."""
    path = local_path(source)
    if path is None:
        return {"source": source}
    if path.is_file():
        return {"source": source, "sha256": sha256_file(path)}
    if path.is_dir():
        digest = hashlib.sha256()
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{f.relative_to(path).as_posix()}\0{sha256_file(f)}\n".encode())
        return {"source": source, "folder_sha256": digest.hexdigest()}
    return {"source": source, "missing": True}  # the stage that reads it says what is wrong


def _fetch_http(url: str, cache_dir: Path, sha256: str | None) -> Path:
    """Download `url` into the cache unless it is already there, then verify it."""
    name = Path(unquote(urlsplit(url).path)).name
    if not name:
        raise PoetryRnnError(f"cannot fetch {url}: the URL does not end in a file name; point it at a file")
    # The URL hash keeps two files with the same name from different places apart.
    dest = cache_dir / f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-{name}"
    if not dest.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _download(url, dest)
    if sha256:
        _verify(dest, sha256, where=url, remove=True)
    return dest


def _download(url: str, dest: Path) -> None:
    """Download to `dest`.part with retries, resuming each time, then rename it to `dest`."""
    part = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    with requests.Session() as session:
        for attempt in range(RETRIES + 1):
            if attempt:
                time.sleep(BACKOFF_BASE_S * 2 ** (attempt - 1))
            try:
                _download_once(session, url, part)
                break
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    _Retryable) as err:
                last = err
            except requests.RequestException as err:  # a bad URL and the like: retrying cannot help
                raise PoetryRnnError(f"cannot fetch {url}: {err}; check the URL") from err
        else:
            kept = f" (the partial file {part} is kept and resumed)" if part.exists() else ""
            raise PoetryRnnError(
                f"cannot fetch {url}: gave up after {RETRIES + 1} attempts, last error: {last}; "
                f"check the network and the URL, then run again{kept}"
            )
    os.replace(part, dest)


def _download_once(session: requests.Session, url: str, part: Path) -> None:
    """One request: append to `part` on 206, start it over on 200; raise on a short body."""
    have = part.stat().st_size if part.exists() else 0
    # identity: byte counts and Range offsets must refer to the file, not a gzip stream of it.
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    with session.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as resp:
        status = resp.status_code
        if status == 416 and have:
            # Our offset is at or past the end: the .part is either complete or stale.
            if resp.headers.get("Content-Range", "") == f"bytes */{have}":
                return
            part.unlink()
            raise _Retryable(f"HTTP 416 for a partial file of {have} bytes; starting over")
        if status >= 500:
            raise _Retryable(f"HTTP {status} {resp.reason}")
        if status >= 400:
            raise PoetryRnnError(f"cannot fetch {url}: the server answered HTTP {status} {resp.reason}; check the URL")
        if status not in (200, 206):
            raise PoetryRnnError(f"cannot fetch {url}: unexpected HTTP {status} {resp.reason}; check the URL")
        if status == 206 and not resp.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
            part.unlink(missing_ok=True)
            raise _Retryable(f"the server resumed at the wrong offset ({resp.headers.get('Content-Range')})")
        if status == 200:
            have = 0  # the server ignored Range and sends the whole file: start over
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        with open(part, "ab" if have else "wb") as f, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
            desc=part.name.removesuffix(".part"), disable=None,
        ) as bar:
            for chunk in _body(resp):
                f.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Retryable(f"the connection closed after {size} of {total} bytes")


def _body(resp: requests.Response):
    """The body as it arrives; bytes read before a cut or a stall reach the .part (iter_content drops them)."""
    if not hasattr(resp.raw, "read1"):  # urllib3 < 2
        yield from resp.iter_content(CHUNK_BYTES)
        return
    try:
        while chunk := resp.raw.read1(CHUNK_BYTES, decode_content=True):
            yield chunk
    except urllib3.exceptions.HTTPError as err:  # a cut connection or a read timeout: worth another attempt
        raise _Retryable(str(err)) from err


def _verify(path: Path, expected: str, where: str, remove: bool) -> None:
    """Raise if `path` does not hash to `expected`; remove it first when it is our download."""
    actual = sha256_file(path)
    if actual == expected.strip().lower():
        return
    if remove:
        path.unlink(missing_ok=True)
    what = "the downloaded file was removed; run again, or fix the sha256 if the source changed" if remove \
        else "check that the file is the right one, or fix the sha256"
    raise PoetryRnnError(f"sha256 mismatch for {where}: expected {expected}, got {actual}; {what}")
