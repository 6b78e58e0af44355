"""GloVe text (plain or inside a zip) -> vocab.txt + vectors.npy + meta.json, and loading that back."""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Iterator

import numpy as np
import pyarrow as pa
from pyarrow import csv as pacsv
from tqdm import tqdm

from poetry_rnn.atomic import write_json
from poetry_rnn.errors import PoetryRnnError

MAX_UNCOMPRESSED_BYTES = 8 << 30  # stop a zip bomb long before the disk fills
MAX_LINE_BYTES = 1 << 20  # a 300-d line is ~3 KB; a longer one is not GloVe
BLOCK_ROWS = 4096  # rows the careful parser holds before they go to disk
CHUNK_BYTES = 8 << 20  # text parsed at a time; the chunks in flight, not the file's size, set the memory (~200 MB)
PARSE_BLOCK_BYTES = 2 << 20  # pyarrow's unit of parsing within a chunk (1-2 MiB measured fastest)
PARSERS = min(4, os.cpu_count() or 1)  # threads running pyarrow's parser on a chunk each; it lets go of the GIL
CAREFUL_BYTES = 256 << 10  # a piece the fast parser refuses is halved down to this, then read line by line
NPY_HEADER_BYTES = 128  # room for a .npy header with any row count, so it is written again in place at the end
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
    npy = out_dir / "vectors.npy"
    try:
        with _open_source(src, member) as (f, label, size), open(npy, "wb") as out:
            # Rows go straight into the .npy body; the row count is known only at the end, so the fixed-size
            # header is written again then: no second copy of the matrix.
            out.write(_npy_header(0, dim))
            got = _convert(f, label, dim, size, out)
            out.seek(0)
            out.write(_npy_header(len(got.words), dim))
    except BaseException:
        npy.unlink(missing_ok=True)  # no half-written matrix left behind
        raise
    words = got.words
    (out_dir / "vocab.txt").write_bytes("".join(w + "\n" for w in words).encode("utf-8"))
    meta = {
        "words": len(words),
        "dim": dim,
        "duplicates": got.duplicates,
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


@dataclass
class _Gathered:
    """What conversion has read so far: words kept, duplicates skipped, lines and bytes, bytes read carefully."""

    words: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    duplicates: int = 0
    lines: int = 0
    bytes: int = 0
    careful: int = 0


@contextlib.contextmanager
def _open_source(src: Path, member: str) -> Iterator[tuple[IO[bytes], str, int]]:
    """Yield a binary stream of the GloVe text, a label for messages and its size; zip damage -> PoetryRnnError."""
    if src.suffix.lower() != ".zip":
        with open(src, "rb") as f:
            yield f, str(src), os.fstat(f.fileno()).st_size
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
                yield f, label, size
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


def _convert(f: IO[bytes], label: str, dim: int, size: int, out: IO[bytes]) -> _Gathered:
    """Parse the GloVe text in `f` a chunk at a time, appending float32 rows to `out`; return what was gathered."""
    got = _Gathered()
    # The next chunks are parsed on other threads while this one stores the last; a few at a time bound the memory.
    pool, ahead = ThreadPoolExecutor(PARSERS), deque()
    try:
        with tqdm(total=size, unit="B", unit_scale=True, disable=None, desc="glove") as bar:
            while True:
                while len(ahead) <= PARSERS and (chunk := _read_chunk(f)):
                    ahead.append((chunk, pool.submit(_pyarrow_rows, chunk, dim)))
                if not ahead:
                    break
                chunk, parsed = ahead.popleft()
                _convert_piece(chunk, label, dim, out, got, parsed)
                bar.update(got.bytes - bar.n)
    finally:
        pool.shutdown(cancel_futures=True)
    if not got.words:
        raise PoetryRnnError(f"{label} holds no vectors ({got.lines} lines); {REPRO} again")
    return got


def _read_chunk(f: IO[bytes]) -> bytes:
    """About CHUNK_BYTES of `f`, read on to the end of its last line so no line is split; empty at the end of `f`."""
    chunk = f.read(CHUNK_BYTES)
    # A line past MAX_LINE_BYTES is cut here, and refused by either parser.
    return chunk + f.readline(MAX_LINE_BYTES) if chunk else chunk


def _convert_piece(piece: bytes, label: str, dim: int, out: IO[bytes], got: _Gathered,
                   parsed: Future | None = None) -> None:
    """Convert whole lines with the fast parser, halving what it refuses; the careful parser reads what stays refused."""
    # A file that keeps needing the careful parser (a quarter of it, past a few pieces) is read carefully to the end:
    # halving its pieces again and again would cost more than reading them line by line.
    hopeful = got.careful <= max(4 * CAREFUL_BYTES, got.bytes // 4)
    if hopeful and _fast(piece, dim, out, got, parsed):
        return
    cut = piece.find(b"\n", len(piece) // 2) + 1
    if hopeful and len(piece) > CAREFUL_BYTES and 0 < cut < len(piece):
        # Only the small piece holding an odd line (a word with spaces, as in glove.840B) is read line by line.
        _convert_piece(piece[:cut], label, dim, out, got)
        _convert_piece(piece[cut:], label, dim, out, got)
    else:
        _parse(piece, label, dim, out, got)


def _fast(piece: bytes, dim: int, out: IO[bytes], got: _Gathered, parsed: Future | None = None) -> bool:
    """Store `piece` as pyarrow read it (`parsed` ahead, or read now) if _parse would read it alike; else False."""
    rows = parsed.result() if parsed else _pyarrow_rows(piece, dim)
    if rows is None or got.bytes + len(piece) > MAX_UNCOMPRESSED_BYTES:
        return False  # _parse names the fault
    words, vectors = rows
    keep = []
    for i, word in enumerate(words):
        if word in got.seen:
            got.duplicates += 1  # keep the first vector, like every GloVe reader
        else:
            got.seen.add(word)
            keep.append(i)
    out.write(vectors if len(keep) == len(words) else vectors[keep])
    got.words += words if len(keep) == len(words) else [words[i] for i in keep]
    got.lines += len(words)
    got.bytes += len(piece)
    return True


def _pyarrow_rows(piece: bytes, dim: int) -> tuple[list[str], np.ndarray] | None:
    """The words and float32 vectors of `piece` by pyarrow's CSV reader; None where _parse might read otherwise."""
    if (piece.startswith(b"\xef\xbb\xbf")  # pyarrow drops a leading BOM; _parse keeps it in the word
            # pyarrow also ends a line at a lone \r; _parse only at \n.
            or b"\r" in piece and piece.count(b"\r") != piece.count(b"\r\n")
            or not _short_lines(piece)):
        return None
    names = ["word", *map(str, range(dim))]
    # Doubles, then rounded to float32 as _parse rounds Python's floats: the same bits from either parser.
    types = {name: pa.float64() for name in names[1:]} | {"word": pa.string()}
    try:
        table = pacsv.read_csv(
            pa.py_buffer(piece),
            # One thread a chunk: pyarrow's own threads, on top of the chunks' threads, cost more than they give.
            read_options=pacsv.ReadOptions(column_names=names, block_size=PARSE_BLOCK_BYTES, use_threads=False),
            # No quoting or escapes, and no null or NaN spellings: `"`, `null` and `nan` are words like any other.
            # Blank lines are refused, so that every line is a row and rows number the lines.
            parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[], strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )
    except pa.ArrowException:
        return None  # a word with a space, a bad number, invalid UTF-8, a wrong field count: _parse decides
    vectors = np.empty((table.num_rows, dim), dtype=np.float32)
    start = 0
    with np.errstate(over="ignore"):  # a value past float32 becomes inf, refused below
        for batch in table.drop_columns(["word"]).to_batches():
            vectors[start:start + batch.num_rows] = np.asarray(batch.to_tensor(null_to_nan=True, row_major=True))
            start += batch.num_rows
    if not np.isfinite(vectors).all():
        return None  # _parse names the line
    return table.column("word").to_pylist(), vectors


def _short_lines(piece: bytes) -> bool:
    """False if a line of `piece` may reach MAX_LINE_BYTES: such a line covers a newline-free half-window."""
    step = max(1, MAX_LINE_BYTES // 2)
    return all(piece.find(b"\n", i, i + step) >= 0 for i in range(0, len(piece), step))


def _lines(f: IO[bytes], label: str, total: int = 0) -> Iterator[bytes]:
    """Lines of `f`, bounded in length and in total bytes (counted on from `total`) so a bomb stops with an error."""
    for line in iter(lambda: f.readline(MAX_LINE_BYTES), b""):
        total += len(line)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise PoetryRnnError(f"{label} unpacks past the {MAX_UNCOMPRESSED_BYTES}-byte cap; it is not a GloVe file")
        if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise PoetryRnnError(f"{label} has a line over {MAX_LINE_BYTES} bytes; it is not a GloVe text file")
        yield line


def _parse(piece: bytes, label: str, dim: int, out: IO[bytes], got: _Gathered) -> None:
    """Parse whole lines one by one, naming the line of any fault; append float32 rows to `out`, words to `got`."""
    block = np.empty((BLOCK_ROWS, dim), dtype=np.float32)
    filled = 0
    lineno = got.lines
    for lineno, line in enumerate(_lines(io.BytesIO(piece), label, got.bytes), got.lines + 1):
        line = line.rstrip(b"\r\n")
        if not line:
            continue  # a blank line (e.g. at the end) carries nothing
        if not got.words and not got.duplicates:
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
        if word in got.seen:
            got.duplicates += 1  # keep the first vector, like every GloVe reader
            continue
        try:
            with np.errstate(over="ignore"):  # a value past float32 becomes inf, refused below
                block[filled] = parts[1:]
        except ValueError as err:
            raise PoetryRnnError(f"{label} line {lineno}: {err}; the file is damaged, {REPRO} again") from err
        if not np.isfinite(block[filled]).all():
            raise PoetryRnnError(f"{label} line {lineno}: a value is nan or inf; the file is damaged, {REPRO} again")
        got.seen.add(word)
        got.words.append(word)
        filled += 1
        if filled == BLOCK_ROWS:
            out.write(block.tobytes())
            filled = 0
    out.write(block[:filled].tobytes())
    got.lines, got.bytes, got.careful = lineno, got.bytes + len(piece), got.careful + len(piece)


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
    for value in reversed(fields[1:]):  # count numbers from the right; the word may hold spaces
        try:
            float(value)
        except ValueError:
            break
        numeric += 1
    if numeric != dim:
        raise PoetryRnnError(
            f"{label} has {numeric}-dimensional vectors but glove.dim is {dim}; set glove.dim to {numeric}"
        )


def _npy_header(rows: int, dim: int) -> bytes:
    """A .npy (version 1.0) header of a C-order float32 (rows, dim) matrix, NPY_HEADER_BYTES long for any count."""
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    text = text.ljust(NPY_HEADER_BYTES - 10 - 1) + "\n"  # after the magic, version and length: 10 bytes
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")
