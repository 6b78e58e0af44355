"""Read poems from a folder, a zip, JSON/JSONL records, a single .txt poem or a Project Gutenberg book."""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from poetry_rnn.errors import PoetryRnnError

ACCEPTED = (
    "a folder of one-poem .txt files, a .zip of such a folder, a .json list or .jsonl of "
    "{title, author, text} records, or a .txt file (one poem, or a Project Gutenberg book)"
)


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    text: str
    source: str  # file name (or "name.zip:inner/path"), for messages


@dataclass
class Corpus:
    poems: list[Poem]
    stats: dict  # files_read, decoded_latin1, skipped_empty, skipped_binary, duplicates_dropped, skipped_examples


def read_corpus(path: Path) -> Corpus:
    """Read every poem under path (folder, .zip, .json, .jsonl or .txt), deduplicated, in a fixed order."""
    path = Path(path)
    if not path.exists():
        raise PoetryRnnError(f"poem corpus {path} does not exist; point poems.source at {ACCEPTED}")
    stats = {
        "files_read": 0,
        "decoded_latin1": 0,
        "skipped_empty": 0,
        "skipped_binary": 0,
        "duplicates_dropped": 0,
        "skipped_examples": [],
    }
    suffix = path.suffix.lower()
    if path.is_dir():
        poems = _read_folder(path, stats)
    elif suffix == ".zip":
        poems = _read_zip(path, stats)
    elif suffix in (".json", ".jsonl"):
        poems = _read_records(path, stats)
    elif suffix == ".txt":
        poems = _read_txt(path, stats)
    else:
        raise PoetryRnnError(f"poem corpus {path} has an unsupported type {suffix or '(no suffix)'!r}; use {ACCEPTED}")
    poems = _drop_duplicates(poems, stats)
    if not poems:
        raise PoetryRnnError(
            f"poem corpus {path} yields no poem ({stats['files_read']} files read, "
            f"{stats['skipped_empty']} empty, {stats['skipped_binary']} binary); use {ACCEPTED}"
        )
    return Corpus(poems, stats)


# ---- folders and zips: one poem per .txt file ------------------------------------------------


def _is_poem_file(relpath: str) -> bool:
    """True for a .txt file (or zip member) that is a poem: not macOS metadata, hidden files, README or LICENSE."""
    parts = PurePosixPath(relpath).parts
    name = parts[-1]
    if not name.lower().endswith(".txt") or "__MACOSX" in parts or any(p.startswith(".") for p in parts):
        return False
    return not name.upper().startswith(("README", "LICENSE"))


def _read_folder(folder: Path, stats: dict) -> list[Poem]:
    """One poem per .txt file below folder, sorted by relative path."""
    files = {f.relative_to(folder).as_posix(): f for f in folder.rglob("*") if f.is_file()}
    poems = []
    for rel in sorted(r for r in files if _is_poem_file(r)):
        poem = _poem_from_bytes(files[rel].read_bytes(), rel, stats)
        if poem:
            poems.append(poem)
    return poems


def _read_zip(path: Path, stats: dict) -> list[Poem]:
    """One poem per .txt member of the zip, sorted by member name."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if not n.endswith("/") and _is_poem_file(n))
            raws = [(name, archive.read(name)) for name in names]
    except (zipfile.BadZipFile, OSError) as err:
        raise PoetryRnnError(f"poem corpus {path} is not a readable zip ({err}); re-download or re-zip it") from err
    poems = []
    for name, raw in raws:
        poem = _poem_from_bytes(raw, f"{path.name}:{name}", stats)
        if poem:
            poems.append(poem)
    return poems


def _poem_from_bytes(raw: bytes, source: str, stats: dict) -> Poem | None:
    """The poem in one file (front matter allowed), or None when it is binary or empty."""
    stats["files_read"] += 1
    if b"\0" in raw[:8192]:
        _skip(stats, "skipped_binary", source)
        return None
    return _poem_from_text(_decode(raw, stats), source, stats)


def _poem_from_text(text: str, source: str, stats: dict) -> Poem | None:
    """The poem of one decoded file (front matter allowed), or None when no text is left."""
    meta, body = _split_front_matter(text)
    body = _clean(body)
    if not body:
        _skip(stats, "skipped_empty", source)
        return None
    stem = PurePosixPath(source.rsplit(":", 1)[-1]).stem
    return Poem(meta.get("title") or stem, meta.get("author", ""), body, source)


# ---- JSON and JSONL records --------------------------------------------------------------------


def _read_records(path: Path, stats: dict) -> list[Poem]:
    """Poems from a .json list of records or a .jsonl file of one record a line."""
    stats["files_read"] += 1
    text = _decode(path.read_bytes(), stats)
    records: list[tuple[str, object]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise PoetryRnnError(
                f"{path} is not valid JSON (line {err.lineno}: {err.msg}); fix or re-export it"
            ) from err
        if not isinstance(data, list):
            raise PoetryRnnError(
                f"{path} holds a JSON {type(data).__name__}; expected a list of {{title, author, text}} records"
            )
        records = [(f"record {i}", rec) for i, rec in enumerate(data, 1)]
    else:
        for lineno, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                records.append((f"line {lineno}", json.loads(line)))
            except json.JSONDecodeError as err:
                raise PoetryRnnError(
                    f"{path} line {lineno} is not valid JSON ({err.msg}); each line must be one record"
                ) from err
    poems = []
    for where, rec in records:
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
            raise PoetryRnnError(
                f"{path} {where} has no \"text\" string; every record needs one (title and author are optional)"
            )
        source = f"{path.name} {where}"
        text = _clean(rec["text"])
        if not text:
            _skip(stats, "skipped_empty", source)
            continue
        title = str(rec.get("title") or "").strip() or _first_line(text)
        poems.append(Poem(title, str(rec.get("author") or "").strip(), text, source))
    return poems


# ---- a single .txt: one poem, or a Project Gutenberg book ---------------------------------------

_GUTENBERG_START = re.compile(r"^\*\*\*\s*START OF TH(?:IS|E) PROJECT GUTENBERG EBOOK.*$", re.M | re.I)
_GUTENBERG_END = re.compile(r"^\*\*\*\s*END OF TH(?:IS|E) PROJECT GUTENBERG EBOOK", re.M | re.I)
_GUTENBERG_END_LINE = re.compile(r"^End of (?:the )?Project Gutenberg", re.M | re.I)  # just above the END marker
_AUTHOR = re.compile(r"^Author:[ \t]*(\S.*?)[ \t]*$", re.M)
_POEM_HEADING = re.compile(r"^[IVXLCDM]+\.$")  # "XIV." alone on a line
_SECTION_HEADING = re.compile(r"^[IVXLCDM]+\.\s+[^a-z]*[A-Z][^a-z]*$")  # "I. LIFE."
# Lines that open a volume's front matter; what follows is skipped up to the next heading.
_BOOK_MATTER = re.compile(
    r"^(?:POEMS|PREFACE|CONTENTS|INTRODUCTION|TRANSCRIBER'S NOTE|(?:FIRST|SECOND|THIRD|FOURTH|FIFTH) SERIES)\.?$", re.I
)
_EDITORIAL_NOTE = re.compile(r"^[ \t]*\[[^\]]*\][ \t]*(?:\n|$)", re.M)  # "[Published in ...]", maybe several lines
_ORNAMENT = re.compile(r"^[ \t*]+$", re.M)  # "*  *  *" between stanzas


def _read_txt(path: Path, stats: dict) -> list[Poem]:
    """A Gutenberg book split into poems when it has Gutenberg markers, else a single poem."""
    raw = path.read_bytes()
    stats["files_read"] += 1
    if b"\0" in raw[:8192]:
        _skip(stats, "skipped_binary", path.name)
        return []
    text = _decode(raw, stats)
    if _GUTENBERG_START.search(text) or _GUTENBERG_END.search(text):
        return _split_gutenberg(text, path, stats)
    poem = _poem_from_text(text, path.name, stats)
    return [poem] if poem else []


def _split_gutenberg(text: str, path: Path, stats: dict) -> list[Poem]:
    """The poems of a Gutenberg book: headed by a Roman numeral alone on a line, under section headings."""
    start = _GUTENBERG_START.search(text)
    header, body = (text[: start.start()], text[start.end():]) if start else ("", text)
    author_match = _AUTHOR.search(header or text)
    author = author_match.group(1) if author_match else ""
    for cut in (_GUTENBERG_END, _GUTENBERG_END_LINE):
        if end := cut.search(body):
            body = body[: end.start()]
    blocks: list[list[str]] = []
    current: list[str] | None = None  # None: in front matter (preface, notes, series title), not in a poem
    for line in body.split("\n"):
        heading = line.strip()
        if _POEM_HEADING.match(heading):
            if current is not None and _only_title(current):
                continue  # "IV. / FORBIDDEN FRUIT. / I.": a part number inside a titled poem
            current = []
            blocks.append(current)
        elif _SECTION_HEADING.match(heading) or _BOOK_MATTER.match(heading):
            current = None
        elif current is not None:
            current.append(line)
    if not blocks:
        raise PoetryRnnError(
            f"Gutenberg book {path} has no poem headings (a Roman numeral alone on a line, like 'XIV.'); "
            "this reader splits books on those, so give the poems as a folder or .jsonl instead"
        )
    poems = []
    for number, lines in enumerate(blocks, 1):
        poem = _book_poem(lines, author, f"{path.name}#{number}")
        if poem:
            poems.append(poem)
        else:
            _skip(stats, "skipped_empty", f"{path.name}#{number}")
    return poems


def _is_caps_title(line: str) -> bool:
    """True for an ALL-CAPS title line like "ROUGE ET NOIR." (two letters at least, none lowercase)."""
    return sum(c.isalpha() for c in line) >= 2 and not any(c.islower() for c in line)


def _only_title(lines: list[str]) -> bool:
    """True when a poem's lines so far are just its ALL-CAPS title."""
    text = [line.strip() for line in lines if line.strip()]
    return len(text) == 1 and _is_caps_title(text[0])


def _book_poem(lines: list[str], author: str, source: str) -> Poem | None:
    """One poem of a book: an ALL-CAPS first line is its title; editorial notes and ornaments dropped."""
    text = _clean("\n".join(lines))
    first = _first_line(text)
    title = ""
    if _is_caps_title(first):
        title = first.rstrip(".")
        text = text.split("\n", 1)[1] if "\n" in text else ""
    text = _clean(_ORNAMENT.sub("", _EDITORIAL_NOTE.sub("", text)))
    if not text:
        return None
    return Poem(title or _first_line(text), author, text, source)


# ---- shared helpers ----------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*(?:\n|\Z)", re.S | re.M)


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The `key: value` lines between leading `---` lines (keys lowercased), and the text after them."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = {}
    for line in match.group(1).split("\n"):
        key, sep, value = line.partition(":")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]  # YAML-style quoted value
        if sep:
            meta[key.strip().lower()] = value
    return meta, text[match.end():]


def _decode(raw: bytes, stats: dict) -> str:
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


def _clean(text: str) -> str:
    """Text with trailing spaces, common indentation and outer blank lines removed, blank runs made one."""
    lines = [line.rstrip() for line in text.split("\n")]
    text = textwrap.dedent("\n".join(lines)).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def _first_line(text: str) -> str:
    """The first non-blank line of text, stripped."""
    return next((line.strip() for line in text.split("\n") if line.strip()), "")


def _skip(stats: dict, kind: str, source: str) -> None:
    """Count a skipped file under kind, keeping the first five names as examples."""
    stats[kind] += 1
    if len(stats["skipped_examples"]) < 5:
        stats["skipped_examples"].append(source)


def _drop_duplicates(poems: list[Poem], stats: dict) -> list[Poem]:
    """Poems without exact repeats (same NFKC text, whitespace collapsed); the first one is kept."""
    seen: set[str] = set()
    kept = []
    for poem in poems:
        key = " ".join(unicodedata.normalize("NFKC", poem.text).split())
        if key in seen:
            stats["duplicates_dropped"] += 1
        else:
            seen.add(key)
            kept.append(poem)
    return kept
