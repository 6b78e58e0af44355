"""README is a short front door and docs/ holds the rest: every relative link in them reaches a file, every
#anchor a heading of its page (GitHub's slugs), and every page is linked from README."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 250

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def pages() -> list[Path]:
    """README and every page under docs/."""
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, each with its inline code spans removed."""
    lines, fenced = [], None
    for line in text.splitlines():
        fence = _FENCE.match(line)
        if fence and fenced is None:
            fenced = fence.group(1)
        elif fence and line.strip().startswith(fenced):
            fenced = None
        elif fenced is None:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lowercased, punctuation other than hyphens dropped, spaces to
    hyphens (links and code spans count by their text)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = _CODE_SPAN.sub(lambda m: m.group(2), text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a page; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    text = path.read_text(encoding="utf-8")
    for line in prose_lines(text):
        m = _HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[str]:
    """The link and image targets of a page, inline or reference-style, outside code."""
    found = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        line = _CODE_SPAN.sub("", line)
        found += _LINK.findall(line)
        found += _REFERENCE.findall(line)
    return found


def broken_links(path: Path) -> list[str]:
    """Each relative link of `path` whose file does not exist, or whose #anchor names no heading there."""
    broken = []
    for target in links(path):
        if _SCHEME.match(target):
            continue  # http(s), mailto: not this repo's to check
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        shown = dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest
        if not dest.exists():
            broken.append(f"{target}: no file {shown}")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            broken.append(f"{target}: no heading '#{anchor}' in {shown}")
    return broken


def test_every_link_reaches_a_file_and_a_heading():
    broken = {p.relative_to(ROOT).as_posix(): b for p in pages() if (b := broken_links(p))}
    assert not broken, broken


def test_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail to a page under docs/"


def test_every_docs_page_is_linked_from_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in links(README) if not _SCHEME.match(t)}
    unlinked = [p.name for p in pages()[1:] if p.resolve() not in linked]
    assert not unlinked, f"docs pages README does not link: {unlinked}"


def test_slugs_follow_github():
    assert slug("Whole stanzas: 50-token windows") == "whole-stanzas-50-token-windows"
    assert slug("Before: the 50-token defaults") == "before-the-50-token-defaults"
    assert slug("`poetry-rnn` and [MLflow](mlflow.md)") == "poetry-rnn-and-mlflow"


def test_repeated_headings_are_numbered(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# A\n## Notes\n```\n# not a heading\n```\n## Notes\n[x](#notes-1) [y](#notes-2)\n")
    assert anchors(page) == {"a", "notes", "notes-1"}
    assert [b.split(":")[0] for b in broken_links(page)] == ["#notes-2"]
