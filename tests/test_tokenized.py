import numpy as np
import pytest

from poetry_rnn.corpus import Poem
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.tokenized import encode_poems, load_corpus, save_corpus

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


def test_corpus_with_no_known_word_at_all_is_a_clear_error():
    with pytest.raises(PoetryRnnError, match="none of the 1 poems has a word in the GloVe vocabulary"):
        encode_poems([poem("zzz")], INDEX)


def test_round_trip_keeps_each_poems_tokens(tmp_path):
    corpus, _ = encode_poems([poem("the sea", "a"), poem("blue is blue", "b")], INDEX)
    save_corpus(corpus, tmp_path / "corpus")
    back = load_corpus(tmp_path / "corpus")
    assert [t.tolist() for t in back.poem_tokens()] == [[0, 1], [3, 2, 3]]
