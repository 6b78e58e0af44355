"""convert_glove() and load_glove(): zip or text in, vocab.txt + vectors.npy + meta.json out."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from poetry_rnn import glove
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.glove import convert_glove, load_glove

TEXT = (
    "the 0.1 0.2 0.3\n"
    ", -1 2.5 3e-2\n"
    "new york 4 5 6\n"  # a token with a space, as in glove.840B
    "the 9 9 9\n"  # duplicate: the first vector wins
    "café 7 8 9\n"
)
WORDS = ["the", ",", "new york", "café"]
VECTORS = np.array([[0.1, 0.2, 0.3], [-1, 2.5, 0.03], [4, 5, 6], [7, 8, 9]], dtype=np.float32)


def left(out):
    """What a failed conversion left in its output folder (the stage's is a temporary, removed as a whole)."""
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


def write_txt(path, text=TEXT):
    path.write_bytes(text.encode("utf-8"))
    return path


def write_zip(path, member="glove.test.3d.txt", text=TEXT):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README", "not vectors")
        zf.writestr(member, text.encode("utf-8"))
    return path


def test_zip_and_plain_text_give_the_same_vocab_and_vectors(tmp_path):
    meta_zip = convert_glove(write_zip(tmp_path / "g.zip"), "glove.test.3d.txt", 3, tmp_path / "from_zip")
    meta_txt = convert_glove(write_txt(tmp_path / "other-name.txt"), "ignored.txt", 3, tmp_path / "from_txt")
    a, b = load_glove(tmp_path / "from_zip"), load_glove(tmp_path / "from_txt")
    assert a.words == b.words == WORDS
    np.testing.assert_array_equal(a.vectors, VECTORS)
    np.testing.assert_array_equal(b.vectors, VECTORS)
    assert meta_zip == {"words": 4, "dim": 3, "duplicates": 1, "source": "g.zip", "member": "glove.test.3d.txt"}
    assert meta_txt["source"] == "other-name.txt" and meta_txt["words"] == 4
    assert json.loads((tmp_path / "from_zip" / "meta.json").read_text()) == meta_zip
    assert sorted(p.name for p in (tmp_path / "from_zip").iterdir()) == ["meta.json", "vectors.npy", "vocab.txt"]


def test_duplicates_are_counted_and_the_first_vector_is_kept(tmp_path):
    meta = convert_glove(write_txt(tmp_path / "g.txt"), "", 3, tmp_path / "out")
    g = load_glove(tmp_path / "out")
    assert meta["duplicates"] == 1
    assert g.words.count("the") == 1
    np.testing.assert_array_equal(g.vectors[g.index["the"]], VECTORS[0])


def test_tokens_with_spaces_are_parsed_from_the_right(tmp_path):
    convert_glove(write_txt(tmp_path / "g.txt", "a b c 1 2 3\n. . 4 5 6\npage 2 7 8 9\n"), "", 3, tmp_path / "out")
    g = load_glove(tmp_path / "out")
    assert g.words == ["a b c", ". .", "page 2"]
    np.testing.assert_array_equal(g.vectors, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert (tmp_path / "out" / "vocab.txt").read_text(encoding="utf-8") == "a b c\n. .\npage 2\n"


def test_load_glove_returns_read_only_float32_memmap_of_right_shape(tmp_path):
    convert_glove(write_txt(tmp_path / "g.txt"), "", 3, tmp_path / "out")
    g = load_glove(tmp_path / "out")
    assert isinstance(g.vectors, np.memmap)
    assert g.vectors.shape == (4, 3) and g.vectors.dtype == np.float32 and g.dim == 3
    assert not g.vectors.flags.writeable
    assert g.index == {w: i for i, w in enumerate(WORDS)}


def test_many_rows_cross_block_boundaries_intact(tmp_path, monkeypatch):
    monkeypatch.setattr(glove, "BLOCK_ROWS", 7)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 4)).astype(np.float32)
    text = "".join(f"w{i} " + " ".join(repr(float(x)) for x in row) + "\n" for i, row in enumerate(vectors))
    convert_glove(write_txt(tmp_path / "g.txt", text), "", 4, tmp_path / "out")
    np.testing.assert_array_equal(load_glove(tmp_path / "out").vectors, vectors)


def test_missing_member_lists_the_members_that_exist(tmp_path):
    src = write_zip(tmp_path / "g.zip")
    with pytest.raises(PoetryRnnError) as err:
        convert_glove(src, "glove.6B.300d.txt", 3, tmp_path / "out")
    message = str(err.value)
    assert "glove.6B.300d.txt" in message and "README" in message and "glove.test.3d.txt" in message
    assert left(tmp_path / "out") == [] and sorted(p.name for p in tmp_path.iterdir()) == ["g.zip", "out"]


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/passwd", "a/../../b.txt", "C:\\x.txt"])
def test_member_names_escaping_the_archive_are_refused(tmp_path, member):
    src = write_zip(tmp_path / "g.zip")
    with pytest.raises(PoetryRnnError, match="refusing zip member") as err:
        convert_glove(src, member, 3, tmp_path / "out")
    assert repr(member) in str(err.value)
    assert left(tmp_path / "out") == [] and sorted(p.name for p in tmp_path.iterdir()) == ["g.zip", "out"]


def test_wrong_dim_is_refused_naming_both_dims(tmp_path):
    with pytest.raises(PoetryRnnError) as err:
        convert_glove(write_txt(tmp_path / "g.txt"), "", 50, tmp_path / "out")
    message = str(err.value)
    assert "3-dimensional" in message and "glove.dim is 50" in message and "g.txt" in message
    assert left(tmp_path / "out") == []


def test_malformed_line_reports_file_and_line_number(tmp_path):
    text = "the 0.1 0.2 0.3\nof 1 2\nand 1 2 3\n"
    with pytest.raises(PoetryRnnError) as err:
        convert_glove(write_txt(tmp_path / "g.txt", text), "", 3, tmp_path / "out")
    assert "line 2" in str(err.value) and "g.txt" in str(err.value)
    assert left(tmp_path / "out") == []  # no vectors.f32.part, no vectors.npy
    assert (tmp_path / "g.txt").read_text() == text  # the source is only read


def test_non_number_reports_line_number_inside_zip(tmp_path):
    src = write_zip(tmp_path / "g.zip", text="the 0.1 0.2 0.3\nof 1 2 3\nand 1 x 3\n")
    with pytest.raises(PoetryRnnError) as err:
        convert_glove(src, "glove.test.3d.txt", 3, tmp_path / "out")
    message = str(err.value)
    assert "line 3" in message and "g.zip:glove.test.3d.txt" in message and "b'x'" in message
    assert left(tmp_path / "out") == []


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(PoetryRnnError, match="holds no vectors"):
        convert_glove(write_txt(tmp_path / "g.txt", ""), "", 3, tmp_path / "out")
    assert left(tmp_path / "out") == []


def test_truncated_zip_is_reported_as_corrupt(tmp_path):
    src = write_zip(tmp_path / "g.zip", text=TEXT * 200)
    src.write_bytes(src.read_bytes()[:300])
    with pytest.raises(PoetryRnnError, match="corrupt or truncated") as err:
        convert_glove(src, "glove.test.3d.txt", 3, tmp_path / "out")
    assert "g.zip" in str(err.value) and "dvc repro download_glove" in str(err.value)
    assert left(tmp_path / "out") == []


def test_damaged_compressed_data_is_reported_as_corrupt(tmp_path):
    src = write_zip(tmp_path / "g.zip", member="m.txt", text=TEXT * 200)
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo("m.txt")
    start = info.header_offset + 30 + len("m.txt")  # past the local header: the deflate stream
    for i in range(start + 10, start + 60):
        data[i] ^= 0xFF
    src.write_bytes(bytes(data))
    with pytest.raises(PoetryRnnError, match="corrupt or truncated"):
        convert_glove(src, "m.txt", 3, tmp_path / "out")
    assert left(tmp_path / "out") == []


def test_decompression_past_the_cap_stops_with_an_error(tmp_path, monkeypatch):
    src = write_zip(tmp_path / "g.zip", text="the 0 0 0\n" * 10_000)
    monkeypatch.setattr(glove, "MAX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(PoetryRnnError, match="says it unpacks to 100000 bytes, over the 1000-byte cap"):
        convert_glove(src, "glove.test.3d.txt", 3, tmp_path / "out")
    assert left(tmp_path / "out") == []


def test_a_stream_running_past_the_cap_stops_with_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(glove, "MAX_UNCOMPRESSED_BYTES", 1000)  # a zip's size field can lie; the stream is counted
    with pytest.raises(PoetryRnnError, match=r"g\.txt unpacks past the 1000-byte cap"):
        convert_glove(write_txt(tmp_path / "g.txt", "the 0 0 0\n" * 10_000), "", 3, tmp_path / "out")
    assert left(tmp_path / "out") == []


def test_a_line_without_newline_past_the_line_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(glove, "MAX_LINE_BYTES", 64)
    with pytest.raises(PoetryRnnError, match="has a line over 64 bytes"):
        convert_glove(write_txt(tmp_path / "g.txt", "the 0 0 0\n" + "x" * 200), "", 3, tmp_path / "out")
    assert left(tmp_path / "out") == []


def test_a_line_with_too_many_values_reports_its_line_number(tmp_path):
    text = "the 0.1 0.2 0.3\nof 0.1 0.2 0.3 0.4\n"
    with pytest.raises(PoetryRnnError, match=r"g\.txt line 2: expected a word and 3 numbers, found more numbers"):
        convert_glove(write_txt(tmp_path / "g.txt", text), "", 3, tmp_path / "out")
    assert left(tmp_path / "out") == []


def test_a_nan_value_reports_its_line_number(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"g\.txt line 2: a value is nan or inf"):
        convert_glove(write_txt(tmp_path / "g.txt", "the 0.1 0.2 0.3\nof 1 nan 3\n"), "", 3, tmp_path / "out")
    assert left(tmp_path / "out") == []


def test_only_the_named_member_is_read_and_nothing_is_extracted_beside_the_zip(tmp_path):
    src = write_zip(tmp_path / "g.zip")
    convert_glove(src, "glove.test.3d.txt", 3, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.zip", "out"]  # no README, no member on disk
    assert left(tmp_path / "out") == ["meta.json", "vectors.npy", "vocab.txt"]


def test_missing_source_file_is_refused(tmp_path):
    with pytest.raises(PoetryRnnError, match="does not exist"):
        convert_glove(tmp_path / "nope.zip", "x.txt", 3, tmp_path / "out")


def test_load_glove_on_missing_files_says_to_run_the_stage(tmp_path):
    with pytest.raises(PoetryRnnError, match="dvc repro download_glove") as err:
        load_glove(tmp_path / "never-built")
    assert "vocab.txt" in str(err.value)
