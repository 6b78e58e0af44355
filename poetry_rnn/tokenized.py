"""Poems as GloVe ids: one flat int32 array of ids plus a table saying where each poem lies.

Unknown-word policy: a token missing from the GloVe vocabulary is dropped (GloVe has no
vector for it and inventing one would score noise), and counted; a poem left with no
known token is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from poetry_rnn.corpus import Poem
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.tokenize import tokenize


@dataclass
class TokenizedCorpus:
    poems: pd.DataFrame  # poem_id, title, author, source, start, length, tokens, unknown
    ids: np.ndarray  # (total known tokens,) int32 GloVe row ids, poems back to back

    def poem_tokens(self) -> list[np.ndarray]:
        """Each poem's ids, in table order."""
        return [self.ids[s : s + n] for s, n in zip(self.poems["start"], self.poems["length"])]


def encode_poems(poems: list[Poem], index: dict[str, int]) -> tuple[TokenizedCorpus, dict]:
    """Tokenize each poem and map tokens to GloVe rows; returns the corpus and counts."""
    rows, chunks, start, skipped = [], [], 0, []
    total = unknown_total = 0
    for poem in poems:
        tokens = tokenize(poem.text)
        ids = [index[t] for t in tokens if t in index]
        total += len(tokens)
        unknown_total += len(tokens) - len(ids)
        if not ids:
            skipped.append(poem.source)
            continue
        rows.append(
            dict(poem_id=len(rows), title=poem.title, author=poem.author, source=poem.source,
                 start=start, length=len(ids), tokens=len(tokens), unknown=len(tokens) - len(ids))
        )
        chunks.append(np.asarray(ids, np.int32))
        start += len(ids)
    if not rows:
        raise PoetryRnnError(
            f"none of the {len(poems)} poems has a word in the GloVe vocabulary: "
            "check that glove.url and poems.source are the files you meant"
        )
    stats = {
        "poems": len(rows),
        "tokens": total,
        "known_tokens": total - unknown_total,
        "glove_coverage": (total - unknown_total) / max(total, 1),
        "poems_skipped_no_known_token": len(skipped),
    }
    return TokenizedCorpus(pd.DataFrame(rows), np.concatenate(chunks)), stats


def save_corpus(corpus: TokenizedCorpus, folder: Path) -> None:
    """Write poems.csv and ids.npy into a new folder."""
    folder.mkdir(parents=True)
    corpus.poems.to_csv(folder / "poems.csv", index=False)
    np.save(folder / "ids.npy", corpus.ids)


def load_corpus(folder: Path) -> TokenizedCorpus:
    """Read what save_corpus wrote."""
    if not (Path(folder) / "ids.npy").is_file():
        raise PoetryRnnError(f"{folder} holds no tokenized corpus: run `dvc repro preprocess` first")
    return TokenizedCorpus(pd.read_csv(folder / "poems.csv", keep_default_na=False), np.load(folder / "ids.npy"))
