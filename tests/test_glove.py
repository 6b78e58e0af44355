"""convert_glove() and load_glove(): zip or text in, vocab.txt + vectors.npy + meta.json out."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from poetry_rnn.inputs import glove
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.inputs.glove import convert_glove, load_glove

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


def write_bytes(path, data):
    path.write_bytes(data)
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



# ---- the fast parser (pyarrow) against the careful one (line by line) -------------------------------------------


def careful_only(monkeypatch):
    """Every piece goes to the line-by-line parser, as before pyarrow."""
    monkeypatch.setattr(glove, "_fast", lambda *args: False)


def no_careful(monkeypatch):
    """Fail if any piece reaches the line-by-line parser."""
    def refuse(piece, *args):
        raise AssertionError(f"the careful parser was given {bytes(piece[:60])!r}...")
    monkeypatch.setattr(glove, "_parse", refuse)


def outputs(out):
    return {name: (out / name).read_bytes() for name in ("vocab.txt", "vectors.npy", "meta.json")}


def random_glove(rng, words, dim):
    """GloVe text with numbers written several ways, as the releases and other tools write them."""
    forms = [lambda v: f"{v:.5f}", lambda v: f"{v:.6g}", lambda v: repr(float(v)), lambda v: f"{v:.4e}"]
    return "".join(w + " " + " ".join(forms[(i + j) % 4](v) for j, v in enumerate(rng.normal(size=dim))) + "\n"
                   for i, w in enumerate(words))


ODD_WORDS = ["null", "nan", "NA", "N/A", "None", "", '"', '"quoted"', "it's", "#", "\\", "true", "1", "-", "inf"]
ODD_LINES = [
    b"\xef\xbb\xbfthe 1 2 3\n",  # a BOM: pyarrow would drop it, the careful parser keeps it in the word
    b"\n",
    b"a 1 2 3\rb 4 5 6\n",  # a lone \r ends no line: the word is `a 1 2 3\rb`
    b"crlf 7 8 9\r\n",
    b"new york 1 1 1\n",  # a word with a space, as in glove.840B
    b"caf\xe9 2 2 2\n",  # Latin-1, not UTF-8: decoded with U+FFFD
    b"w7 9 9 9\n",  # a duplicate: the first vector stays
    b"mid 1.0000000596046447755 0 0\n",  # past a float32 midpoint: rounded via a double, as Python does, it is 1.0
    b"zero 0 -0 1e-50\n",
]


@pytest.mark.parametrize("chunk", [1 << 20, 200, 1])
def test_fast_and_careful_parsers_write_identical_files(tmp_path, monkeypatch, chunk):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)] + ODD_WORDS
    groups = np.array_split(words, len(ODD_LINES))  # plain lines between odd ones
    text = b"".join(line + random_glove(rng, list(group), 3).encode() for line, group in zip(ODD_LINES, groups))
    text += b"last 1 2 3"  # no newline at the end
    monkeypatch.setattr(glove, "CHUNK_BYTES", chunk)  # chunk boundaries, and halving the odd pieces, everywhere
    monkeypatch.setattr(glove, "CAREFUL_BYTES", 100)
    fast = convert_glove(write_bytes(tmp_path / "g.txt", text), "", 3, tmp_path / "fast")
    with monkeypatch.context() as m:
        careful_only(m)
        careful = convert_glove(tmp_path / "g.txt", "", 3, tmp_path / "careful")
    assert fast == careful and fast["duplicates"] == 1
    assert outputs(tmp_path / "fast") == outputs(tmp_path / "careful")
    g = load_glove(tmp_path / "fast")
    assert [w for w in g.words if not w.startswith("w")] == [
        "\ufeffthe", "a 1 2 3\rb", "crlf", "new york", "caf\ufffd", "mid", "zero", *ODD_WORDS, "last"]
    assert g.vectors[g.index["mid"]].tolist() == [1, 0, 0] and g.vectors[g.index["w7"]].tolist() != [9, 9, 9]


def test_plain_glove_text_never_needs_the_careful_parser(tmp_path, monkeypatch):
    words = [f"w{i}" for i in range(2000)] + ["w3", "w1999"] + ODD_WORDS
    text = random_glove(np.random.default_rng(1), words, 5).replace("\n", "\r\n", 50)  # CRLF lines too
    monkeypatch.setattr(glove, "CHUNK_BYTES", 4096)
    with monkeypatch.context() as m:
        careful_only(m)
        careful = convert_glove(write_txt(tmp_path / "g.txt", text), "", 5, tmp_path / "careful")
    no_careful(monkeypatch)
    assert convert_glove(tmp_path / "g.txt", "", 5, tmp_path / "fast") == careful
    assert outputs(tmp_path / "fast") == outputs(tmp_path / "careful")
    g = load_glove(tmp_path / "fast")
    assert g.words[2000:] == ODD_WORDS and len(g.words) == len(words) - 2  # null, nan, `"`... stay words


def test_words_with_spaces_deep_in_a_large_file_convert_and_only_their_piece_is_read_carefully(tmp_path, monkeypatch):
    words = [f"w{i}" for i in range(3000)]
    words[1234], words[2500] = ". . .", "at name@domain.com"  # as in glove.840B.300d.txt
    text = random_glove(np.random.default_rng(2), words, 4)
    monkeypatch.setattr(glove, "CHUNK_BYTES", 16 << 10)
    monkeypatch.setattr(glove, "CAREFUL_BYTES", 2 << 10)
    careful = []
    parse = glove._parse
    monkeypatch.setattr(glove, "_parse", lambda piece, *args: careful.append(len(piece)) or parse(piece, *args))
    convert_glove(write_txt(tmp_path / "g.txt", text), "", 4, tmp_path / "out")
    g = load_glove(tmp_path / "out")
    assert g.words == words
    assert g.vectors[1234].tolist() == [float(np.float32(v)) for v in text.splitlines()[1234].split()[3:]]
    assert len(careful) == 2 and sum(careful) <= 2 * (2 << 10)  # the rest went through pyarrow


@pytest.mark.parametrize("fault, message", [
    ("w4321 0.1 x 0.3", "could not convert string to float: b'x'"),
    ("w4321 0.1 0.2", "expected a word and 3 numbers, found 3 fields"),
    ("w4321 0.1 0.2 0.3 0.4", "expected a word and 3 numbers, found more numbers"),
    ("w4321 0.1 nan 0.3", "a value is nan or inf"),
    ("w4321 0.1 1e39 0.3", "a value is nan or inf"),  # past float32
])
def test_a_bad_line_deep_in_a_file_reports_its_line_number(tmp_path, monkeypatch, fault, message):
    lines = random_glove(np.random.default_rng(3), [f"w{i}" for i in range(5000)], 3).splitlines()
    lines[9] = ""  # blank lines count as lines
    lines[4320] = fault  # line 4321
    monkeypatch.setattr(glove, "CHUNK_BYTES", 8 << 10)
    monkeypatch.setattr(glove, "CAREFUL_BYTES", 1 << 10)
    with pytest.raises(PoetryRnnError) as err:
        convert_glove(write_txt(tmp_path / "g.txt", "\n".join(lines) + "\n"), "", 3, tmp_path / "out")
    assert "g.txt line 4321: " in str(err.value) and message in str(err.value)
    assert left(tmp_path / "out") == []


def test_rows_go_straight_into_vectors_npy_with_no_second_copy(tmp_path, monkeypatch):
    words = [f"w{i}" for i in range(3000)] + ["new york"]
    monkeypatch.setattr(glove, "CHUNK_BYTES", 8 << 10)
    out = tmp_path / "out"
    seen = set()
    for name in ("_fast", "_parse"):  # what the output folder holds whenever a piece is parsed
        parse = getattr(glove, name)
        monkeypatch.setattr(glove, name, lambda *args, parse=parse: seen.update(os.listdir(out)) or parse(*args))
    convert_glove(write_txt(tmp_path / "g.txt", random_glove(np.random.default_rng(4), words, 7)), "", 7, out)
    assert seen == {"vectors.npy"}
    assert left(out) == ["meta.json", "vectors.npy", "vocab.txt"]
    vectors = np.load(out / "vectors.npy")
    assert vectors.shape == (3001, 7) and vectors.dtype == np.float32
    with open(out / "vectors.npy", "rb") as f:  # the header written again in place: the body starts where it did
        np.lib.format.read_magic(f)
        assert np.lib.format.read_array_header_1_0(f) == ((3001, 7), False, np.dtype("<f4"))
        assert f.tell() == glove.NPY_HEADER_BYTES
    assert (out / "vectors.npy").stat().st_size == glove.NPY_HEADER_BYTES + 3001 * 7 * 4


def test_zip_member_is_streamed_through_the_fast_parser(tmp_path, monkeypatch):
    text = random_glove(np.random.default_rng(5), [f"w{i}" for i in range(1000)], 3)
    monkeypatch.setattr(glove, "CHUNK_BYTES", 4096)
    convert_glove(write_txt(tmp_path / "g.txt", text), "", 3, tmp_path / "from_txt")
    no_careful(monkeypatch)
    convert_glove(write_zip(tmp_path / "g.zip", text=text), "glove.test.3d.txt", 3, tmp_path / "from_zip")
    assert outputs(tmp_path / "from_zip")["vectors.npy"] == outputs(tmp_path / "from_txt")["vectors.npy"]


def test_the_text_is_read_a_few_chunks_ahead_never_whole(tmp_path, monkeypatch):
    text = random_glove(np.random.default_rng(6), [f"w{i}" for i in range(2000)], 4)
    monkeypatch.setattr(glove, "CHUNK_BYTES", 1024)
    chunks, ahead, most = 0, 0, 0
    read_chunk, fast = glove._read_chunk, glove._fast

    def reading(f):
        nonlocal chunks, ahead, most
        chunk = read_chunk(f)
        chunks, ahead = chunks + bool(chunk), ahead + bool(chunk)
        most = max(most, ahead)
        return chunk

    def storing(piece, dim, out, got, parsed=None):
        nonlocal ahead
        ahead -= parsed is not None  # a whole chunk, not a half of one
        return fast(piece, dim, out, got, parsed)

    monkeypatch.setattr(glove, "_read_chunk", reading)
    monkeypatch.setattr(glove, "_fast", storing)
    convert_glove(write_txt(tmp_path / "g.txt", text), "", 4, tmp_path / "out")
    assert chunks > 50 and most <= glove.PARSERS + 1
