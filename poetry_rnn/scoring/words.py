"""The one nearest-word search, over one declared candidate vocabulary: the training split's word types.

Why the training vocabulary: it is fixed before any test poem is seen (a word that occurs only in test is
never a candidate, so the test set cannot shape the search), it is the set of words a model was trained
to emit, and the evaluation, the sample reconstructions and `poetry-rnn reconstruct` all search it (a
trained model carries its own copy). A test word never seen in training is therefore always a miss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from poetry_rnn.inputs.tokenize import is_punctuation

COMMON = 100  # the commonest training types are not content words
RANK_BANDS = ("1-10", "11-100", "101-1000", "1001-10000", "rarer")  # by training frequency; unseen words are rarer
BAND_EDGES = np.array([10, 100, 1000, 10000])
SIMILARITIES = 64 << 20  # float32 similarities a nearest-word search holds at once: 4,096 rows at 16k words


@dataclass
class Candidates:
    """The words a nearest-word search may answer, commonest first: rank = index + 1."""

    rows: np.ndarray  # (V,) int64 GloVe rows
    unit: torch.Tensor  # (V, D) float32, unit-normalised vectors

    @classmethod
    def from_rows(cls, rows: np.ndarray, vectors: np.ndarray) -> Candidates:
        """The candidates `rows` with their vectors from the GloVe matrix (a memmap is read row by row)."""
        rows = np.asarray(rows, np.int64)
        return cls(rows, F.normalize(torch.from_numpy(np.asarray(vectors[rows], dtype=np.float32)), dim=-1))

    def to(self, device: torch.device) -> Candidates:
        """The same candidates with their vectors on `device`, where the search then runs."""
        return Candidates(self.rows, self.unit.to(device))

    @torch.no_grad()
    def nearest(self, vectors: torch.Tensor, block: int | None = None) -> torch.Tensor:
        """The GloVe row of the candidate nearest (cosine) to each of (n, D) vectors, (n,) int64; in blocks
        of at most SIMILARITIES block x V values (256 MB), so neither the tokens nor the vocabulary set the
        memory."""
        unit = self.unit.to(vectors.device)
        block = block or max(1, SIMILARITIES // max(len(self.rows), 1))
        best = [(F.normalize(vectors[i : i + block].float(), dim=-1) @ unit.T).argmax(-1)
                for i in range(0, len(vectors), block)]
        idx = torch.cat(best).cpu() if best else torch.zeros(0, dtype=torch.long)
        return torch.from_numpy(self.rows)[idx]

    def rank(self, glove_rows: np.ndarray) -> np.ndarray:
        """1-based training frequency rank of each GloVe row; 0 for a word never seen in training."""
        order = np.argsort(self.rows)
        pos = np.searchsorted(self.rows[order], glove_rows).clip(0, len(self.rows) - 1)
        found = self.rows[order][pos] == glove_rows
        return np.where(found, order[pos] + 1, 0)


def rank_band(ranks: np.ndarray) -> np.ndarray:
    """Index into RANK_BANDS of each 1-based rank (0, unseen in training, is the rarest band)."""
    return np.where(ranks == 0, len(BAND_EDGES), np.searchsorted(BAND_EDGES, ranks, side="left"))


def content_words(glove_rows: np.ndarray, ranks: np.ndarray, words: list[str]) -> np.ndarray:
    """Tokens that are neither punctuation nor among the COMMON commonest training types."""
    punctuation = np.array([is_punctuation(words[r]) for r in glove_rows], bool)
    return ~punctuation & ((ranks == 0) | (ranks > COMMON))
