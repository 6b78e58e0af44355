"""The one nearest-word search, over one declared candidate vocabulary: the training split's word types.

Why the training vocabulary: it is fixed before any test poem is seen (a word that occurs only in test is
never a candidate, so the test set cannot shape the search), it is the set of words a model was trained
to emit, and the evaluation, the sample reconstructions and `poetry-rnn reconstruct` all search it (a
trained model carries its own copy). A test word never seen in training is therefore always a miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from poetry_rnn.inputs.tokenize import is_punctuation

COMMON = 100  # the commonest training types are not content words
RANK_BANDS = ("1-10", "11-100", "101-1000", "1001-10000", "rarer")  # by training frequency; unseen words are rarer
BAND_EDGES = np.array([10, 100, 1000, 10000])
BLOCK_BYTES = 16 << 20  # the similarities of one block of the search on the CPU (about 256 vectors at 30,000 words)
GROUP = 16  # candidates in a row whose bfloat16 similarities to a vector one maximum stands for, in the screen
GPU_BLOCK_BYTES = 256 << 20  # on a GPU: few large products, each launch has its cost
BF16_UNIT = 2.0**-8  # bfloat16's unit roundoff: 8 significant bits


def screen_slack(dim: int, dtype: torch.dtype = torch.bfloat16) -> float:
    """How far below the best screening similarity a candidate may lie and still be the nearest: twice the most a
    similarity of unit vectors of `dim` numbers screened in `dtype` can differ from the exact one (bfloat16: each
    input rounded, 3u + 4u^2; the sum of `dim` products rounded in float32: gamma_dim, counted twice for margin),
    and a float32 ulp of the threshold's own subtraction."""
    u = BF16_UNIT if dtype == torch.bfloat16 else 0.0
    gamma = dim * 2.0**-24 / (1 - dim * 2.0**-24)
    return 2 * (3 * u + 4 * u * u + 2 * gamma * (1 + u) ** 2) + 2.0**-23


def bf16_is_native(device: torch.device) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX, AVX512-BF16): screening in it is then several times
    faster than float32 products; elsewhere (and on CUDA, whose float32 is fast and whose bfloat16 sums may be reduced
    in bfloat16, outside screen_slack's bound) the screen is in float32."""
    native = (getattr(torch.cpu, "_is_amx_tile_supported", None), getattr(torch.cpu, "_is_avx512_bf16_supported", None))
    return device.type == "cpu" and any(check is not None and check() for check in native)


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

    @cached_property
    def unit_bf16(self) -> torch.Tensor:
        """(V, D) bfloat16: the candidates as the screening multiplies them, made once (`to` makes new candidates)."""
        return self.unit.bfloat16()

    @cached_property
    def first_twin(self) -> torch.Tensor:
        """(V,) int64: the first candidate whose unit vector equals each one's. Equal vectors are equally near and the
        first among them is the answer, whatever rounding a product's shape gives each copy."""
        _, inverse = torch.unique(self.unit, dim=0, return_inverse=True)
        order = torch.arange(len(inverse), device=inverse.device)
        first = torch.full((len(inverse),), len(inverse), device=inverse.device).scatter_reduce(0, inverse, order, "amin")
        return first[inverse]

    @torch.no_grad()
    def nearest(self, vectors: torch.Tensor) -> torch.Tensor:
        """The GloVe row of the candidate nearest (cosine) to each of (n, D) vectors, (n,) int64: the nearest by
        float64 similarities of the float32 unit vectors (exact but for differences below 1e-14; the first candidate
        among equals), whatever the blocks, the device and the CPU. Each distinct vector is searched once (the
        mean-vector reference's are all one), in blocks of BLOCK_BYTES of similarities (GPU_BLOCK_BYTES on a GPU), so
        neither the tokens nor the vocabulary set the memory. A block is screened in bfloat16 where it is native (else
        in float32), and only the candidates within screen_slack of a vector's best are multiplied in float64: no
        other can be the answer. Why not float32's argmax: a float32 product's last bits depend on the shape of the
        product on some CPUs (seen on AVX-512 without AMX), so near ties would turn with the block size."""
        unit = self.unit.to(vectors.device)
        if not len(vectors):
            return torch.from_numpy(self.rows)[torch.zeros(0, dtype=torch.long)]
        distinct, inverse = torch.unique(vectors.float(), dim=0, return_inverse=True)
        queries = F.normalize(distinct, dim=-1)
        screen = torch.bfloat16 if bf16_is_native(queries.device) else torch.float32
        budget = BLOCK_BYTES if queries.device.type == "cpu" else GPU_BLOCK_BYTES
        block = max(1, budget // (screen.itemsize * max(len(self.rows), 1)))
        blocks = (queries[i : i + block] for i in range(0, len(queries), block))
        best = self.first_twin.to(queries.device)[torch.cat([self._screened(q, unit, screen) for q in blocks])]
        return torch.from_numpy(self.rows)[best[inverse].cpu()]

    def _screened(self, queries: torch.Tensor, unit: torch.Tensor, screen: torch.dtype) -> torch.Tensor:
        """nearest's answer for a block of unit vectors: `screen` (bfloat16 or float32) similarities to every
        candidate, then float64 ones to the candidates within screen_slack of a vector's best (and to all, for a block
        with a vector that is not finite). The candidates within it are found among the few groups of GROUP whose
        maximum reaches it, so that one pass over the similarities (the groups' maxima) stands for a threshold over
        each of them."""
        V = len(unit)
        screening = self.unit_bf16.to(queries.device) if screen == torch.bfloat16 else unit
        approx = screening @ queries.to(screen).T  # (V, b): twice as fast here as (b, V)
        full = V // GROUP * GROUP
        peaks = approx[:full].view(-1, GROUP, approx.shape[1]).amax(1)  # (V // GROUP, b), the maxima of the groups
        if full < V:
            peaks = torch.cat([peaks, approx[full:].amax(0, keepdim=True)])  # the last, shorter group
        limit = peaks.amax(0).float() - screen_slack(queries.shape[1], screen)  # (b,)
        if screen == torch.bfloat16:  # compared in bfloat16, the limit lowered so that rounding it cannot raise it
            limit = (limit - 2 * BF16_UNIT * limit.abs()).bfloat16()
        if torch.isfinite(queries).all():
            groups = (peaks >= limit).any(1).nonzero().squeeze(1)  # ascending
            rows = (groups[:, None] * GROUP + torch.arange(GROUP, device=groups.device)).flatten()
            rows = rows[rows < V]
            columns = rows[(approx[rows] >= limit).any(1)]  # ascending: the first among equals stays first
        else:  # a similarity of NaN reaches no limit: every candidate is multiplied
            columns = torch.arange(V, device=queries.device)
        return columns[(queries.double() @ unit[columns].double().T).argmax(-1)]  # a float32 product is exact in float64

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
