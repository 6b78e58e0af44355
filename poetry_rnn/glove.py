"""GloVe text (plain or inside a zip) -> vocab.txt + vectors.npy + meta.json, and loading that back."""

from __future__ import annotations

import contextlib
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Iterator

import numpy as np
from tqdm import tqdm

from poetry_rnn.atomic import write_json
from poetry_rnn.errors import PoetryRnnError

MAX_UNCOMPRESSED_BYTES = 8 << 30  # stop a zip bomb long before the disk fills
MAX_LINE_BYTES = 1 << 20  # a 300-d line is ~3 KB; a longer one is not GloVe
BLOCK_ROWS = 4096  # rows parsed into memory before they go to disk
REPRO = "run `dvc repro download_glove`"
# A number as GloVe writes it (with a point or an exponent): a word ending in one means an extra value.
_GLOVE_NUMBER = re.compile(rb"[-+]?(?:\d*\.\d+|\d+\.?\d*[eE][-+]?\d+|\d*\.\d+[eE][-+]?\d+)")


@dataclass
class Glove:
    """Words and their vectors; `vectors` is a read-only memmap of shape (V, dim)."""

    words: list[str]
    vectors: np.ndarray
    index: dict[str, int]

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return int(self.vectors.shape[1])


def convert_glove(src: Path, member: str, dim: int, out_dir: Path) -> dict:
    """Convert a GloVe text file (or `member` of a .zip) into out_dir; return the meta dict."""
    src, out_dir = Path(src), Path(out_dir)
    if not src.is_file():
        raise PoetryRnnError(f"GloVe source {src} does not exist; {REPRO}")
    is_zip = src.suffix.lower() == ".zip"
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / "vectors.f32.part"  # rows go here first: their count is known only at the end
    try:
        with _open_source(src, member) as (f, label), open(raw, "wb") as raw_f:
            words, duplicates = _parse(f, label, dim, raw_f)
        _raw_to_npy(raw, len(words), dim, out_dir / "vectors.npy")
    except BaseException:
        (out_dir / "vectors.npy").unlink(missing_ok=True)  # no half-written matrix left behind
        raise
    finally:
        raw.unlink(missing_ok=True)
    (out_dir / "vocab.txt").write_bytes("".join(w + "\n" for w in words).encode("utf-8"))
    meta = {
        "words": len(words),
        "dim": dim,
        "duplicates": duplicates,
        "source": src.name,
        "member": member if is_zip else None,
    }
    write_json(out_dir / "meta.json", meta)
    return meta


def load_glove(out_dir: Path) -> Glove:
    """Load vocab.txt and a read-only memmap of vectors.npy written by convert_glove."""
    out_dir = Path(out_dir)
    vocab, npy = out_dir / "vocab.txt", out_dir / "vectors.npy"
    for path in (vocab, npy):
        if not path.is_file():
            raise PoetryRnnError(f"GloVe file {path} is missing; {REPRO}")
    # split("\n"), not splitlines(): a word may hold \r or \u2028, never \n.
    words = vocab.read_bytes().decode("utf-8").split("\n")[:-1]
    vectors = np.load(npy, mmap_mode="r")
    if vectors.ndim != 2 or len(words) != vectors.shape[0]:
        raise PoetryRnnError(
            f"GloVe files in {out_dir} disagree: {len(words)} words but vectors of shape {vectors.shape}; {REPRO}"
        )
    return Glove(words=words, vectors=vectors, index={w: i for i, w in enumerate(words)})


@contextlib.contextmanager
def _open_source(src: Path, member: str) -> Iterator[tuple[IO[bytes], str]]:
    """Yield a binary stream of the GloVe text and a label for messages; zip damage -> PoetryRnnError."""
    if src.suffix.lower() != ".zip":
        with open(src, "rb") as f:
            yield f, str(src)
        return
    _check_member_name(src, member)
    label = f"{src}:{member}"
    try:
        with zipfile.ZipFile(src) as zf:
            names = zf.namelist()
            if member not in names:
                raise PoetryRnnError(
                    f"{src} has no member {member!r}; it holds: {', '.join(names) or 'nothing'}; "
                    "set glove.file to one of these"
                )
            size = zf.getinfo(member).file_size
            if size > MAX_UNCOMPRESSED_BYTES:
                raise PoetryRnnError(
                    f"{label} says it unpacks to {size} bytes, over the {MAX_UNCOMPRESSED_BYTES}-byte cap; "
                    "the archive is not a GloVe download"
                )
            with zf.open(member) as f:
                yield f, label
    # Reading happens in the caller's block; its zip errors surface here too.
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        raise PoetryRnnError(f"{label} cannot be read, the zip is corrupt or truncated ({err}); {REPRO} again") from err


def _check_member_name(src: Path, member: str) -> None:
    """Refuse member names that climb out of the archive or are absolute."""
    for pure in (PurePosixPath(member), PureWindowsPath(member)):
        if not member or pure.is_absolute() or pure.anchor or ".." in pure.parts:
            raise PoetryRnnError(
                f"refusing zip member {member!r} of {src}: it must be a relative name without '..'; fix glove.file"
            )


def _lines(f: IO[bytes], label: str) -> Iterator[bytes]:
    """Lines of `f`, bounded in length and in total bytes so a bomb stops with an error."""
    total = 0
    for line in iter(lambda: f.readline(MAX_LINE_BYTES), b""):
        total += len(line)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise PoetryRnnError(f"{label} unpacks past the {MAX_UNCOMPRESSED_BYTES}-byte cap; it is not a GloVe file")
        if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise PoetryRnnError(f"{label} has a line over {MAX_LINE_BYTES} bytes; it is not a GloVe text file")
        yield line


def _parse(f: IO[bytes], label: str, dim: int, raw_f: IO[bytes]) -> tuple[list[str], int]:
    """Parse lines into words, writing float32 rows to raw_f; return (words, duplicates)."""
    words: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    block = np.empty((BLOCK_ROWS, dim), dtype=np.float32)
    filled = 0
    lineno = 0
    for lineno, line in enumerate(tqdm(_lines(f, label), unit="lines", disable=None, desc="glove"), 1):
        line = line.rstrip(b"\r\n")
        if not line:
            continue  # a blank line (e.g. at the end) carries nothing
        if not words and not duplicates:
            _check_dim(line, label, dim)
        # From the right: glove.840B has tokens that contain spaces.
        parts = line.rsplit(b" ", dim)
        if len(parts) != dim + 1:
            raise PoetryRnnError(
                f"{label} line {lineno}: expected a word and {dim} numbers, found {len(parts)} fields; "
                f"the file is damaged, {REPRO} again"
            )
        _check_no_extra_value(parts[0], label, lineno, dim)
        word = parts[0].decode("utf-8", errors="replace")
        if word in seen:
            duplicates += 1  # keep the first vector, like every GloVe reader
            continue
        try:
            block[filled] = parts[1:]
        except ValueError as err:
            raise PoetryRnnError(f"{label} line {lineno}: {err}; the file is damaged, {REPRO} again") from err
        if not np.isfinite(block[filled]).all():
            raise PoetryRnnError(f"{label} line {lineno}: a value is nan or inf; the file is damaged, {REPRO} again")
        seen.add(word)
        words.append(word)
        filled += 1
        if filled == BLOCK_ROWS:
            raw_f.write(block.tobytes())
            filled = 0
    raw_f.write(block[:filled].tobytes())
    if not words:
        raise PoetryRnnError(f"{label} holds no vectors ({lineno} lines); {REPRO} again")
    return words, duplicates


def _check_no_extra_value(word: bytes, label: str, lineno: int, dim: int) -> None:
    """Refuse a line whose word ends in a number: it has more than `dim` values, not a word with a space."""
    if b" " in word and _GLOVE_NUMBER.fullmatch(word.rsplit(b" ", 1)[1]):
        raise PoetryRnnError(
            f"{label} line {lineno}: expected a word and {dim} numbers, found more numbers; "
            f"the file is damaged, {REPRO} again"
        )


def _check_dim(line: bytes, label: str, dim: int) -> None:
    """Compare the first line's vector length with `dim`, so a mismatch is named as such."""
    fields = line.split(b" ")
    numeric = 0
    for field in reversed(fields[1:]):  # count numbers from the right; the word may hold spaces
        try:
            float(field)
        except ValueError:
            break
        numeric += 1
    if numeric != dim:
        raise PoetryRnnError(
            f"{label} has {numeric}-dimensional vectors but glove.dim is {dim}; set glove.dim to {numeric}"
        )


def _raw_to_npy(raw: Path, rows: int, dim: int, npy: Path) -> None:
    """Copy the raw float32 rows into a real .npy file, a block at a time."""
    src = np.memmap(raw, dtype=np.float32, mode="r", shape=(rows, dim))
    dst = np.lib.format.open_memmap(npy, mode="w+", dtype=np.float32, shape=(rows, dim))
    step = max(1, (64 << 20) // (4 * dim))  # ~64 MiB at a time
    for start in range(0, rows, step):
        dst[start:start + step] = src[start:start + step]
    dst.flush()
    del src, dst  # close the maps before anyone renames or deletes the files
