"""Split text into tokens the way GloVe 6B's vocabulary has them (Stanford tokenizer, lowercased)."""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

# Curly quotes and apostrophes become ASCII so "don’t" and "don't" give the same tokens.
_ASCII_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})

_TOKEN = re.compile(
    r"""
      \d+(?:[.,]\d+)*(?![^\W_])             # numbers: 1896, 1,000, 3.14 (not 1st: that is a word)
    | (?<![^\W_])'[^\W\d_]+(?:[-'][^\W_]+)*  # leading apostrophe: 'tis, 't, 'neath, a detached 's
    | [^\W_]+(?:[-'][^\W_]+)*                # words, keeping inner hyphens and apostrophes: to-day, o'er
    | -{2,}                                  # a run of hyphens is a dash: --
    | \.{2,}                                 # ellipsis
    | \S                                     # any other mark on its own: , . ; : ! ? " ( ) [ ] - '
    """,
    re.VERBOSE,
)

# Clitics the Stanford tokenizer splits off the word before them ("summer's" -> summer 's).
_CLITIC = re.compile(r"^(.+?)('s|'ll|'re|'ve|'d|'m)$")


def tokenize(text: str) -> list[str]:
    """Lowercased GloVe-style tokens of text: words, numbers, marks, clitics split off."""
    text = unicodedata.normalize("NFKC", text).translate(_ASCII_QUOTES).lower()
    text = text.replace("_", "")  # _word_ marks emphasis in Gutenberg texts, not a token
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if token.startswith(".."):
            tokens.append("...")
        elif token.startswith("--"):
            tokens.append("--")
        elif len(token) > 3 and token.endswith("n't"):
            tokens += [token[:-3], "n't"]  # don't -> do n't, can't -> ca n't, won't -> wo n't
        elif match := _CLITIC.match(token):
            tokens += [match.group(1), match.group(2)]
        else:
            tokens.append(token)
    return tokens


_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "...", "n't", "'s", "'ll", "'re", "'ve", "'d", "'m"}
_NO_SPACE_AFTER = {"(", "["}


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens into readable text: no space before marks and clitics, quotes hug their words."""
    out: list[str] = []
    quote_open = False
    glue_next = True  # nothing before the first token
    for token in tokens:
        if token == '"':
            # An opening quote takes a space before it; a closing one hugs the word before.
            quote_open = not quote_open
            if quote_open and not glue_next:
                out.append(" ")
            out.append(token)
            glue_next = quote_open
            continue
        if not glue_next and token not in _NO_SPACE_BEFORE:
            out.append(" ")
        out.append(token)
        glue_next = token in _NO_SPACE_AFTER
    return "".join(out)


def is_punctuation(word: str) -> bool:
    """A token with no letter or digit: , . ; -- ... " and the like."""
    return not any(ch.isalnum() for ch in word)
