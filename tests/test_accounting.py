"""Every token of every source accounted for: kept in poems or skipped under a reason, summing to its body."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from poetry_rnn import cli
from poetry_rnn.inputs.corpus import read_sources
from poetry_rnn.inputs.tokenize import tokenize
from poetry_rnn.inputs.tokenized import encode_poems, source_accounts, source_lines
from test_gutenberg import CAPS_TITLES, PROSE, WRAPPED_LONG_LINES, book

POEM = "The sea is calm tonight,\nThe tide is full, the moon lies fair\nUpon the straits."
FRONT = "---\ntitle: Dover Beach\nauthor: Matthew Arnold\n---\n"

# A book that is mostly a prose preface: read, but warned about.
PREFACE = "\n".join(
    "the editor wishes to thank the many friends of the author who lent their letters and papers, and who"
    for _ in range(12))
MOSTLY_PROSE = f"""\
POEMS

PREFACE

{PREFACE}



I.

Success is counted sweetest
By those who ne'er succeed.
To comprehend a nectar
Requires sorest need.

II.

Our share of night to bear,
Our share of morning,
Our blank in bliss to fill,
Our blank in scorning.
"""


def index_of(*texts: str, unknown: tuple[str, ...] = ()) -> dict[str, int]:
    """A GloVe-like vocabulary holding every token of texts but the unknown ones."""
    words = sorted({t for text in texts for t in tokenize(text)} - set(unknown))
    return {w: i for i, w in enumerate(words)}


def accounts(sources: dict[str, Path], index: dict[str, int], drama: str = "keep"):
    corpus = read_sources(sources, drama=drama)
    tokenized, _ = encode_poems(corpus.poems, index)
    return source_accounts(tokenized, corpus.accounts), corpus


def test_every_source_kind_sums_to_its_body_and_names_what_it_skipped(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text(FRONT + POEM + "\n")
    (folder / "b.txt").write_text("zyzzyva qwxq\n")  # no word GloVe knows
    with zipfile.ZipFile(tmp_path / "zipped.zip", "w") as z:
        z.writestr("zipped/c.txt", FRONT + "Ah, love, let us be true\nTo one another!\n")
        z.writestr("zipped/d.txt", POEM + "\n")  # the same poem as a.txt: dropped here
    records = [{"title": "R", "text": "The world, which seems\nTo lie before us like a land of dreams,"},
               {"title": "empty", "text": ""}]
    (tmp_path / "records.json").write_text(json.dumps(records))
    (tmp_path / "book.txt").write_text(book(CAPS_TITLES))
    sources = {"folder": folder, "zipped": tmp_path / "zipped.zip", "records": tmp_path / "records.json",
               "book": tmp_path / "book.txt"}
    rows, _ = accounts(sources, index_of(POEM, FRONT, book(CAPS_TITLES), records[0]["text"], "Ah, love, let us be "
                                         "true\nTo one another!", unknown=("zyzzyva", "qwxq")))
    for name, row in rows.items():
        assert row["tokens"] + sum(row["skipped"].values()) == row["body_tokens"], name
    # an independent count: every token of each file, of each record's text, between the book's markers
    front, poem = len(tokenize(FRONT)), len(tokenize(POEM))
    assert rows["folder"]["body_tokens"] == front + poem + 2
    assert rows["folder"]["skipped"] == {"front_matter": front, "no_known_word": 2}
    assert rows["zipped"]["skipped"] == {"duplicate": poem, "front_matter": front}
    assert rows["records"] == {"poems": 1, "tokens": len(tokenize(records[0]["text"])),
                               "body_tokens": len(tokenize(records[0]["text"])), "kept_share": 1.0, "skipped": {}}
    text = book(CAPS_TITLES)
    between = text[text.index("***\n") + 4 : text.index("End of Project Gutenberg")]
    assert rows["book"]["body_tokens"] == len(tokenize(between))
    assert {"contents", "notes", "headings", "before_first_heading"} <= set(rows["book"]["skipped"])


def test_verse_drama_is_kept_by_default_and_counted_as_play_scene_when_skipped(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text(book(CAPS_TITLES))
    index = index_of(book(CAPS_TITLES))
    kept, _ = accounts({"book": path}, index)
    skipped, _ = accounts({"book": path}, index, drama="skip")
    assert "play_scene" not in kept["book"]["skipped"] and kept["book"]["poems"] == skipped["book"]["poems"] + 1
    scene = len(tokenize("Is thy work done, my daughter of the snow? It is finished, and the frost is on the hill. "
                         "Then let the Spring come in."))
    assert kept["book"]["tokens"] - skipped["book"]["tokens"] == scene
    assert skipped["book"]["skipped"]["play_scene"] > scene  # the whole scene: heading, directions, speakers
    for rows in (kept, skipped):
        assert rows["book"]["tokens"] + sum(rows["book"]["skipped"].values()) == rows["book"]["body_tokens"]


def test_a_source_that_keeps_under_80_percent_is_warned_about_naming_its_largest_skipped_sections(tmp_path):
    path = tmp_path / "prosy.txt"
    path.write_text(book(MOSTLY_PROSE))
    rows, corpus = accounts({"prosy": path}, index_of(book(MOSTLY_PROSE)))
    lines = source_lines(rows, corpus.accounts)
    assert rows["prosy"]["poems"] == 2 and rows["prosy"]["kept_share"] < 0.8
    assert lines[0].startswith(f"prosy: 2 poems, {rows['prosy']['kept_share']:.1%} of its ")
    assert "skipped front_matter" in lines[0]
    # the preface: its line range in the file and its first words
    lines_of_book = book(MOSTLY_PROSE).split("\n")
    start, end = lines_of_book.index("POEMS") + 1, lines_of_book.index("I.")
    assert lines[1].startswith(f"warning: prosy keeps only {rows['prosy']['kept_share']:.0%} of its body")
    assert f'prosy.txt lines {start}-{end} (front_matter, ' in lines[1]
    assert '"POEMS PREFACE the editor wishes to thank the"' in lines[1]
    assert "poetry-rnn split" in lines[1]


def test_a_source_that_keeps_most_of_its_body_gets_one_line_and_no_warning(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text(book(WRAPPED_LONG_LINES))
    rows, corpus = accounts({"book": path}, index_of(book(WRAPPED_LONG_LINES)))
    assert rows["book"]["kept_share"] >= 0.8
    assert len(source_lines(rows, corpus.accounts)) == 1


def test_split_prints_each_section_with_its_lines_verdict_title_and_tokens(tmp_path):
    path = tmp_path / "prosy.txt"
    path.write_text(book(MOSTLY_PROSE))
    result = CliRunner().invoke(cli.main, ["split", str(path)])
    assert result.exit_code == 0, result.output
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    lines_of_book = book(MOSTLY_PROSE).split("\n")
    start, end = lines_of_book.index("POEMS") + 1, lines_of_book.index("I.")
    assert [row[1] for row in rows] == ["before the first heading", "front or back matter", "poem", "poem"]
    assert rows[1][0] == f"{start}-{end}" and rows[1][2] == "front_matter" and rows[1][3] == "POEMS"
    assert rows[2][3] == "Success is counted sweetest" and int(rows[2][5]) > 0
    assert sum(int(row[4].replace(",", "")) for row in rows) == len(tokenize(book(MOSTLY_PROSE).split(
        "***\n", 1)[1].split("End of Project Gutenberg")[0]))
    assert "prosy.txt: 2 poems, " in result.stdout and "skipped front_matter" in result.stdout


def test_split_shows_a_book_without_verse_as_read_its_layout_and_that_preprocess_refuses_it(tmp_path):
    path = tmp_path / "prose.txt"
    path.write_text(book(PROSE))
    result = CliRunner().invoke(cli.main, ["split", str(path)])
    assert result.exit_code == 0, result.output
    verdicts = [line.split("│")[2].strip() for line in result.stdout.splitlines() if line.startswith("│")]
    assert verdicts == ["before the first heading", "prose", "prose", "prose"]
    assert "prose.txt: prose wrapped at 71 characters; stanzas 1 and titles" in result.stdout
    assert "prose.txt: no verse found: preprocess refuses this book" in result.stdout


def test_split_refuses_a_file_without_gutenberg_markers(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text(POEM)
    result = CliRunner().invoke(cli.main, ["split", str(path)])
    assert result.exit_code != 0 and "no Project Gutenberg START or END marker" in result.output
