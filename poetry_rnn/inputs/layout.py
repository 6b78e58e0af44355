"""A book's own layout, measured before any of its paragraphs is judged, and a paragraph read against it.

Gutenberg books differ in every figure a reader might fix: the width their prose is wrapped at (55 to 78
characters), the blank lines between stanzas and before a title (1 and 3, 1 and 5, 2 and 4), how deep their verse
is indented and where a long line's continuation goes. So the reader measures them on the book first:

* the wrap width: a transcriber's wrapped prose breaks each line where the next word would not fit, so the
  width is the line length that most line breaks before a lowercase word fit (none when the book has too little
  prose to tell);
* the stanza gap: the commonest gap before a paragraph of several lines; the title gap and indent: how far apart
  and how deep the book sets a line standing alone, closer to what follows than to what precedes, further than a
  stanza (a title); the verse indent: how deep it sets the lines of its paragraphs;

and judges a paragraph by its shape against them: prose fills its measure (the book's wrap width, or its own
when it is set narrower or wider), each line broken where the next word would not fit, and goes on in lowercase
from line to line mid-sentence; verse is broken by the poet, its lines going on with a capital after a comma, or
shorter than the measure. A long verse line the transcriber wrapped onto a line indented deeper than the
paragraph's own indent, or a half-line pushed right, is joined back to its line before the paragraph is judged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["Layout", "clean_line", "describe_layout", "indent", "is_prose", "measure", "unwrap"]

_ONE_LINE_PARAGRAPH = 200  # characters: a paragraph set on one line, which no verse line in a book is
_TITLE_SHARE = 0.2  # of the lines standing alone: a gap that sets apart this many is one a book sets titles at
_MIN_SUPPORT = 3  # line breaks that must agree on a wrap width before the book is said to have one
_NEAR_WIDTH = 8  # characters: a paragraph whose longest line falls this far short of the width is set to it
_ENDS_SENTENCE = tuple(".!?:\"'”’)]")
_PRONOUN_I = re.compile(r"^[\"'“‘(]*I(?:\b|')")  # "I" opens verse and prose lines alike: no evidence
_MARGIN_NUMBER = re.compile(r"(?<=\S)\s{3,}\d{1,4}$")  # "Swart-headed mulberries,      10"
_FOOTNOTE_MARK = re.compile(r"\s?\^\d+|\s?\[\d{1,3}\]")  # "Halloween^1", "the Cove,^3", "sea [12]"


@dataclass(frozen=True)
class Layout:
    """The figures a book is read against, measured on the book itself."""

    width: int | None  # the wrap width of its prose; None when too little of it is prose to tell
    stanza_gap: int  # blank lines between the stanzas of a poem
    title_gap: int  # blank lines before a poem's title, at the least
    title_indent: int | None  # spaces before a poem's title; None when its titles are not set at one indent
    verse_indent: int  # spaces before most lines of its paragraphs of several lines


def describe_layout(layout: Layout) -> str:
    """A book's layout in words, as `poetry-rnn split` prints it."""
    width = f"prose wrapped at {layout.width} characters" if layout.width else "too little prose to measure its width"
    titles = "titles at no one indent" if layout.title_indent is None else f"titles indented {layout.title_indent}"
    return (f"{width}; stanzas {layout.stanza_gap} and titles {layout.title_gap} blank lines apart; {titles}, "
            f"verse {layout.verse_indent}")


def indent(line: str) -> int:
    """The spaces before a line's text."""
    return len(line) - len(line.lstrip())


def measure(paras: Sequence[tuple[list[str], int, int]]) -> Layout:
    """The layout of a book from its paragraphs, each (lines, blank lines before, blank lines after). A title is a
    line standing alone with more blank lines before it than after and than between stanzas; some books set
    their titles further apart than others, or at two gaps, so the title gap is the narrowest of those that set
    apart a fifth of such lines, and the title indent the indent of most of the different lines standing alone that
    wide (a label repeated again and again counts once), if most agree; the verse indent is the commonest indent
    of the lines of paragraphs."""
    stanza = Counter(gap for lines, gap, _ in paras if len(lines) > 1 and gap)
    stanza_gap = stanza.most_common(1)[0][0] if stanza else 1
    alone = [(gap, lines[0]) for lines, gap, after in paras if len(lines) == 1 and gap > max(stanza_gap, after)]
    gaps = Counter(gap for gap, _ in alone)
    title_gap = min((gap for gap, n in gaps.items() if n >= _TITLE_SHARE * len(alone)), default=stanza_gap + 1)
    indents = Counter(indent(line) for line in {line for gap, line in alone if gap >= title_gap})
    title_indent, n = indents.most_common(1)[0] if indents else (None, 0)
    title_indent = title_indent if n > sum(indents.values()) / 2 else None
    verse = Counter(indent(line) for lines, _, _ in paras if len(lines) > 1 for line in lines)
    verse_indent = verse.most_common(1)[0][0] if verse else 0
    return Layout(_wrap_width(lines for lines, _, _ in paras), stanza_gap, title_gap, title_indent, verse_indent)


def _wrap_width(paras: Iterable[list[str]]) -> int | None:
    """The width a book's prose is wrapped at: the length that most breaks before a lowercase word fit, each
    break fitting every width from its line's length up to one short of the line with the next word on it."""
    fits: Counter[int] = Counter()
    for lines in paras:
        for line, nxt in zip(lines, lines[1:]):
            if indent(nxt) <= indent(line) and nxt.lstrip()[:1].islower():
                fits.update(range(len(line), len(line) + 1 + len(nxt.split()[0])))
    if not fits:
        return None
    most = max(fits.values())
    return min(width for width, n in fits.items() if n == most) if most >= _MIN_SUPPORT else None


def clean_line(line: str) -> str:
    """A line without the marks a printed book sets beside its words: a line number at the right margin, a
    footnote mark."""
    return _FOOTNOTE_MARK.sub("", _MARGIN_NUMBER.sub("", line.rstrip()))


def unwrap(lines: list[str]) -> list[str]:
    """A paragraph's lines, each line indented deeper than the paragraph's own indent that goes on in lowercase
    joined to the line above (a long verse line wrapped by the transcriber, a half-line pushed right)."""
    base = min(indent(line) for line in lines)
    out: list[str] = []
    for line in lines:
        if out and indent(line) > base and line.lstrip()[:1].islower():
            out[-1] += " " + line.strip()
        else:
            out.append(line.rstrip())
    return out


def is_prose(lines: list[str], layout: Layout) -> bool:
    """True for a paragraph of prose: set on one line, or, after unwrapping, its lines fill their measure, and where
    a line breaks mid-sentence the next goes on in lowercase more often than with a capital (as often, when nearly
    every line fills it)."""
    if any(len(line) > _ONE_LINE_PARAGRAPH for line in lines):
        return True
    lines = unwrap([clean_line(line) for line in lines])
    if len(lines) < 2:
        return False
    fills = _fills(lines, layout.width)
    lower, upper = _goes_on(lines)
    return fills >= 0.5 and (lower > upper or (fills >= 0.75 and 0 < lower == upper))


def _fills(lines: list[str], width: int | None) -> float:
    """The share of a paragraph's line breaks where the next word would not have fit within its measure: the
    book's wrap width when its longest line is set near it, else that longest line (which is not counted)."""
    inner = lines[:-1]
    longest = max(len(line) for line in inner)
    book_measure = width is not None and width - _NEAR_WIDTH <= longest <= width + 1
    measure_ = width if book_measure else longest
    breaks = [len(line) + 1 + len(nxt.split()[0]) > measure_ for line, nxt in zip(lines, lines[1:])]
    if not book_measure:
        breaks.pop(next(i for i, line in enumerate(inner) if len(line) == longest))
    return sum(breaks) / len(breaks) if breaks else 0.0


def _goes_on(lines: list[str]) -> tuple[int, int]:
    """Of the lines that follow a line ending mid-sentence, how many go on in lowercase (or a number) and how many
    start with a capital (a line opening with "I" says nothing either way)."""
    lower = upper = 0
    for line, nxt in zip(lines, lines[1:]):
        nxt = nxt.lstrip()
        if line.endswith(_ENDS_SENTENCE) or _PRONOUN_I.match(nxt):
            continue
        first = re.search(r"[^\W_]", nxt)
        if first and first.start() <= 2:
            lower += not first.group().isupper()
            upper += first.group().isupper()
    return lower, upper
