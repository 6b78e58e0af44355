"""Read poems from folders, zips, record files (JSON, JSONL, CSV, Parquet), single .txt poems and Project
Gutenberg books: one source or several, each poem keeping its source, title and author."""

from __future__ import annotations

import json
import math
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import yaml

from poetry_rnn.inputs import gutenberg
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.inputs.gutenberg import clean_text, first_line
from poetry_rnn.inputs.tokenize import tokenize

ACCEPTED = (
    "a folder of one-poem .txt files, a .zip of such a folder, a .json list, .jsonl, .csv or .parquet of "
    "{title, author, text} records, or a .txt file (one poem, or a Project Gutenberg book)"
)


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    text: str
    source: str  # file name (or "name.zip:inner/path", "name.jsonl line 3"), for messages
    collection: str = ""  # which entry of poems.source it came from (a short name, see source_names)


@dataclass
class Account:
    """Where the tokens of one source went: its poems' tokens and those skipped, by reason, make body_tokens."""

    body_tokens: int = 0  # a Gutenberg book: between its START and END markers; any other file or record: all its text
    skipped: Counter = field(default_factory=Counter)  # reason -> tokens
    pieces: list[tuple[int, str, str, str]] = field(default_factory=list)  # (tokens, reason, where, first words)

    def skip(self, reason: str, tokens: int, where: str, words: str = "") -> None:
        """Count tokens skipped for reason, remembering where, to name the largest skipped pieces."""
        self.skipped[reason] += tokens
        self.pieces.append((tokens, reason, where, words))

    def largest(self, n: int = 3) -> list[tuple[int, str, str, str]]:
        """The n largest skipped pieces."""
        return sorted(self.pieces, key=lambda piece: -piece[0])[:n]


@dataclass
class Corpus:
    poems: list[Poem]
    stats: dict  # files_read, decoded_latin1, skipped_*, front_matter_not_yaml, duplicates_dropped, skipped_examples
    accounts: dict[str, Account] = field(default_factory=dict)  # per entry of poems.source, by its name


def new_stats() -> dict:
    """The counters read_corpus keeps."""
    return {"files_read": 0, "decoded_latin1": 0, "skipped_empty": 0, "skipped_binary": 0, "skipped_no_text": 0,
            "front_matter_not_yaml": 0, "duplicates_dropped": 0, "skipped_examples": []}


def read_corpus(path: Path, fields: Mapping[str, str] | None = None, drama: str = "keep") -> Corpus:
    """Read every poem under path (folder, .zip, record file or .txt), deduplicated, in a fixed order."""
    return read_sources({"": Path(path)}, fields, drama)


def read_sources(sources: Mapping[str, Path], fields: Mapping[str, str] | None = None, drama: str = "keep") -> Corpus:
    """Read each named source in order into one corpus; exact duplicates are dropped across sources too. drama:
    "keep" or "skip" the scenes of verse plays in Gutenberg books."""
    stats, poems, accounts = new_stats(), [], {}
    for name, path in sources.items():
        accounts[name] = Account()
        read = _read_one(Path(path), dict(fields or {}), stats, accounts[name], drama)
        poems += [replace(p, collection=name) for p in read]
    poems = _drop_duplicates(poems, stats, accounts)
    if not poems:
        where = ", ".join(str(p) for p in sources.values())
        records = f", {stats['skipped_no_text']} records without text" if stats["skipped_no_text"] else ""
        raise PoetryRnnError(
            f"poem corpus {where} yields no poem ({stats['files_read']} files read, {stats['skipped_empty']} empty, "
            f"{stats['skipped_binary']} binary{records}); use {ACCEPTED}"
        )
    return Corpus(poems, stats, accounts)


def source_names(sources: Sequence[str]) -> list[str]:
    """A short, unique name per entry of poems.source (its file or folder name without suffix), for metrics."""
    names = []
    for source in sources:
        stem = PurePosixPath(str(source).rstrip("/").replace("\\", "/")).name.split(".")[0] or "source"
        name, n = stem, 2
        while name in names:
            name, n = f"{stem}-{n}", n + 1
        names.append(name)
    return names


def _read_one(path: Path, fields: dict, stats: dict, account: Account, drama: str) -> list[Poem]:
    """The poems of one source, by its kind; its tokens counted in account."""
    if not path.exists():
        raise PoetryRnnError(f"poem corpus {path} does not exist; point poems.source at {ACCEPTED}")
    suffix = path.suffix.lower()
    if path.is_dir():
        return _read_folder(path, stats, account)
    if suffix == ".zip":
        return _read_zip(path, stats, account)
    if suffix in RECORD_SUFFIXES:
        return _read_records(path, fields, stats, account)
    if suffix == ".txt":
        return _read_txt(path, stats, account, drama)
    raise PoetryRnnError(f"poem corpus {path} has an unsupported type {suffix or '(no suffix)'!r}; use {ACCEPTED}")


# ---- folders and zips: one poem per .txt file ------------------------------------------------


def _is_poem_file(relpath: str) -> bool:
    """True for a .txt file (or zip member) that is a poem: not macOS metadata, hidden files, README or LICENSE."""
    parts = PurePosixPath(relpath).parts
    name = parts[-1]
    if not name.lower().endswith(".txt") or "__MACOSX" in parts or any(p.startswith(".") for p in parts):
        return False
    return not name.upper().startswith(("README", "LICENSE"))


def _read_folder(folder: Path, stats: dict, account: Account) -> list[Poem]:
    """One poem per .txt file below folder, sorted by relative path."""
    files = {f.relative_to(folder).as_posix(): f for f in folder.rglob("*") if f.is_file()}
    poems = []
    for rel in sorted(r for r in files if _is_poem_file(r)):
        poem = _poem_from_bytes(files[rel].read_bytes(), rel, stats, account)
        if poem:
            poems.append(poem)
    return poems


def _read_zip(path: Path, stats: dict, account: Account) -> list[Poem]:
    """One poem per .txt member of the zip, sorted by member name."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if not n.endswith("/") and _is_poem_file(n))
            raws = [(name, archive.read(name)) for name in names]
    except (zipfile.BadZipFile, OSError) as err:
        raise PoetryRnnError(f"poem corpus {path} is not a readable zip ({err}); re-download or re-zip it") from err
    poems = []
    for name, raw in raws:
        poem = _poem_from_bytes(raw, f"{path.name}:{name}", stats, account)
        if poem:
            poems.append(poem)
    return poems


def _poem_from_bytes(raw: bytes, source: str, stats: dict, account: Account) -> Poem | None:
    """The poem in one file (front matter allowed), or None when it is binary (no text, no tokens) or empty."""
    stats["files_read"] += 1
    if b"\0" in raw[:8192]:
        _skip(stats, "skipped_binary", source)
        return None
    return _poem_from_text(decode(raw, stats), source, stats, account)


def _poem_from_text(text: str, source: str, stats: dict, account: Account) -> Poem | None:
    """The poem of one decoded file (front matter allowed), or None when no text is left."""
    meta, body = _split_front_matter(text, stats)
    account.body_tokens += len(tokenize(text))
    if front := len(text) - len(body):  # the front matter ends a line: no token spans it
        account.skip("front_matter", len(tokenize(text[:front])), source)
    body = clean_text(body)
    if not body:
        _skip(stats, "skipped_empty", source)
        return None
    stem = PurePosixPath(source.rsplit(":", 1)[-1]).stem
    return Poem(meta.get("title") or stem, meta.get("author", ""), body, source)


# ---- record files: JSON, JSONL, CSV, Parquet ------------------------------------------------------

RECORD_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")
# Where a record's text may sit when poems.fields does not say: common names in published poem datasets.
TEXT_FIELDS = ("text", "content", "body", "poem", "lines")


def _read_records(path: Path, fields: Mapping[str, str], stats: dict, account: Account) -> list[Poem]:
    """Poems from a record file: title/author/text per record, the text under poems.fields["text"] or a known name;
    records whose text is null or empty are skipped and counted."""
    stats["files_read"] += 1
    names = {"title": fields.get("title", "title"), "author": fields.get("author", "author")}
    text_names = (fields["text"],) if "text" in fields else TEXT_FIELDS
    poems, keys_seen = [], set()
    for where, rec in _records(path, stats):
        if not isinstance(rec, dict):
            raise PoetryRnnError(f"{path} {where} is a JSON {type(rec).__name__}, not a record; "
                                 "each record must be an object with a text field")
        keys_seen.update(rec)
        source = f"{path.name} {where}"
        field = next((name for name in text_names if name in rec), None)
        text = _record_text(rec.get(field) if field else None, path, where, field)
        account.body_tokens += len(tokenize(text))  # a record's body is its text field
        if not text:
            _skip(stats, "skipped_no_text", source)
            continue
        title = _record_value(rec.get(names["title"])) or first_line(text)
        poems.append(Poem(title, _record_value(rec.get(names["author"])), text, source))
    if not poems and stats["skipped_no_text"] and not keys_seen & set(text_names):
        wanted = f"a {text_names[0]!r} field" if "text" in fields else "a text field (" + ", ".join(TEXT_FIELDS) + ")"
        raise PoetryRnnError(
            f"{path}: no record has {wanted}; its fields are {', '.join(sorted(map(str, keys_seen))) or 'none'}: "
            "set poems.fields.text to the one holding the poem (e.g. `dvc exp run -S poems.fields.text=verse`)"
        )
    return poems


def _records(path: Path, stats: dict) -> Iterator[tuple[str, object]]:
    """(where, record) of each record of a .json list, .jsonl lines, a .csv or a .parquet table."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        try:
            table = (pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace")
                     if suffix == ".csv" else pd.read_parquet(path))
        except (ValueError, OSError) as err:  # pandas' and pyarrow's parse errors are ValueErrors
            raise PoetryRnnError(f"{path} is not a readable {suffix[1:].upper()} table ({err}); fix or re-export it") from err
        first_row = 2 if suffix == ".csv" else 1  # CSV: line 1 is the header
        for i, rec in enumerate(table.to_dict("records")):
            yield f"row {i + first_row}", rec
        return
    text = decode(path.read_bytes(), stats)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise PoetryRnnError(f"{path} is not valid JSON (line {err.lineno}: {err.msg}); fix or re-export it") from err
        if not isinstance(data, list):
            raise PoetryRnnError(
                f"{path} holds a JSON {type(data).__name__}; expected a list of {{title, author, text}} records"
            )
        yield from ((f"record {i}", rec) for i, rec in enumerate(data, 1))
        return
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.strip():
            try:
                yield f"line {lineno}", json.loads(line)
            except json.JSONDecodeError as err:
                raise PoetryRnnError(
                    f"{path} line {lineno} is not valid JSON ({err.msg}); each line must be one record"
                ) from err


def _record_text(value: object, path: Path, where: str, field: str | None) -> str:
    """A record's poem text, cleaned: a string, or a list of lines joined; "" when null or empty."""
    if _is_null(value):
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, (list, tuple, np.ndarray)) and all(isinstance(v, str) or _is_null(v) for v in value):
        return clean_text("\n".join("" if _is_null(v) else v for v in value))
    raise PoetryRnnError(f"{path} {where}: the {field!r} field holds a {type(value).__name__}, not text or a list "
                         "of lines; fix the record or point poems.fields.text at another field")


def _record_value(value: object) -> str:
    """A title or author as text; "" when missing or null."""
    return "" if _is_null(value) else str(value).strip()


def _is_null(value: object) -> bool:
    """True for None and NaN (a missing cell of a table)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


# ---- a single .txt: one poem, or a Project Gutenberg book ---------------------------------------

def _read_txt(path: Path, stats: dict, account: Account, drama: str) -> list[Poem]:
    """A Gutenberg book split into poems when it has Gutenberg markers, else a single poem."""
    raw = path.read_bytes()
    stats["files_read"] += 1
    if b"\0" in raw[:8192]:
        _skip(stats, "skipped_binary", path.name)
        return []
    text = decode(raw, stats)
    if gutenberg.is_gutenberg(text):
        reading = gutenberg.read_book(text, path.name, drama)
        account_book(reading, path.name, account)
        return [Poem(title, reading.author, body, f"{path.name}#{i}") for i, (title, body) in enumerate(reading.poems, 1)]
    poem = _poem_from_text(text, path.name, stats, account)
    return [poem] if poem else []


def account_book(reading: gutenberg.Reading, name: str, account: Account) -> None:
    """Count a read book's body and its skipped sections (a kept poem's headings and notes without a place)."""
    account.body_tokens += reading.body_tokens
    for section in reading.sections:
        if section.reason == "poem":  # its headings and notes: counted, but no section to name
            account.skipped.update(section.skipped())
        else:
            account.skip(section.reason, section.tokens, f"{name} lines {section.first}-{section.last}", section.words)


# ---- shared helpers ----------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)


def _split_front_matter(text: str, stats: dict) -> tuple[dict[str, str], str]:
    """The YAML mapping between leading `---` lines (keys lowercased, values as written), and the text after."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        # BaseLoader keeps every value as written: a title "1914" or "Yes" stays text, not a number or a bool.
        meta = yaml.load(match.group(1), Loader=yaml.BaseLoader)
    except yaml.YAMLError:
        # Jekyll-style front matter often has an unquoted colon ("title: Essay on Man: Epistle I"), which YAML
        # refuses; such a block is read as one "key: value" per line, the value taken as written.
        stats["front_matter_not_yaml"] += 1
        meta = dict(line.split(":", 1) for line in match.group(1).split("\n") if ":" in line)
    if not isinstance(meta, dict):
        return {}, text  # "---" lines around something else: part of the poem
    meta = {str(k).strip().lower(): v.strip() for k, v in meta.items() if isinstance(v, str)}
    return meta, text[match.end():]


def decode(raw: bytes, stats: dict) -> str:
    """Text of raw bytes: UTF-8 (BOM stripped), else cp1252, else latin-1; newlines made LF."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        stats["decoded_latin1"] += 1
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:  # cp1252 leaves five bytes undefined; latin-1 maps every byte
            text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _skip(stats: dict, kind: str, source: str) -> None:
    """Count a skipped file under kind, keeping the first five names as examples."""
    stats[kind] += 1
    if len(stats["skipped_examples"]) < 5:
        stats["skipped_examples"].append(source)


def _drop_duplicates(poems: list[Poem], stats: dict, accounts: dict[str, Account]) -> list[Poem]:
    """Poems without exact repeats (same NFKC text, whitespace collapsed); the first one is kept, the others'
    tokens counted as skipped duplicates of their source."""
    seen: set[str] = set()
    kept = []
    for poem in poems:
        key = " ".join(unicodedata.normalize("NFKC", poem.text).split())
        if key in seen:
            stats["duplicates_dropped"] += 1
            accounts[poem.collection].skip("duplicate", len(tokenize(poem.text)), poem.source, first_line(poem.text))
        else:
            seen.add(key)
            kept.append(poem)
    return kept
