"""read_corpus over every accepted input kind, with small data made in tmp_path."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from poetry_rnn.inputs.corpus import Corpus, read_corpus, read_sources, source_names
from poetry_rnn.errors import PoetryRnnError

BOOK_BODY = """\
Produced by A Volunteer



POEMS

by JANE POET

PREFACE.

These verses were found in a drawer after her death.

TRANSCRIBER'S NOTE

Some words are _underlined_ thus.


    An epigraph that is not
    a numbered poem.


I. LIFE.


I.

SUCCESS.

[Published in "A Gazette"
at the request of a friend.]

Success is counted sweetest
By those who ne'er succeed.



II.

Our share of night to bear,
Our share of morning.

  *  *  *

Here a star, and there a star.


II. LOVE.

I.

Mine by the right of the white election!
Mine by the royal seal!

II.

FORBIDDEN FRUIT.

I.

Forbidden fruit a flavor has
That lawful orchards mocks.

III.

FORBIDDEN FRUIT.

II.

Heaven is what I cannot reach!




POEMS

by JANE POET

Second Series

PREFACE

The second volume follows the first.

I. LIFE.

I.

I'm nobody! Who are you?
Are you nobody, too?
"""


def gutenberg_book(style: str) -> str:
    """A small Project Gutenberg book of poems; style "THIS" (older copies) or "THE" (current ones)."""
    return (
        "The Project Gutenberg EBook of Poems, by Jane Poet\n\n"
        "This eBook is for the use of anyone anywhere at no cost.\n\n"
        "Title: Poems\n\nAuthor: Jane Poet\n\nRelease Date: May 3, 2004 [EBook #99999]\n\n"
        f"*** START OF {style} PROJECT GUTENBERG EBOOK POEMS ***\n\n"
        + BOOK_BODY
        + "\n\n\nEnd of Project Gutenberg's Poems, by Jane Poet\n\n"
        f"*** END OF {style} PROJECT GUTENBERG EBOOK POEMS ***\n\n"
        "***** This file should be named 99999.txt *****\n"
        "*** START: FULL LICENSE ***\nTHE FULL PROJECT GUTENBERG LICENSE\nRedistribution is subject to the license.\n"
    )


def write(path: Path, text: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to path, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def poem_folder(root: Path) -> Path:
    """A folder of three poem files, one in a subfolder, with and without front matter."""
    front = "---\nauthor: Ann Author \ntitle: The Sea: A Song\nyear: 1850\n---\n\n"
    write(root / "b.txt", front + "The sea is wide,\nThe sea is deep.\n")
    write(root / "a.txt", "---\ntitle: \"Quoted Title\"\n---\nFirst line here\nsecond line\n")
    write(root / "sub" / "c.txt", "No front matter at all\njust a poem\n")
    write(root / "README.txt", "not a poem\n")
    write(root / "notes.md", "not a poem either\n")
    return root


@pytest.mark.parametrize("style", ["THIS", "THE"])
def test_gutenberg_book_splits_into_poems_under_either_marker_style_with_crlf(tmp_path, style):
    book = write(tmp_path / "pg99999.txt", gutenberg_book(style).replace("\n", "\r\n"))
    corpus = read_corpus(book)
    titles = [poem.title for poem in corpus.poems]
    assert titles == [
        "SUCCESS",
        "Our share of night to bear,",
        "Mine by the right of the white election!",
        "FORBIDDEN FRUIT",
        "FORBIDDEN FRUIT",
        "I'm nobody! Who are you?",
    ]
    assert {poem.author for poem in corpus.poems} == {"Jane Poet"}
    assert corpus.poems[0].text == "Success is counted sweetest\nBy those who ne'er succeed."
    assert corpus.poems[1].text == (
        "Our share of night to bear,\nOur share of morning.\n\nHere a star, and there a star."  # ornament gone
    )
    assert corpus.poems[3].text == "Forbidden fruit a flavor has\nThat lawful orchards mocks."
    assert corpus.poems[-1].text == "I'm nobody! Who are you?\nAre you nobody, too?"
    assert corpus.stats["files_read"] == 1


def test_gutenberg_book_leaves_headings_notes_preface_and_license_out_of_every_poem(tmp_path):
    corpus = read_corpus(write(tmp_path / "book.txt", gutenberg_book("THE").replace("\n", "\r\n")))
    text = "\n".join(poem.text for poem in corpus.poems)
    for unwanted in ["\r", "Published", "[", "LIFE", "LOVE", "POEMS", "PREFACE", "Series", "drawer", "underlined",
                     "epigraph", "Volunteer", "JANE POET", "Gutenberg", "license", "*", "SUCCESS", "FORBIDDEN"]:
        assert unwanted not in text, unwanted


def test_gutenberg_book_of_prose_chapters_is_refused_through_read_corpus(tmp_path):
    prose = "\n\n".join(f"CHAPTER {n}\n\n" + " ".join(["The long paragraphs of a novel run on and on, line after "
                          "line, never breaking where a verse would."] * 12) for n in ("I", "II", "III"))
    book = write(tmp_path / "prose.txt", gutenberg_book("THE").replace(BOOK_BODY, prose))
    with pytest.raises(PoetryRnnError, match=r"Gutenberg book prose\.txt: .*(no poem layout|prose)"):
        read_corpus(book)


def test_txt_without_gutenberg_markers_is_one_poem_with_front_matter(tmp_path):
    ode = write(tmp_path / "ode.txt", "---\ntitle: Ode\nauthor: Keats\n---\nThou still unravish'd bride\n")
    corpus = read_corpus(ode)
    assert [(p.title, p.author, p.text) for p in corpus.poems] == [("Ode", "Keats", "Thou still unravish'd bride")]


def test_folder_reads_every_txt_recursively_sorted_with_front_matter(tmp_path):
    corpus = read_corpus(poem_folder(tmp_path / "poems"))
    assert [(p.title, p.author, p.source) for p in corpus.poems] == [
        ("Quoted Title", "", "a.txt"),
        ("The Sea: A Song", "Ann Author", "b.txt"),
        ("c", "", "sub/c.txt"),
    ]
    assert corpus.poems[1].text == "The sea is wide,\nThe sea is deep."
    assert corpus.stats["files_read"] == 3


def test_zip_of_a_folder_reads_the_same_poems_and_skips_macos_and_readme(tmp_path):
    folder = poem_folder(tmp_path / "poems")
    archive = tmp_path / "poems.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, f"poems/{file.relative_to(folder).as_posix()}")
        zf.writestr("__MACOSX/poems/._a.txt", b"\0\0junk")
        zf.writestr("poems/LICENSE.txt", "license text")
    from_zip = read_corpus(archive)
    from_folder = read_corpus(folder)
    assert [(p.title, p.author, p.text) for p in from_zip.poems] == [
        (p.title, p.author, p.text) for p in from_folder.poems
    ]
    assert from_zip.poems[0].source == "poems.zip:poems/a.txt"
    assert from_zip.stats["skipped_binary"] == 0


def test_json_list_of_records(tmp_path):
    records = [{"title": "One", "author": "A", "text": "first poem\nline two"}, {"text": "untitled poem\nmore"}]
    corpus = read_corpus(write(tmp_path / "poems.json", json.dumps(records)))
    assert [(p.title, p.author, p.text) for p in corpus.poems] == [
        ("One", "A", "first poem\nline two"),
        ("untitled poem", "", "untitled poem\nmore"),
    ]


def test_jsonl_records_one_a_line_blank_lines_ignored(tmp_path):
    lines = [
        json.dumps({"title": "One", "author": "A", "text": "first"}),
        "",
        json.dumps({"title": "Two", "text": "second"}),
    ]
    corpus = read_corpus(write(tmp_path / "poems.jsonl", "\n".join(lines) + "\n"))
    assert [(p.title, p.text, p.source) for p in corpus.poems] == [
        ("One", "first", "poems.jsonl line 1"),
        ("Two", "second", "poems.jsonl line 3"),
    ]


def test_records_with_null_or_empty_text_are_skipped_and_counted(tmp_path):
    path = write(tmp_path / "poems.jsonl", '{"text": "ok"}\n{"text": null}\n{"title": "no text"}\n{"text": "  "}\n')
    corpus = read_corpus(path)
    assert [p.text for p in corpus.poems] == ["ok"]
    assert corpus.stats["skipped_no_text"] == 3
    assert corpus.stats["skipped_examples"] == ["poems.jsonl line 2", "poems.jsonl line 3", "poems.jsonl line 4"]


@pytest.mark.parametrize("field", ["text", "content", "body", "poem"])
def test_the_text_field_may_have_any_common_name(tmp_path, field):
    path = write(tmp_path / "poems.json", json.dumps([{"title": "T", "author": "A", field: "the poem"}]))
    assert [(p.title, p.author, p.text) for p in read_corpus(path).poems] == [("T", "A", "the poem")]


def test_a_list_of_lines_is_the_poem(tmp_path):
    path = write(tmp_path / "poems.json", json.dumps([{"lines": ["first line", "", "second stanza"]}]))
    assert read_corpus(path).poems[0].text == "first line\n\nsecond stanza"


def test_poems_fields_names_the_columns_of_other_datasets(tmp_path):
    path = write(tmp_path / "poems.jsonl", json.dumps({"name": "Ode", "poet": "Keats", "verse": "Thou still"}) + "\n")
    corpus = read_corpus(path, {"title": "name", "author": "poet", "text": "verse"})
    assert [(p.title, p.author, p.text) for p in corpus.poems] == [("Ode", "Keats", "Thou still")]


def test_records_without_any_text_field_name_the_fields_and_the_param(tmp_path):
    path = write(tmp_path / "poems.jsonl", json.dumps({"name": "Ode", "verse": "Thou still"}) + "\n")
    with pytest.raises(PoetryRnnError, match=r"poems\.jsonl: no record has a text field .*name, verse.*poems\.fields\.text"):
        read_corpus(path)
    with pytest.raises(PoetryRnnError, match=r"no record has a 'poem_text' field"):
        read_corpus(path, {"text": "poem_text"})


def test_a_text_that_is_not_text_names_the_record(tmp_path):
    path = write(tmp_path / "poems.json", json.dumps([{"text": "ok"}, {"text": 42}]))
    with pytest.raises(PoetryRnnError, match=r"poems\.json record 2: the 'text' field holds a int"):
        read_corpus(path)


def test_csv_records_with_a_header_and_quoted_multiline_text(tmp_path):
    frame = pd.DataFrame({"title": ["One", "Two", "Three"], "author": ["A", "", "C"],
                          "content": ["first line\nsecond, with a comma", "", "third"]})
    frame.to_csv(tmp_path / "poems.csv", index=False)
    corpus = read_corpus(tmp_path / "poems.csv")
    assert [(p.title, p.author, p.text, p.source) for p in corpus.poems] == [
        ("One", "A", "first line\nsecond, with a comma", "poems.csv row 2"),
        ("Three", "C", "third", "poems.csv row 4"),
    ]
    assert corpus.stats["skipped_no_text"] == 1


def test_parquet_records_with_nulls_and_lists_of_lines(tmp_path):
    frame = pd.DataFrame({"title": ["One", None, "Three"], "author": [None, "B", "C"],
                          "lines": [["a line", "another"], None, ["", "after a blank", "end"]]})
    frame.to_parquet(tmp_path / "poems.parquet")
    corpus = read_corpus(tmp_path / "poems.parquet")
    assert [(p.title, p.author, p.text) for p in corpus.poems] == [
        ("One", "", "a line\nanother"), ("Three", "C", "after a blank\nend")]
    assert corpus.stats["skipped_no_text"] == 1


def test_a_broken_table_is_an_error_naming_it(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"bad\.parquet is not a readable PARQUET table"):
        read_corpus(write(tmp_path / "bad.parquet", "not parquet"))


def test_several_sources_of_mixed_kinds_make_one_corpus_that_remembers_each_poems_source(tmp_path):
    folder = poem_folder(tmp_path / "poems")
    records = write(tmp_path / "more.jsonl", json.dumps({"title": "J", "text": "from the records"}) + "\n")
    corpus = read_sources({"poems": folder, "more": records})
    assert [(p.collection, p.title) for p in corpus.poems] == [
        ("poems", "Quoted Title"), ("poems", "The Sea: A Song"), ("poems", "c"), ("more", "J")]
    assert corpus.stats["files_read"] == 4


def test_an_exact_duplicate_in_a_second_source_is_dropped(tmp_path):
    a = write(tmp_path / "a.txt", "The same poem\nin two places")
    b = write(tmp_path / "b.jsonl", json.dumps({"text": "The same  poem\nin two places"}) + "\n")
    corpus = read_sources({"a": a, "b": b})
    assert [p.collection for p in corpus.poems] == ["a"] and corpus.stats["duplicates_dropped"] == 1


def test_source_names_are_short_and_unique():
    assert source_names(["https://www.gutenberg.org/cache/epub/12242/pg12242.txt", "data/poems/", "x/poems.zip",
                         "y/poems.jsonl"]) == ["pg12242", "poems", "poems-2", "poems-3"]


def test_front_matter_is_yaml_and_values_stay_as_written(tmp_path):
    poem = write(tmp_path / "p.txt", "---\ntitle: '1914'\nauthor: Yes\ntags: [war, sonnet]\n---\nNow, God be thanked\n")
    corpus = read_corpus(poem)
    assert [(p.title, p.author) for p in corpus.poems] == [("1914", "Yes")]
    assert corpus.stats["front_matter_not_yaml"] == 0


def test_front_matter_with_an_unquoted_colon_is_still_read_and_counted(tmp_path):
    poem = write(tmp_path / "p.txt", "---\nauthor: Alexander Pope\ntitle: An Essay On Man: Epistle I.\n---\nAwake\n")
    corpus = read_corpus(poem)
    assert [(p.title, p.author, p.text) for p in corpus.poems] == [("An Essay On Man: Epistle I.", "Alexander Pope", "Awake")]
    assert corpus.stats["front_matter_not_yaml"] == 1


def test_invalid_json_is_an_error_naming_the_file(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"bad\.json is not valid JSON"):
        read_corpus(write(tmp_path / "bad.json", "[{"))
    with pytest.raises(PoetryRnnError, match=r"bad\.jsonl line 2 is not valid JSON"):
        read_corpus(write(tmp_path / "bad.jsonl", '{"text": "a"}\nnope\n'))


def test_json_that_is_not_a_list_is_an_error(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"expected a list"):
        read_corpus(write(tmp_path / "poems.json", json.dumps({"text": "a"})))


def test_utf8_bom_is_stripped_and_crlf_made_lf(tmp_path):
    write(tmp_path / "p" / "bom.txt", "\ufeff---\ntitle: Bom\n---\r\nline one\r\nline two\rline three\r\n")
    corpus = read_corpus(tmp_path / "p")
    assert corpus.poems[0].title == "Bom"
    assert corpus.poems[0].text == "line one\nline two\nline three"
    assert corpus.stats["decoded_latin1"] == 0


def test_non_utf8_files_fall_back_to_cp1252_or_latin1_and_are_counted(tmp_path):
    write(tmp_path / "p" / "cp1252.txt", "Caf\u00e9 \u2019tis\n".encode("cp1252"))
    write(tmp_path / "p" / "latin1.txt", b"Na\xefve \x81 song\n")  # 0x81 is undefined in cp1252
    corpus = read_corpus(tmp_path / "p")
    assert [p.text for p in corpus.poems] == ["Caf\u00e9 \u2019tis", "Na\u00efve \x81 song"]
    assert corpus.stats["decoded_latin1"] == 2


def test_empty_and_binary_files_are_skipped_and_counted(tmp_path):
    write(tmp_path / "p" / "poem.txt", "a real poem\n")
    write(tmp_path / "p" / "empty.txt", "")
    write(tmp_path / "p" / "front-only.txt", "---\ntitle: Nothing\n---\n\n  \n")
    write(tmp_path / "p" / "image.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    corpus = read_corpus(tmp_path / "p")
    assert [p.text for p in corpus.poems] == ["a real poem"]
    assert corpus.stats["files_read"] == 4
    assert corpus.stats["skipped_empty"] == 2
    assert corpus.stats["skipped_binary"] == 1
    assert corpus.stats["skipped_examples"] == ["empty.txt", "front-only.txt", "image.txt"]


def test_skipped_examples_keep_only_the_first_five(tmp_path):
    write(tmp_path / "p" / "poem.txt", "a real poem\n")
    for i in range(7):
        write(tmp_path / "p" / f"empty{i}.txt", "\n")
    corpus = read_corpus(tmp_path / "p")
    assert corpus.stats["skipped_empty"] == 7
    assert corpus.stats["skipped_examples"] == [f"empty{i}.txt" for i in range(5)]


def test_exact_duplicate_poems_are_dropped_keeping_the_first(tmp_path):
    write(tmp_path / "p" / "a.txt", "---\ntitle: First\n---\nSame words here\nand here\n")
    write(tmp_path / "p" / "b.txt", "---\ntitle: Second\n---\nSame words here  \r\nand here\n\n")
    write(tmp_path / "p" / "c.txt", "Different words\n")
    corpus = read_corpus(tmp_path / "p")
    assert [p.title for p in corpus.poems] == ["First", "c"]
    assert corpus.stats["duplicates_dropped"] == 1


def test_results_are_deterministic(tmp_path):
    folder = poem_folder(tmp_path / "poems")
    assert read_corpus(folder) == read_corpus(folder)
    assert isinstance(read_corpus(folder), Corpus)


def test_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"nowhere\.txt does not exist"):
        read_corpus(tmp_path / "nowhere.txt")


def test_unsupported_file_type_lists_accepted_kinds(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"unsupported type '\.pdf'.*folder.*\.zip.*\.json.*\.jsonl.*\.txt"):
        read_corpus(write(tmp_path / "poems.pdf", "%PDF"))


def test_corpus_without_any_poem_is_an_error_naming_the_path(tmp_path):
    write(tmp_path / "p" / "empty.txt", "")
    with pytest.raises(PoetryRnnError, match=r"p yields no poem \(1 files read, 1 empty"):
        read_corpus(tmp_path / "p")
    (tmp_path / "none").mkdir()
    with pytest.raises(PoetryRnnError, match=r"none yields no poem"):
        read_corpus(tmp_path / "none")


def test_broken_zip_is_an_error_naming_it(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"broken\.zip is not a readable zip"):
        read_corpus(write(tmp_path / "broken.zip", b"not a zip"))


def test_reading_a_corpus_with_odd_files_never_changes_them(tmp_path):
    files = {"bom.txt": "\ufeffline\r\n".encode(), "latin.txt": "caf\u00e9\n".encode("latin-1"), "empty.txt": b"",
             "bin.txt": b"\0\0", "dup.txt": b"line\n"}
    for name, raw in files.items():
        write(tmp_path / "p" / name, raw)
    corpus = read_corpus(tmp_path / "p")
    assert corpus.stats["decoded_latin1"] == 1 and corpus.stats["duplicates_dropped"] == 1
    assert {f.name: f.read_bytes() for f in (tmp_path / "p").iterdir()} == files  # nothing rewritten or added
