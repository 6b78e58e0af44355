import numpy as np
import pytest

from poetry_rnn.inputs.corpus import Poem
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.inputs.tokenized import encode_poems, load_corpus, numeric_stats, save_corpus, summary_line

INDEX = {w: i for i, w in enumerate(["the", "sea", "is", "blue", ",", "."])}


def poem(text, title="t"):
    return Poem(title=title, author="a", text=text, source=f"{title}.txt")


def test_unknown_words_are_dropped_and_counted():
    corpus, stats = encode_poems([poem("The sea is wine-dark, blue.")], INDEX)
    assert corpus.ids.tolist() == [0, 1, 2, 4, 3, 5] and corpus.ids.dtype == np.int32
    assert stats["tokens"] == 7 and stats["known_tokens"] == 6
    assert stats["glove_coverage"] == pytest.approx(6 / 7)


def test_poem_without_a_known_word_is_skipped_not_fatal():
    corpus, stats = encode_poems([poem("zzz qqq", "a"), poem("the sea", "b")], INDEX)
    assert list(corpus.poems["title"]) == ["b"] and stats["poems_skipped_no_known_token"] == 1
    assert stats["skipped_no_known_token_examples"] == ["a.txt"]


def test_skipped_poem_names_keep_only_the_first_five():
    poems = [poem("zzz", f"u{i}") for i in range(7)] + [poem("the sea", "ok")]
    _, stats = encode_poems(poems, INDEX)
    assert stats["poems_skipped_no_known_token"] == 7
    assert stats["skipped_no_known_token_examples"] == [f"u{i}.txt" for i in range(5)]


def test_summary_line_names_every_kind_of_skip_and_the_first_files():
    read = {"files_read": 9, "decoded_latin1": 2, "skipped_empty": 1, "skipped_binary": 1,
            "duplicates_dropped": 1, "skipped_examples": ["empty.txt", "image.txt"]}
    _, stats = encode_poems([poem("zzz", "unknown"), poem("the sea", "ok")], INDEX)
    assert summary_line(read, stats) == (
        "kept 1 poems; skipped 1 empty, 1 binary, 1 with no word in GloVe; dropped 1 exact duplicates; "
        "decoded 2 files as Latin-1/cp1252 (not UTF-8); first skipped: empty.txt, image.txt, unknown.txt"
    )


def test_summary_line_of_a_clean_corpus_says_only_what_was_kept():
    read = {"files_read": 1, "decoded_latin1": 0, "skipped_empty": 0, "skipped_binary": 0,
            "duplicates_dropped": 0, "skipped_examples": []}
    _, stats = encode_poems([poem("the sea", "ok")], INDEX)
    assert summary_line(read, stats) == "kept 1 poems"


def test_metrics_keep_only_numbers_never_file_names():
    stats = {"poems": 2, "glove_coverage": 0.5, "names": ["a.txt"],
             "source": {"files_read": 3, "skipped_examples": ["b"]}}
    assert numeric_stats(stats) == {"poems": 2, "glove_coverage": 0.5, "source": {"files_read": 3}}


def test_corpus_with_no_known_word_at_all_is_a_clear_error():
    with pytest.raises(PoetryRnnError, match=r"none of the 1 poems has a word in the GloVe vocabulary \(e.g. t.txt\)"):
        encode_poems([poem("zzz")], INDEX)


def test_round_trip_keeps_each_poems_tokens(tmp_path):
    corpus, _ = encode_poems([poem("the sea", "a"), poem("blue is blue", "b")], INDEX)
    save_corpus(corpus, tmp_path / "corpus")
    back = load_corpus(tmp_path / "corpus")
    assert [t.tolist() for t in back.poem_tokens()] == [[0, 1], [3, 2, 3]]
