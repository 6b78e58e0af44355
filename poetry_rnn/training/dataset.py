"""Windows as tensors: token ids mapped onto a compact table of the corpus's own vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from poetry_rnn.inputs.chunking import Chunks


@dataclass
class Vocab:
    """The GloVe rows the windows use, as one (V, D) float32 table; row i is GloVe row rows[i]. It holds the
    input vectors only: nearest-word searches use words.Candidates."""

    rows: np.ndarray  # (V,) int64, sorted GloVe row ids
    table: torch.Tensor  # (V, D) float32

    @classmethod
    def from_chunks(cls, vectors: np.ndarray, *chunk_sets: Chunks) -> Vocab:
        """Gather only the rows the windows use, so a 400k-word GloVe file is never loaded whole."""
        used = np.unique(np.concatenate([c.ids[c.mask] for c in chunk_sets]).astype(np.int64))
        return cls(used, torch.from_numpy(np.ascontiguousarray(vectors[used], dtype=np.float32)))

    def index(self, ids: np.ndarray) -> torch.Tensor:
        """GloVe row ids -> compact indices (padding, masked anyway, maps to a valid index)."""
        idx = np.searchsorted(self.rows, ids).clip(0, len(self.rows) - 1)
        return torch.from_numpy(idx.astype(np.int64))

    def glove_rows(self, idx: torch.Tensor) -> torch.Tensor:
        """Compact indices -> GloVe row ids."""
        return torch.from_numpy(self.rows)[idx.cpu()]


@dataclass
class Windows:
    """One split's windows: compact ids (N, T), mask (N, T), and which tokens are scored from each window."""

    ids: torch.Tensor  # (N, T) int64 into Vocab.table
    mask: torch.Tensor  # (N, T) bool, real tokens
    score: torch.Tensor  # (N, T) bool, each token of the split's poems exactly once

    @classmethod
    def from_chunks(cls, chunks: Chunks, vocab: Vocab) -> Windows:
        return cls(vocab.index(chunks.ids), torch.from_numpy(chunks.mask.copy()), torch.from_numpy(chunks.score.copy()))

    def __len__(self) -> int:
        return len(self.ids)

    def to(self, device: torch.device) -> Windows:
        """The same windows on `device` (itself when already there)."""
        return Windows(self.ids.to(device), self.mask.to(device), self.score.to(device))

    def batches(self, batch_size: int, generator: torch.Generator | None = None, part: tuple[int, int] = (0, 1),
                min_rows: int = 1):
        """Yield (ids, mask, score) batches; shuffled when a generator is given. With part=(rank, processes), yield
        that rank's share of each batch of `batch_size` (the batch cut in `processes` near-equal parts, in order),
        so that the processes together see exactly the batches one process would; batches with fewer than
        `min_rows` rows are left out."""
        order = torch.randperm(len(self), generator=generator) if generator is not None else torch.arange(len(self))
        order = order.to(self.ids.device)  # one copy per pass, not one per batch
        rank, processes = part
        for i in range(0, len(self), batch_size):
            j = order[i : i + batch_size]
            if len(j) < min_rows:
                continue
            j = j.tensor_split(processes)[rank]
            yield self.ids[j], self.mask[j], self.score[j]

    def mean_vector(self, vocab: Vocab) -> torch.Tensor:
        """The mean vector of the split's tokens, each once, from token counts: no (tokens, D) array is built."""
        counts = torch.bincount(self.ids[self.score], minlength=len(vocab.rows)).double()  # (V,)
        return (counts @ vocab.table.double() / counts.sum()).float()  # (D,)
