"""Sliding windows over tokenized poems, and a train/val/test split by poem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poetry_rnn.errors import PoetryRnnError

SPLITS = ("train", "val", "test")
VOCABULARY = "vocabulary.npz"  # the training split's word types, beside the splits


@dataclass
class Chunks:
    """Windows of token ids; padding positions hold 0 and mask False."""

    ids: np.ndarray  # (N, W) int32, GloVe row ids
    mask: np.ndarray  # (N, W) bool, True on real tokens
    poem: np.ndarray  # (N,) int32, the poem each window comes from
    score: np.ndarray  # (N, W) bool, True where the token is scored from this window: each poem token exactly once

    def __len__(self) -> int:
        return len(self.ids)


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Starts of the windows over a poem of `length` tokens: every window adds tokens the previous lacked."""
    starts = [0]
    while starts[-1] + window < length:  # tokens remain past the last window
        starts.append(starts[-1] + stride)
    return starts


def scoring_window(length: int, starts: list[int], window: int) -> np.ndarray:
    """For each token of a poem, the index of the window that scores it: the one where it sits farthest from
    an edge (ties: the earlier window). Overlapping windows would otherwise count a token twice."""
    depth = np.full(length, -1)
    owner = np.zeros(length, np.int64)
    for k, s in enumerate(starts):
        pos = np.arange(s, min(s + window, length))
        d = np.minimum(pos - s, s + window - 1 - pos)  # distance from the window's nearer edge
        better = d > depth[pos]
        depth[pos[better]], owner[pos[better]] = d[better], k
    return owner


def make_chunks(poems: list[np.ndarray], poem_ids: list[int], window: int, stride: int) -> Chunks:
    """Cut each poem into windows; a short tail is padded and masked, never dropped. Built a poem at a time
    as arrays, never a Python object per window, so memory follows the windows' own bytes."""
    ids, masks, scored, owners = [], [], [], []
    offsets = np.arange(window)
    for pid, tokens in zip(poem_ids, poems):
        tokens = np.asarray(tokens, np.int32)
        starts = np.asarray(window_starts(len(tokens), window, stride))
        scorer = scoring_window(len(tokens), starts.tolist(), window)
        pos = starts[:, None] + offsets  # (n, W) token positions, past the end on a short tail
        real = pos < len(tokens)
        at = np.minimum(pos, len(tokens) - 1)
        ids.append(np.where(real, tokens[at], 0).astype(np.int32))
        masks.append(real)
        scored.append(real & (scorer[at] == np.arange(len(starts))[:, None]))
        owners.append(np.full(len(starts), pid, np.int32))
    if not ids:
        empty = np.zeros((0, window), bool)
        return Chunks(np.zeros((0, window), np.int32), empty, np.zeros(0, np.int32), empty)
    return Chunks(np.concatenate(ids), np.concatenate(masks), np.concatenate(owners), np.concatenate(scored))


def split_poems(poem_ids: list[int], fractions: tuple[float, float, float], seed: int,
                groups: list[int] | None = None) -> dict[str, list[int]]:
    """Assign whole poems to train/val/test with a seeded shuffle: no poem lands in two splits, nor do two poems of
    one near-duplicate group (`groups`: a group id per poem; default, each poem its own group)."""
    n = len(poem_ids)
    if n < 3:
        raise PoetryRnnError(
            f"the corpus has {n} usable poem(s); at least 3 are needed to give train, val and test one each: "
            "point poems.source at a larger corpus"
        )
    groups = np.asarray(poem_ids if groups is None else groups)
    labels, group_of = np.unique(groups, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(labels))
    sizes = np.bincount(group_of)[order]  # poems per group, in shuffled order
    before = np.cumsum(sizes) - sizes  # poems in the groups placed earlier
    n_val = max(1, round(fractions[1] * n))
    n_test = max(1, round(fractions[2] * n))
    n_train = n - n_val - n_test
    if n_train < 1:
        raise PoetryRnnError(f"chunk.split {list(fractions)} leaves no training poem out of {n}: raise the train share")
    # A group goes where its first poem would go: with no near-duplicates this is a plain split of poems.
    where = np.where(before < n_train, 0, np.where(before < n_train + n_val, 1, 2))
    split_of = np.empty(len(labels), int)
    split_of[order] = where
    ids = np.asarray(poem_ids)
    out = {name: sorted(ids[split_of[group_of] == k].tolist()) for k, name in enumerate(SPLITS)}
    empty = [name for name in SPLITS if not out[name]]
    if empty:
        raise PoetryRnnError(
            f"near-duplicate groups of {n} poems leave {', '.join(empty)} without a poem: "
            "add poems from other sources, or widen chunk.split"
        )
    return out


def save_chunks(chunks: Chunks, path: Path) -> None:
    """Write one split as an uncompressed .npz (int32 ids, bool masks, poem ids)."""
    with open(path, "wb") as f:
        np.savez(f, ids=chunks.ids, mask=chunks.mask, poem=chunks.poem, score=chunks.score)


def load_chunks(folder: Path, split: str) -> Chunks:
    """Read one split written by the chunk stage."""
    path = Path(folder) / f"{split}.npz"
    if not path.is_file():
        raise PoetryRnnError(f"{path} not found: run `dvc repro chunk` first")
    with np.load(path) as z:
        if "score" not in z:
            raise PoetryRnnError(f"{path} was written by an older version of the chunk stage: run `dvc repro chunk`")
        return Chunks(z["ids"], z["mask"], z["poem"], z["score"])


def training_vocabulary(train: Chunks) -> tuple[np.ndarray, np.ndarray]:
    """The training split's word types, commonest first (ties by GloVe row), and their counts, each token once:
    the candidates of every nearest-word search, and the frequency ranks of content words and rank bands."""
    rows, counts = np.unique(train.ids[train.score].astype(np.int64), return_counts=True)
    order = np.lexsort((rows, -counts))
    return rows[order], counts[order]


def save_vocabulary(rows: np.ndarray, counts: np.ndarray, path: Path) -> None:
    """Write the training vocabulary as an uncompressed .npz."""
    with open(path, "wb") as f:
        np.savez(f, rows=rows, counts=counts)


def load_vocabulary(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read what save_vocabulary wrote: GloVe rows, commonest first, and their training counts."""
    path = Path(folder) / VOCABULARY
    if not path.is_file():
        raise PoetryRnnError(f"{path} not found: run `dvc repro chunk` first")
    with np.load(path) as z:
        return z["rows"], z["counts"]
