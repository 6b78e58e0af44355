"""Tokens must match GloVe 6B's vocabulary: lowercased Stanford-tokenizer style."""

from __future__ import annotations

import pytest

from poetry_rnn.inputs.tokenize import detokenize, tokenize


def test_lowercases_words():
    assert tokenize("Because I could NOT stop") == ["because", "i", "could", "not", "stop"]


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("don't", ["do", "n't"]),
        ("can't", ["ca", "n't"]),
        ("won't", ["wo", "n't"]),
        ("shouldn't", ["should", "n't"]),
        ("it's", ["it", "'s"]),
        ("summer's", ["summer", "'s"]),
        ("I'll", ["i", "'ll"]),
        ("we're", ["we", "'re"]),
        ("you've", ["you", "'ve"]),
        ("he'd", ["he", "'d"]),
        ("I'm", ["i", "'m"]),
        ("to-day's", ["to-day", "'s"]),
    ],
)
def test_splits_clitics_off_the_word(text, tokens):
    assert tokenize(text) == tokens


def test_keeps_poetic_elisions_whole():
    assert tokenize("o'er ne'er e'er") == ["o'er", "ne'er", "e'er"]


def test_leading_apostrophe_stays_on_its_word():
    assert tokenize("'T is so") == ["'t", "is", "so"]
    assert tokenize("'Tis and 'twas") == ["'tis", "and", "'twas"]


def test_detached_clitic_is_one_token():
    # The Dickinson book prints "letter 's" and "They 'd" with a space before the clitic.
    assert tokenize("letter 's this They 'd go") == ["letter", "'s", "this", "they", "'d", "go"]


def test_plural_possessive_apostrophe_is_its_own_token():
    assert tokenize("angels' wings") == ["angels", "'", "wings"]


def test_punctuation_marks_are_separate_tokens():
    assert tokenize('Hope, (said he); "no" [sic]: yes! why? end.') == [
        "hope", ",", "(", "said", "he", ")", ";", '"', "no", '"',
        "[", "sic", "]", ":", "yes", "!", "why", "?", "end", ".",
    ]


def test_curly_quotes_become_ascii():
    assert tokenize("“Don’t” ‘twas") == ['"', "do", "n't", '"', "'twas"]


def test_double_hyphen_is_a_dash_token():
    assert tokenize("night -- and day--dawn") == ["night", "--", "and", "day", "--", "dawn"]
    assert tokenize("themes,---life") == ["themes", ",", "--", "life"]


def test_spaced_hyphen_is_a_dash_but_hyphenated_words_stay_whole():
    assert tokenize("Deposed - at length to-day") == ["deposed", "-", "at", "length", "to-day"]


def test_em_dash_is_kept_as_glove_has_it():
    assert tokenize("sea—sky") == ["sea", "—", "sky"]


def test_emphasis_underscores_are_removed():
    assert tokenize("Bound to _opposing_ lands") == ["bound", "to", "opposing", "lands"]


def test_numbers_and_ellipsis():
    assert tokenize("In 1,862 or 3.14 or 1896... the 1st") == [
        "in", "1,862", "or", "3.14", "or", "1896", "...", "the", "1st",
    ]


def test_nfkc_normalises_compatibility_characters():
    assert tokenize("ﬁne Ｓｅａ") == ["fine", "sea"]


def test_empty_text_has_no_tokens():
    assert tokenize("  \n\t ") == []


def test_detokenize_joins_with_readable_spacing():
    tokens = tokenize('I\'m nobody! "Who are you?" (I can\'t say), summer\'s day -- done.')
    assert detokenize(tokens) == 'i\'m nobody! "who are you?" (i can\'t say), summer\'s day -- done.'


def test_detokenize_of_nothing_is_empty():
    assert detokenize([]) == ""
