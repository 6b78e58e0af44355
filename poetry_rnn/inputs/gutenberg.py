"""Find the poems of a Project Gutenberg poetry book, whatever its layout.

A Gutenberg poetry book is its licence header and footer around front matter (title pages, dedications,
prefaces and prose introductions, contents lists), the poems under the book's own headings, and often notes
or an index at the end. No per-book setting: the reader measures the book first (poetry_rnn/inputs/layout.py:
the width its prose is wrapped at, the blank lines it sets between stanzas and before titles, how it indents
titles and verse) and reads every paragraph against the book's own figures:

* the text between the START and END markers is cut into paragraphs (runs of non-blank lines); a paragraph
  that is only editorial ("[Illustration]", "<Greek poem here>") or an ornament ("* * *") is dropped, and a line
  that is only a numeral inside a paragraph ("XII.", a section's "12") is cut out as its own;
* headings: Roman or Arabic numerals, part markers ("PART THE FIRST", "BOOK I"), ALL-CAPS lines, words such as
  CONTENTS or PREFACE; names of the contents list (even run into the verse); and any line standing alone as far
  from the text above as the book sets its titles, in whatever case ("The world is too much with us");
* a heading the book sets as part of a poem stays inside it as a label, left out of its text: one no further
  from the text above than a stanza, in a book that sets its titles further apart ("BRIDE", an inset "SONG."),
  or a short line repeated again and again at the verse's indent where titles are indented otherwise
  ("Recitativo", "Air");
* consecutive headings make one group; the text up to the next group is one poem when it holds verse, titled by
  the group's last title after its first number, else by its part marker ("BOOK I"), else by its first line. A
  poem in numbered parts set closer than the book's titles is one poem per part, each carrying the poem's title
  ("A PORTRAIT, II");
* a paragraph is prose when its lines fill their measure and go on in lowercase mid-sentence (layout.is_prose);
  the prose of a poem's section (a headnote, a footnote between stanzas) is left out as notes and its verse kept,
  unless the prose is the larger part and has the last word (an essay quoting verse). A signed quotation before
  the verse is an epigraph, and a single line between the heading and the first stanza a subtitle (a dedication,
  a tune); line numbers at the right margin and footnote marks never reach a poem's text;
* skipped, each counted under its reason: text before the first heading (producer credits), title pages,
  contents and index lists, prefaces, notes, glossaries, epigraphs, lists, prose, and lines that repeat a longer
  poem a line or two at a time (picture captions). After a preface, notes or contents, sections are skipped until
  one headed in the style of most of the book's poems or a long poem, so a signature or an epigraph under the
  preface is no poem. A notes or index heading after which the book is mostly prose ends the book;
* verse plays (acts, scenes, speeches under speakers' names) are kept, one poem per scene without the
  speakers' names and prose stage directions, or skipped (drama "skip").

read_book says how every line of the body was read: each section's line range, verdict, title and tokens,
so that the tokens kept in poems and those skipped, by reason, add up to the body's tokens. A book that is
mostly prose keeps its poems; only a book in which no verse is found is refused, with a PoetryRnnError.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.inputs.layout import Layout, clean_line, indent, is_prose, measure, unwrap
from poetry_rnn.inputs.tokenize import tokenize

__all__ = ["Reading", "Section", "clean_text", "first_line", "is_caps_title", "is_gutenberg", "read_book", "split_book"]

START = re.compile(r"^\*\*\*\s*START OF TH(?:IS|E) PROJECT GUTENBERG EBOOK.*$", re.M | re.I)
END = re.compile(r"^\*\*\*\s*END OF TH(?:IS|E) PROJECT GUTENBERG EBOOK", re.M | re.I)
END_LINE = re.compile(r"^End of (?:the )?Project Gutenberg", re.M | re.I)  # just above the END marker
AUTHOR = re.compile(r"^Author:[ \t]*(\S.*?)[ \t]*$", re.M)
EDITORIAL_NOTE = re.compile(r"^[ \t]*\[[^\]]*\][ \t]*(?:\n|$)", re.M)  # "[Published in ...]", maybe several lines
_PLACEHOLDER = re.compile(r"^[ \t]*<[^<>\n]*>[ \t]*$", re.M)  # "<Greek here>" on a line of its own
ORNAMENT = re.compile(r"^[ \t*]+$", re.M)  # "*  *  *" between stanzas

REFUSAL_ADVICE = "give the poems as a folder of .txt files or a .jsonl of {title, author, text} records instead"

# ---- shared text helpers (corpus.py uses these too) --------------------------------------------


def clean_text(text: str) -> str:
    """Text with trailing spaces, common indentation and outer blank lines removed, blank runs made one."""
    lines = [line.rstrip() for line in text.split("\n")]
    text = textwrap.dedent("\n".join(lines)).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def first_line(text: str) -> str:
    """The first non-blank line of text, stripped."""
    return next((line.strip() for line in text.split("\n") if line.strip()), "")


def is_caps_title(line: str) -> bool:
    """True for an ALL-CAPS title line like "ROUGE ET NOIR." (two letters at least, none lowercase)."""
    return line.upper() == line and sum(c.isalpha() for c in line) >= 2


def is_gutenberg(text: str) -> bool:
    """True when text carries a Project Gutenberg START or END marker ("THIS" or "THE" wording)."""
    return bool(START.search(text) or END.search(text))


# ---- line kinds ----------------------------------------------------------------------------------

_ROMAN = r"M{0,4}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_NUMERAL = re.compile(rf"^[\[(]?(?=[IVXLCDM\d])(?:{_ROMAN}|\d{{1,4}})[.)\]]?$")  # "XIV.", "XIV", "12."
_NUMBERED_TITLE = re.compile(rf"^(?:(?=[IVXLCDM])(?:{_ROMAN})|\d{{1,4}})(?:[.\s]|$)")  # "XIV", "I. LIFE.", "12 Song"
_INLINE_NUMERAL = re.compile(rf"^(?=[IVXLCDM])(?:{_ROMAN})\.?$|^\d{{1,3}}\.?$")  # "XII." run into a poem
_ORDINAL = r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|last"
_PART = re.compile(
    rf"^(?:part|book|canto|section|act|scene|flight|fytte|fit|duan|chapter)\s+"
    rf"(?:the\s+)?(?:[ivxlcdm]+|\d+|{_ORDINAL})\.?$|^(?:{_ORDINAL})\s+(?:part|book|canto|series)\.?$",
    re.I,
)
# Headings of sections that are never poems; the section they open is skipped up to the next heading.
_MATTER = re.compile(
    r"^(?:(?:table of )?contents|index(?: of .*)?|(?:general |alphabetical )?index|notes?(?: (?:to|on) .*)?"
    r"|footnotes|glossary|vocabulary|transcriber'?s? notes?|errata|(?:list|table) of .*|illustrations"
    r"|appendix(?: .*)?|bibliography|advertisements?|(?:publisher|editor|author)'?s'? (?:note|preface)"
    r"|preface(?: to .*)?|prefatory note|foreword|biographical (?:note|sketch)|memoir|chronology"
    r"|dramatis person(?:ae|æ)|persons of the drama|characters|the end|finis)$",
    re.I,
)
# Headings that open prose in most books but a poem in some (Hiawatha's Introduction is verse).
_MAYBE_MATTER = re.compile(r"^(?:introduction|introductory(?: note)?|dedication|prologue|proem|to the reader)$", re.I)
_TAIL_MATTER = re.compile(r"^(?:notes?|footnotes|index|glossary|appendix|vocabulary)\b", re.I)
# Title-page credits: "By Robert Frost", "Edited by two of her friends", "Produced by David Reed".
_CREDIT = re.compile(
    r"^(?:[Bb][Yy]\s+(?:[A-Z][\w.'’-]*,?\s*)+$"
    r"|(?i:edited|translated|illustrated|introduction|introduced|selected|arranged|compiled|prepared|produced"
    r"|transcribed|with an? \w+)\b.*\b(?i:by)\b)"
)
_SUBTITLE = re.compile(r"^(?:by|from|or|after|translated|written|tune)\b|^\(|^[A-Z][a-z]*\.? \d{1,2}, \d{4}|^\d{4}$", re.I)
_SMALL_WORDS = frozenset(
    "a an the and or nor but of in on at to for by with from as into upon over under o de la le du des del "
    "di da von van der den y e et is".split()
)
_TERMINAL = tuple(".!?\"'”’)—-:;")


@lru_cache(maxsize=65536)
def _norm(line: str) -> str:
    """A heading line without outer punctuation, for matching heading words ("CONTENTS." -> "contents")."""
    return re.sub(r"\s+", " ", line.strip().strip(".:;,-—*_ ")).strip()


def _is_numeral(line: str) -> bool:
    return bool(_NUMERAL.match(line)) or bool(_PART.match(_norm(line)))


def _is_title_case(line: str) -> bool:
    """True for a short Title Case line ("The Death of the Hired Man", "Hod Putt", "Petit, the Poet")."""
    if len(line) > 70 or line.endswith((",", ";", ":", "-")):
        return False
    words = re.findall(r"[^\W\d_][^\s]*", line)
    if not words or len(words) > 10 or not words[0][0].isupper():
        return False
    return all(w[0].isupper() or w.strip("\"'“‘(").lower() in _SMALL_WORDS for w in words)


def _heading_line(line: str) -> bool:
    """True for a line that is a heading wherever it stands alone: numeral, part marker, ALL CAPS, matter."""
    if _NUMERAL.match(line) or (len(line) <= 90 and is_caps_title(line)):
        return True
    if len(line) > 60:
        return False
    norm = _norm(line)
    return bool(_PART.match(norm) or _MATTER.match(norm) or _MAYBE_MATTER.match(norm))


def _key(line: str) -> frozenset[str]:
    """The words of a title or name, lowercased, as a set ("Hill, The" and "The Hill" match)."""
    line = re.sub(r"^\s*(?:[IVXLCDM]+|\d+)[.)]?\s+(?=\S)", "", line)  # "XIV.  Picture-Writing"
    line = re.sub(r"\([^)]*\)", " ", line)  # "(Author of the Spooniad)"
    line = re.sub(r"(?:\s*\.){2,}\s*\d*$|\s{2,}\d+$", "", line)  # dot leaders, page numbers
    return frozenset(re.findall(r"[^\W_]+", line.lower().replace("'", "").replace("’", "")))


# ---- paragraphs ---------------------------------------------------------------------------------


@dataclass
class _Para:
    lines: list[str]  # the paragraph's lines, trailing spaces removed
    gap: int  # blank lines before it
    gap_after: int = 0
    kind: str = "text"  # "text", "heading" or "label" (a speaker's name or a part's title inside a poem)
    in_contents: bool = False
    after_ornament: bool = False  # an ornament ("* * *") stood before it
    run_in: bool = False  # a contents name cut out of the paragraph it opened or closed
    shape: str | None = None  # "prose", "list" or "verse", once _shape has looked
    start: int = 0  # index of its first line in the body

    @cached_property
    def stripped(self) -> list[str]:
        return [line.strip() for line in self.lines]


_ORNAMENT_PARA = re.compile(r"[\s*~=_.·•-]*")  # "* * * * *", "-----"


def _paragraphs(body: str) -> list[_Para]:
    """The paragraphs of body, editorial notes and ornaments dropped (their blank lines kept)."""
    paras: list[_Para] = []
    gap, current = 0, []
    for i, line in enumerate(body.split("\n") + [""]):
        if line.strip():
            current.append(line.rstrip())
            continue
        if current:
            paras.append(_Para(current, gap, start=i - len(current)))
            current, gap = [], 0
        gap += 1
    kept: list[_Para] = []
    carry, ornament = 0, False
    for para in paras:
        text = "\n".join(para.stripped)
        editorial = (text.startswith("[") and text.endswith("]")) or (
            len(para.lines) == 1 and text.startswith("<") and text.endswith(">")
        )
        if editorial or _ORNAMENT_PARA.fullmatch(text):
            carry = max(carry, para.gap)
            ornament = ornament or not editorial
            continue
        para.gap, para.after_ornament = max(para.gap, carry), ornament
        carry, ornament = 0, False
        kept.append(para)
    for para, nxt in zip(kept, kept[1:] + [None]):
        para.gap_after = nxt.gap if nxt else 99
    return kept


# ---- contents lists -------------------------------------------------------------------------------

_CONTENTS = re.compile(r"^(?:(?:table of )?contents|index of (?:first lines|titles|poems)|index)$", re.I)


@dataclass
class _Contents:
    keys: set[frozenset[str]] = field(default_factory=set)
    by_word: dict[str, list[frozenset[str]]] = field(default_factory=dict)

    def add(self, line: str) -> None:
        key = _key(line)
        if key and key not in self.keys:
            self.keys.add(key)
            for word in key:
                self.by_word.setdefault(word, []).append(key)

    def match(self, line: str, fuzzy: bool = True) -> bool:
        """True when line names a contents entry: the same words, or all but one each side (typos)."""
        key = _key(line)
        if not key:
            return False
        if key in self.keys:
            return True
        if not fuzzy or len(key) < 2:
            return False
        for word in key:
            for entry in self.by_word.get(word, ()):
                if len(entry) >= 2 and len(key & entry) >= 2 and len(key ^ entry) <= 2:
                    return True
        return False

    def names(self, line: str) -> bool:
        """True when line is a contents entry, or part of one ("SONG" of "Song: Hark! Hark!")."""
        key = _key(line)
        if not key or self.match(line):
            return bool(key)
        first = next(iter(key))
        return any(key <= entry and len(entry) - len(key) <= 3 for entry in self.by_word.get(first, ()))


def _contents(paras: list[_Para], layout: Layout) -> _Contents:
    """Entries of every contents or index list: the paragraphs after its heading up to a gap as wide as a
    title's."""
    contents = _Contents()
    i = 0
    while i < len(paras):
        para = paras[i]
        if _CONTENTS.match(_norm(para.lines[0])):
            if len(para.lines) > 1:  # "CONTENTS." run into its first entries
                paras[i : i + 1] = [_Para(para.lines[:1], para.gap, 0, start=para.start),
                                    _Para(para.lines[1:], 0, para.gap_after, start=para.start + 1)]
            j = i + 1
            while j < len(paras) and (j == i + 1 or paras[j].gap < max(2, layout.title_gap)):
                paras[j].in_contents = True
                for line in paras[j].stripped:
                    contents.add(line)
                j += 1
            i = j
        else:
            i += 1
    return contents


# ---- finding headings -------------------------------------------------------------------------------


def _mark_headings(paras: list[_Para], contents: _Contents, layout: Layout) -> list[_Para]:
    """paras with their kind set: headings, labels inside a poem, text; text lines that are contents names heading
    a poem become paragraphs."""
    # Which case do the contents entries take in the body? Title Case names head poems only where
    # they match more contents entries than the ALL-CAPS lines do.
    caps_hits = title_hits = 0
    if contents.keys:
        for para in paras:
            if len(para.lines) == 1 and not para.in_contents and contents.match(para.lines[0].strip()):
                if is_caps_title(para.lines[0]):
                    caps_hits += 1
                elif _is_title_case(para.lines[0].strip()):
                    title_hits += 1
    titled_contents = title_hits >= 3 and title_hits >= caps_hits
    labels = _labels(paras, layout)

    out: list[_Para] = []
    for para in _split_on_numerals(paras):
        lines = para.stripped
        if para.in_contents:
            out.append(para)
            continue
        run_in = len(lines) > 1 and para.gap >= 2 and len(lines[0]) <= 90 and not lines[0].endswith(".")
        if run_in and is_caps_title(lines[0]) and not is_caps_title(lines[1]):  # "THE NORMAN BARON" + its text
            out.append(_Para(para.lines[:1], para.gap, 0, kind="heading", start=para.start))
            para = _Para(para.lines[1:], 0, para.gap_after, start=para.start + 1)
            lines = para.stripped
        credit = bool(out) and re.search(r"\bby$", out[-1].stripped[-1], re.I)  # "Edited by" / "NAME"
        signature = lines[0].startswith(("--", "—"))  # "---JT" under a note
        if credit or signature:
            out.append(para)
            continue
        above = out[-1] if out else None
        if len(lines) == 1 and above and above.kind == "label" and _SUBTITLE.match(lines[0]):
            para.kind = "label"  # the "Tune--" under an "Air"
        elif len(lines) <= 4 and all(_heading_line(line) for line in lines):
            para.kind = "heading"
        elif len(lines) == 1 and not _CREDIT.match(lines[0]):
            # A line standing alone as far from the text above as the book sets its titles is one, in any case
            # ("The Men that fought at Minden", "To A Mountain Daisy,").
            spaced = para.gap >= layout.title_gap > layout.stanza_gap and para.gap > para.gap_after
            named = titled_contents and _is_title_case(lines[0]) and contents.match(lines[0])
            numbered = (above is not None and above.kind == "heading" and _numbered(above) and para.gap <= 2
                        and _is_title_case(lines[0]))  # "II" / "The Four Winds"
            if spaced or named or numbered:
                para.kind = "heading"
        elif titled_contents and len(lines) > 1:
            out.extend(_split_on_names(para, contents))
            continue
        if para.kind == "heading" and above is not None and _inside(para, above, layout, labels):
            para.kind = "label"
        out.append(para)
    return out


def _inside(para: _Para, above: _Para, layout: Layout, labels: set[str]) -> bool:
    """True for a heading that the book sets as part of a poem, not as a poem's title: a speaker's name, a song's
    or a part's title ("BRIDE", "SONG."), set no further from the text above than a stanza in a book that sets its
    titles further apart, or one of the book's labels ("Recitativo", "Air"). A heading that opens with a number ("II",
    "I. LIFE.", "BOOK I"), a heading of front or back matter, a contents name run into the text or a heading after
    an ornament still cuts."""
    close = above.kind == "text" and para.gap <= layout.stanza_gap < layout.title_gap
    label = above.kind in ("text", "label") and para.stripped[0] in labels
    return ((close or label) and not para.after_ornament and not para.run_in and not _numbered(para)
            and not _NUMBERED_TITLE.match(para.stripped[0]) and not _MATTER.match(_norm(para.stripped[0])))


def _labels(paras: list[_Para], layout: Layout) -> set[str]:
    """A book's labels for the parts of a poem ("Recitativo", "Air", "Chorus", a dialogue's speakers): short lines
    standing alone again and again, indented like its verse where it indents its titles otherwise."""
    if layout.title_indent is None or layout.title_indent == layout.verse_indent:
        return set()
    alone = Counter(para.stripped[0] for para in paras if len(para.lines) == 1 and not para.in_contents
                    and indent(para.lines[0]) == layout.verse_indent and len(para.stripped[0].split()) <= 3)
    return {line for line, n in alone.items() if n >= _LABEL_REPEATS}


_LABEL_REPEATS = 3  # times a line stands alone before it is a label, not a title


def _split_on_numerals(paras: list[_Para]) -> list[_Para]:
    """paras with each line that is only a numeral ("XII.", "12", "3.") in a paragraph of several lines cut out as a
    paragraph of its own: a poem's or a section's number run into the verse above or below it, not a line of it."""
    out: list[_Para] = []
    for para in paras:
        lines = para.stripped
        cuts = {i for i, line in enumerate(lines) if _INLINE_NUMERAL.match(line)} if len(lines) > 1 else set()
        if para.in_contents or not cuts:
            out.append(para)
            continue
        bounds = sorted({0, len(lines)} | cuts | {i + 1 for i in cuts})
        for lo, hi in zip(bounds, bounds[1:]):
            out.append(_Para(para.lines[lo:hi], para.gap if lo == 0 else 0, start=para.start + lo))
    for para, nxt in zip(out, out[1:] + [None]):
        para.gap_after = nxt.gap if nxt else 99
    return out


def _split_on_names(para: _Para, contents: _Contents) -> list[_Para]:
    """A text paragraph cut where one of its lines is exactly a contents name ending the verse above it."""
    pieces: list[_Para] = []
    start = 0
    lines = para.stripped
    for i, line in enumerate(lines):
        after_stop = i == 0 or lines[i - 1].endswith(_TERMINAL)
        if after_stop and _is_title_case(line) and not line.endswith(",") and _key(line) in contents.keys:
            if i > start:
                pieces.append(_Para(para.lines[start:i], para.gap if start == 0 else 0, start=para.start + start))
            pieces.append(_Para([para.lines[i]], para.gap if i == 0 else 0, kind="heading", start=para.start + i,
                                run_in=True))
            start = i + 1
    if not pieces:
        return [para]
    if start < len(lines):
        pieces.append(_Para(para.lines[start:], 0, start=para.start + start))
    return pieces


# ---- judging a section's text ------------------------------------------------------------------------


# "PRINCE HENRY." or "MANAHEM, rushing out." over a speech
_SPEAKER = re.compile(r"^[A-Z][A-Z .,'’-]*[A-Z](?:[.:]?|,\s+[a-z][^.]*\.)(?:\s*\([^)]*\)[.:]?)?$")
_INLINE_SPEAKER = re.compile(r"^[A-Z][a-z]+(?: [A-Z][a-z]*\.?)?(?: \([^)]*\))?\.\s{2,}\S")  # "Don C.  What ..."
_ATTRIBUTION = re.compile(r"(?:--|—)\s*[A-Z][A-Z'’.]+(?:[ ,]|$)")  # "-- DANTE, Par. xiii."
_SIGNED = re.compile(r"(?:--|—)\s*[A-Z][\w'’.]*(?:[ ,]+[A-Z][\w'’.]*){0,3}\.?$")  # "...to pray."--Pope.
# A title page's imprint: its publisher, press, copyright or edition.
_IMPRINT = re.compile(r"\b(?:publishers?|press|printed|copyright|entered according to act|all rights reserved)\b",
                      re.I)
_LOWER = re.compile(r"[^\W\d_A-Z]")  # a lowercase letter (any script); _UPPER below: any other letter
_UPPER = re.compile(r"[A-Z\u00c0-\u00de]")
_LIST_ENTRY = re.compile(r"^(?:[IVXLCDM]+|\d+)\.?\s{2,}\S|(?:\.\s*){3,}\d*$|\s{2,}\d+$")
_DRAMA = re.compile(r"^(?:act|scene)\b", re.I)
_SPEAKER_PREFIX = re.compile(r"^\s*[A-Z][a-z]+(?: [A-Z][a-z]*\.?)?(?: \([^)]*\))?\.\s{2,}(?=\S)")  # "  Prec.  How"
_DIRECTION = re.compile(r"^\s*\([^()]*\)\s*$")  # "(BARTOLOME rushes in.)" on a line of its own


def _speeches(paras: list[list[str]]) -> int:
    """How many paragraphs open with a speaker's name, as the speeches of a play do."""
    count = 0
    for lines in paras:
        head = lines[0].strip()
        label = len(lines) > 1 and len(head) <= 50 and _SPEAKER.match(head) and not is_caps_title(lines[1])
        if label or _INLINE_SPEAKER.match(head):
            count += 1
    return count


def _has_verse(lines: list[str]) -> bool:
    """True when a line reads as verse: mostly lowercase letters, not a credit like "By Robert Frost"."""
    for line in lines:
        lower = len(_LOWER.findall(line))
        if lower and lower >= len(_UPPER.findall(line)) and not _CREDIT.match(line):
            return True
    return False


def _is_list(lines: list[str]) -> bool:
    """True for a contents-like list: numbered entries, page numbers, or Title Case names one a line."""
    if len(lines) < 3:
        return False
    misses = 0
    for line in lines:
        entry = _LIST_ENTRY.search(line) or (_is_title_case(line) and not line.endswith(_TERMINAL[:3]))
        misses += not entry
        if misses > 0.3 * len(lines):
            return False
    return True


def _shape(para: _Para) -> str:
    """The shape of a text paragraph, "prose", "list" or "verse", as read_book judged it against the book's layout."""
    assert para.shape is not None, "read_book sets every text paragraph's shape"
    return para.shape


def _judge_shapes(paras: list[_Para], layout: Layout) -> None:
    """Set the shape of each text paragraph: prose against the book's own layout, else a list, else verse."""
    for para in paras:
        if para.kind in ("text", "label"):
            lines = unwrap([clean_line(line) for line in para.lines])
            para.shape = "prose" if is_prose(para.lines, layout) else "list" if _is_list(
                [line.strip() for line in lines]) else "verse"


@dataclass
class _Section:
    group: list[_Para]  # the heading paragraphs
    body: list[_Para]  # the text paragraphs up to the next heading


def _judge(section: _Section) -> tuple[str, list[list[str]], dict[str, list[_Para]]]:
    """("poem", its verse paragraphs, the paragraphs left out of it by reason) or (why it is not a poem, [], {}). A
    section that holds verse is a poem, its prose (a headnote, a footnote between stanzas) left out as notes,
    unless the prose is the larger part and has the last word (verse quoted in an essay) or the heading opens an
    introduction. A signed quotation before the verse is an epigraph, and a line standing alone between the
    heading and the first stanza a subtitle (a dedication, a date, a tune)."""
    heads = [line for para in section.group for line in para.stripped]
    if any(_MATTER.match(_norm(h)) for h in heads):
        return "front or back matter", [], {}
    paras = [para for para in section.body if para.kind == "text"]
    credited = False
    while paras and len(paras[0].lines) == 1 and _CREDIT.match(paras[0].stripped[0]):  # "By Robert Frost"
        by = re.search(r"\bby$", paras[0].stripped[0], re.I)
        credited = True
        paras = paras[2:] if by and len(paras) > 1 and len(paras[1].lines) == 1 else paras[1:]  # "Edited by" / NAME
    if not paras:
        return "empty", [], {}
    kinds = [_shape(para) for para in paras]
    if "list" in kinds:
        return "a list", [], {}
    verse = [para for para, kind in zip(paras, kinds) if kind == "verse"]
    prose_lines = sum(len(para.lines) for para, kind in zip(paras, kinds) if kind == "prose")
    if not verse:
        return "prose", [], {}
    if prose_lines and any(_MAYBE_MATTER.match(_norm(h)) for h in heads):
        return "prose introduction", [], {}
    if prose_lines > sum(len(para.lines) for para in verse) and kinds[-1] == "prose":
        return "verse quoted in prose", [], {}  # an essay quoting verse, not a headnote over a short poem
    if not _has_verse([line for para in verse for line in para.stripped]):
        return "no verse", [], {}
    epigraphs = list(itertools.takewhile(_is_epigraph, verse))
    if len(epigraphs) == len(verse):
        return "epigraphs", [], {}  # "Michel, piu che mortal, Angel divino. -- ARIOSTO."
    verse = verse[len(epigraphs) :]
    # A line standing alone over the first stanza that does not run on into it ("Tune--...", "A Song of Instruction")
    alone = len(verse) > 1 and len(verse[0].lines) == 1 < len(verse[1].lines)
    subtitles = verse[:1] if alone and not verse[0].stripped[0].endswith((",", ";", ":", "-")) else []
    imprint = any(_IMPRINT.search(line) for line in heads + [line for para in verse for line in para.stripped])
    if all(len(para.lines) == 1 for para in verse) or (imprint and sum(len(para.lines) for para in verse) <= 6):
        numbered = any(_numbered(para) for para in section.group if para.kind == "heading")
        if credited or imprint or any(_CREDIT.match(para.stripped[0]) for para in verse) or (
                not numbered and len(verse) <= 3):
            return "title page", [], {}
    kept = [para.lines for para in verse[len(subtitles) :]]
    return "poem", kept, {"headings": subtitles, "epigraphs": epigraphs}


def _is_epigraph(para: _Para) -> bool:
    """True for a short quotation signed by its author ("...weak and weary.--Pope.", "-- DANTE, Par. xiii.")."""
    return len(para.lines) <= 6 and (bool(_SIGNED.search(para.stripped[-1]))
                                     or any(_ATTRIBUTION.search(line) for line in para.stripped))


def _numbered(para: _Para) -> bool:
    """True for a heading paragraph that numbers a poem or part ("XIV.", "PART THE FIRST")."""
    return all(_is_numeral(line) for line in para.stripped)


def _style(section: _Section) -> str:
    """How a section is headed: "numeral" (a number or part marker), "caps" (ALL CAPS title) or "title"."""
    heads = [para for para in section.group if para.kind == "heading"]
    if any(_numbered(para) for para in heads):
        return "numeral"
    return "caps" if heads and is_caps_title(heads[-1].stripped[0]) else "title"


def _title(section: _Section, contents: _Contents) -> str:
    """The poem's own title among its headings: after the first number, skipping credits and subtitles."""
    heads = [para for para in section.group if para.kind == "heading"]
    numbered = [i for i, para in enumerate(heads) if _numbered(para)]
    if numbered:
        heads = heads[numbered[0] + 1 :]
    lines = [
        para.stripped[0]
        for para in heads
        if not _numbered(para) and not _is_numeral(para.stripped[0]) and not _MATTER.match(_norm(para.stripped[0]))
    ]
    candidates = [line for i, line in enumerate(lines) if i == 0 or not _SUBTITLE.match(line)]
    if not candidates:
        return ""
    title = candidates[-1]
    subtitle = contents.keys and len(lines) > 1 and lines[-1] == title and not contents.names(title)
    if subtitle and contents.match(lines[-2]) and lines[-2] in candidates:
        title = lines[-2]  # "THE FIRE OF DRIFT-WOOD" over its place line "DEVEREUX FARM, NEAR MARBLEHEAD"
    return re.sub(r"\s+", " ", clean_line(title)).rstrip(".,").strip()


def _is_part(section: _Section, layout: Layout) -> bool:
    """True for a section headed by a number set closer to the text above than the book sets its titles: a part of
    the poem above it ("II" under "A PORTRAIT"), not a poem of its own."""
    head = section.group[0] if section.group else None
    return head is not None and _numbered(head) and head.gap < layout.title_gap and not head.after_ornament


def _whole_title(section: _Section) -> str:
    """The title of a poem in parts: the last title line of its heading group above its first number ("THE SONG OF
    THE LAKE" over "I" and "THE CALLING")."""
    heads = [para for para in section.group if para.kind == "heading"]
    numbered = [i for i, para in enumerate(heads) if _numbered(para)]
    lines = [para.stripped[0] for para in heads[: numbered[0] if numbered else len(heads)]]
    lines = [line for line in lines if not _MATTER.match(_norm(line)) and not _SUBTITLE.match(line)]
    if not lines or _NUMBERED_TITLE.match(lines[-1]) or any(_MATTER.match(_norm(para.stripped[0])) for para in heads):
        return ""  # "II. LOVE." over "I.", "II.": a numbered section of numbered poems, not a poem in parts
    return re.sub(r"\s+", " ", clean_line(lines[-1])).rstrip(".").strip()


def _part_title(section: _Section, contents: _Contents) -> str:
    """A part's heading: its number and its own title after it ("II. THE ANSWER", "BOOK I"); "" for the opening of
    a poem in parts that has no number of its own."""
    number = next((_norm(para.stripped[0]) for para in section.group if para.kind == "heading" and _numbered(para)), "")
    return ". ".join(filter(None, (number, _title(section, contents)))) if number else ""


def _part_marker(section: _Section) -> str:
    """The part marker that heads a section without a title of its own ("BOOK I", "CANTO II"), else ""."""
    return next((_norm(line) for para in section.group if para.kind == "heading" for line in para.stripped
                 if _PART.match(_norm(line))), "")


def _poem_text(paras: list[list[str]]) -> str:
    """One poem's text: paragraphs one blank line apart, line numbers in the margin, footnote marks, editorial
    notes and ornaments dropped."""
    text = clean_text("\n\n".join("\n".join(clean_line(line) for line in lines) for lines in paras))
    return clean_text(ORNAMENT.sub("", _PLACEHOLDER.sub("", EDITORIAL_NOTE.sub("", text))))


# ---- the book ------------------------------------------------------------------------------------------


def _body(text: str) -> tuple[str, str, int]:
    """(author, the text between the Gutenberg START and END markers, the lines of the file before it)."""
    start = START.search(text)
    header, body = (text[: start.start()], text[start.end() :]) if start else ("", text)
    author_match = AUTHOR.search(header or text)
    for cut in (END, END_LINE):
        if end := cut.search(body):
            body = body[: end.start()]
    return (author_match.group(1) if author_match else ""), body, header.count("\n")


def _sections(paras: list[_Para]) -> list[_Section]:
    """Heading groups and the text after each; text before the first heading is dropped."""
    sections: list[_Section] = []
    for para in paras:
        if para.kind == "heading":
            if sections and not sections[-1].body:
                sections[-1].group.append(para)
            else:
                sections.append(_Section([para], []))
        elif sections:
            sections[-1].body.append(para)
    return sections


def _plays(sections: list[_Section]) -> list[bool]:
    """Which sections are scenes of a play: headed by an act or scene, or speeches under speakers' names (and
    the songs and short bits between a play's speeches)."""
    in_play, out = False, []
    for section in sections:
        heads = [line for para in section.group for line in para.stripped]
        paras = [para.lines for para in section.body]
        speeches = _speeches(paras)
        scene = any(_DRAMA.match(h) for h in heads)
        lines = sum(len(p) for p in paras)
        play = scene or (speeches >= 3 and speeches >= 0.25 * len(paras))
        if not play and in_play:
            play = speeches >= 1 or lines <= 3
        in_play = play
        out.append(play)
    return out


def _scene(section: _Section) -> tuple[str, list[list[str]]]:
    """("poem", its verse) of a verse play's scene, speakers' names and prose (stage directions, prose speeches)
    left out; ("prose", []) when no verse is left."""
    kept = []
    for para in section.body:
        if para.kind != "text" or _shape(para) == "prose":
            continue
        lines = para.lines
        if len(lines) > 1 and _speeches([lines]) and not _INLINE_SPEAKER.match(lines[0].strip()):
            lines = lines[1:]  # "PRINCE HENRY." over the speech
        if _DRAMA.match(lines[0].strip()):
            continue  # "SCENE I. -- A street in Madrid." left in the text
        # the speaker's indentation goes with the name: the speech's lines go on flush with the first
        lines = [_SPEAKER_PREFIX.sub("", line) for line in lines if not _DIRECTION.match(line)]
        if any(line.strip() for line in lines):
            kept.append(lines)
    if not kept or not _has_verse([line for lines in kept for line in lines]):
        return "prose", []
    return "poem", kept


def _cut_tail(sections: list[_Section]) -> list[_Section]:
    """Sections up to a notes, index or appendix heading after which the book is mostly prose."""
    prose_after = [0] * (len(sections) + 1)
    lines_after = [0] * (len(sections) + 1)
    for i in range(len(sections) - 1, -1, -1):
        prose = total = 0
        for para in sections[i].body:
            total += len(para.lines)
            if _shape(para) != "verse":
                prose += len(para.lines)
        prose_after[i] = prose_after[i + 1] + prose
        lines_after[i] = lines_after[i + 1] + total
    for i, section in enumerate(sections):
        tail = any(_TAIL_MATTER.match(_norm(line)) for para in section.group for line in para.stripped)
        if tail and lines_after[i] and prose_after[i] >= 0.5 * lines_after[i]:
            return sections[:i]
    return sections


# Why a section is not a poem, as _judge words it -> the key it is counted under in metrics.
_REASONS = {
    "empty": "empty", "a list": "list", "prose": "prose", "prose introduction": "prose",
    "verse quoted in prose": "prose", "no verse": "prose", "epigraphs": "epigraphs",
    "title page": "title_page", "a play's scene": "play_scene",
}


_LONG_POEM = 12  # lines: more than an epigraph or a signature under a preface


@dataclass
class Section:
    """One stretch of a book's body as read: its lines in the file, verdict, title and tokens."""

    first: int  # first and last line, numbered in the file from 1
    last: int
    verdict: str  # "poem", or why it is not one, in words
    reason: str  # "poem", or the key its tokens are counted under in skipped
    title: str
    tokens: int  # every token of its lines
    kept: int = 0  # tokens kept in its poem
    left_out: dict[str, int] = field(default_factory=dict)  # a poem's tokens left out by reason (its headings...)
    words: str = ""  # its first words, to find it in the file

    def skipped(self) -> dict[str, int]:
        """Its tokens not kept, by reason: a poem's headings and epigraphs, and the rest of what was left out of
        its text (prose notes, speakers' names, line numbers) as notes_in_poems."""
        if self.reason != "poem":
            return {self.reason: self.tokens}
        return {**self.left_out, "notes_in_poems": self.tokens - self.kept - sum(self.left_out.values())}


@dataclass
class Reading:
    """How a book was read: every line of its body in one section, and the poems kept."""

    author: str
    poems: list[tuple[str, str]]  # (title, text)
    sections: list[Section]
    body_tokens: int  # the tokens between the START and END markers
    layout: Layout  # the book's figures it was read against

    def skipped(self) -> dict[str, int]:
        """Tokens of the body not kept in poems, by reason, largest first; with the poems' tokens they make
        body_tokens exactly."""
        total: Counter[str] = Counter()
        for section in self.sections:
            total.update(section.skipped())
        return {reason: n for reason, n in total.most_common() if n}


def _repeated(poems: list[tuple[str, str]]) -> set[int]:
    """Which poems repeat lines of a longer poem of the book, as picture captions or a list of illustrations do: a
    line or two at a time, at least four in five of their word trigrams the other's, at most half as long."""
    grams = [set(zip(words, words[1:], words[2:])) for words in (re.findall(r"[^\W\d_]+", text.lower())
                                                                  for _, text in poems)]
    holders: dict[tuple[str, str, str], set[int]] = {}
    for i, found in enumerate(grams):
        for gram in found:
            holders.setdefault(gram, set()).add(i)
    repeated = set()
    for i, found in enumerate(grams):
        stanzas = poems[i][1].split("\n\n")
        if sum(stanza.count("\n") + 1 for stanza in stanzas) > 3 * len(stanzas):
            continue  # stanzas, not captions of a line or two and a credit: a poem printed again in a longer one
        shared = Counter(j for gram in found for j in holders[gram] if j != i)
        if any(n >= _REPEATED * len(found) and len(grams[j]) >= 2 * len(found) for j, n in shared.items()):
            repeated.add(i)
    return repeated


_REPEATED = 0.8  # share of a poem's trigrams found in a longer one that makes it a repetition, not a poem


def _matter_reason(section: _Section) -> str:
    """The skipped-key of a front or back matter section: contents, notes or front_matter."""
    heads = [_norm(line) for para in section.group for line in para.stripped]
    if any(_CONTENTS.match(h) for h in heads):
        return "contents"
    return "notes" if any(_TAIL_MATTER.match(h) for h in heads) else "front_matter"


def _words(lines: list[str], n: int = 8) -> str:
    """The first n words of lines, for naming a section in a message."""
    return " ".join(" ".join(line.strip() for line in lines if line.strip()).split()[:n])


def read_book(text: str, name: str, drama: str = "keep", refuse: bool = True) -> Reading:
    """How a decoded Gutenberg book (LF newlines) is read: its poems and every section of its body with a
    verdict; PoetryRnnError when no verse is found (refuse False: the reading, without poems). drama "keep" keeps
    the scenes of verse plays as poems, "skip" counts them under play_scene. A poem's title is its heading's
    title, else its part marker, else its first line."""
    author, body, offset = _body(text)
    body_lines = body.split("\n")
    line_tokens = [len(tokenize(line)) if line.strip() else 0 for line in body_lines]
    paras = _paragraphs(body)
    layout = measure([(para.lines, para.gap, para.gap_after) for para in paras])
    contents = _contents(paras, layout)
    paras = _mark_headings(paras, contents, layout)
    _judge_shapes(paras, layout)
    # A book without a heading is one section: its verse, if any, one poem.
    all_sections = _sections(paras) or [_Section([], paras)]
    sections = _cut_tail(all_sections)
    plays = _plays(sections)
    judged = []
    for section, play in zip(sections, plays):
        why, kept, left_out = _judge(section)
        if play and why != "front or back matter":
            (why, kept), left_out = ("a play's scene", []) if drama == "skip" else _scene(section), {}
        judged.append((section, why, kept, left_out))
    styles = Counter(_style(s) for (s, why, _, _), play in zip(judged, plays) if why == "poem" and not play)
    dominant = styles.most_common(1)[0][0] if styles else ""
    poems: list[tuple[str, str]] = []
    read: list[tuple[int, Section]] = []  # (start line in the body, section)

    def tokens(paras: list[_Para]) -> int:
        return sum(line_tokens[para.start + k] for para in paras for k in range(len(para.lines)))

    def add(start: int, verdict: str, reason: str, title: str, section: _Section | None = None, **kw) -> None:
        lines = [line for para in (section.group + section.body if section else []) for line in para.lines]
        read.append((start, Section(0, 0, verdict, reason, title, 0, words=_words(lines), **kw)))

    in_matter = False  # after a preface, notes or contents: until a heading in the poems' own style
    parts = [_is_part(section, layout) for section in sections] + [False]
    whole = ""  # the title of the poem whose parts these are
    for i, ((section, why, kept, left_out), play) in enumerate(zip(judged, plays)):
        if not parts[i]:
            whole = _whole_title(section) if parts[i + 1] else ""
        start = (section.group or section.body)[0].start
        heading = _title(section, contents) or (section.group[-1].stripped[0] if section.group else "")
        if why == "front or back matter":
            in_matter = True
            add(start, "front or back matter", _matter_reason(section), heading, section)
            continue
        # A signature or an epigraph under a preface is short; a play's scene or a long poem ends the matter.
        long_poem = why == "poem" and (play or sum(len(lines) for lines in kept) >= _LONG_POEM)
        if in_matter and _style(section) != dominant and not long_poem:
            add(start, "follows front or back matter, not headed like the poems", "after_matter", heading, section)
            continue
        in_matter = False
        if why != "poem":
            add(start, why, _REASONS[why], heading, section)
            continue
        title = _title(section, contents) or _part_marker(section)
        if whole and not play:  # "A PORTRAIT, II", "THE SONG OF THE LAKE, I. THE CALLING"
            title = ", ".join(filter(None, (whole, _part_title(section, contents))))
        head = kept[0][0].strip()
        if play:  # "THE MASQUE OF THE SEASONS, ACT I", "ACT II. SCENE I. -- PRECIOSA'S chamber. Morning"
            title = ", ".join(_norm(line) for para in section.group for line in para.stripped)[:120]
        elif len(kept[0]) > 1 and len(head) <= 90 and _speeches(kept) == 1 and _speeches(kept[:1]) == 1:
            kept = [kept[0][1:]] + kept[1:]  # a monologue's speaker, or "COPLAS DE MANRIQUE." run into the poem
            if is_caps_title(head):
                title = head.rstrip(".").strip()
        poem = _poem_text(kept)
        title = title or first_line(poem)
        if poem:
            poems.append((title, poem))
            counted = {reason: tokens(paras) for reason, paras in left_out.items()}
            counted["headings"] = counted.get("headings", 0) + tokens(section.group)
            add(start, "poem", "poem", title, section, kept=len(tokenize(poem)), left_out=counted)
        else:
            add(start, "empty", "empty", title, section)
    if len(all_sections) > len(sections):  # the notes or index that end the book, and all after them
        add(all_sections[len(sections)].group[0].start, "notes at the end, mostly prose", "notes",
            _norm(all_sections[len(sections)].group[0].stripped[0]), all_sections[len(sections)])
    kept_sections = [section for _, section in read if section.reason == "poem"]  # one per poem, in order
    captions = _repeated(poems)
    for i in captions:
        kept_sections[i].verdict, kept_sections[i].reason = "lines of a longer poem repeated (captions)", "captions"
        kept_sections[i].kept, kept_sections[i].left_out = 0, {}
    poems = [poem for i, poem in enumerate(poems) if i not in captions]
    first_heading = read[0][0] if read else len(body_lines)
    if first_heading > 0:
        read.insert(0, (0, Section(0, 0, "before the first heading", "before_first_heading", "", 0,
                                   words=_words(body_lines[:first_heading]))))
    for (start, section), nxt in zip(read, read[1:] + [(len(body_lines), None)]):
        section.first, section.last = offset + start + 1, offset + nxt[0]
        section.tokens = sum(line_tokens[start : nxt[0]])
    if refuse and not poems:
        raise PoetryRnnError(
            f"Gutenberg book {name}: no verse found: every section of its body reads as prose, a list, front or "
            f"back matter or headings (see how with `poetry-rnn split {name}`); {REFUSAL_ADVICE}"
        )
    return Reading(author, poems, [section for _, section in read], sum(line_tokens), layout)


def split_book(text: str, name: str, drama: str = "keep") -> tuple[str, list[tuple[str, str]]]:
    """(author, [(title, poem_text), ...]) of a decoded Gutenberg book: read_book's poems."""
    reading = read_book(text, name, drama)
    return reading.author, reading.poems
