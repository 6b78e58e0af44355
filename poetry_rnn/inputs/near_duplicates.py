"""Near-duplicate poems (two editions of one poem, or a poem inside a longer collected one), grouped so that a
group never straddles the train/val/test split.

A bottom-k MinHash sketch over word shingles finds candidates: each poem's SKETCH smallest shingle hashes are a
uniform sample of its shingles, so when a poem shares a share c of its shingles with another, about c of its
sketch turns up there. Every candidate pair is then checked exactly. Measured on random poems planted inside
poems 10 times longer, this finds 40 of 40 where datasketch's LSH Ensemble (a containment search over MinHash)
found 16 to 25 of 40 at 128 to 256 permutations (benchmarks/near_duplicates.py).
"""

from __future__ import annotations

import numpy as np

SHINGLE = 3  # words per shingle: a changed word spoils only 3 shingles
THRESHOLD = 0.7  # share of the shorter poem's shingles found in the other: "most of its text"
MIN_SHINGLES = 8  # a shorter poem shares too little to judge; exact duplicates are removed anyway
SKETCH = 32  # shingles sampled per poem: a pair at THRESHOLD is missed with probability below 1e-3
COMMON = 1000  # a shingle in more poems than this ("in the night") says nothing of who copied whom


def shingles(words: np.ndarray, k: int = SHINGLE) -> np.ndarray:
    """The distinct k-word shingles of a poem's word ids, each hashed to 32 bits, sorted."""
    words = np.asarray(words, np.uint64)
    if len(words) < k:
        return np.zeros(0, np.uint32)
    h = np.zeros(len(words) - k + 1, np.uint64)
    with np.errstate(over="ignore"):  # wrapping arithmetic is the hash
        for i in range(k):
            h = (h ^ words[i : len(words) - k + 1 + i]) * np.uint64(0x9E3779B97F4A7C15)
    return np.unique((h >> np.uint64(32)).astype(np.uint32))


def candidate_pairs(sets: list[np.ndarray], judged: np.ndarray, block: int = 1024) -> np.ndarray:
    """(n, 2) pairs (a, b): poem b holds at least 45% of poem a's sketch; a is judged, b any poem. Poems ask
    `block` at a time, so the postings in memory stay bounded however large the corpus."""
    sizes = np.array([len(s) for s in sets])
    owner = np.repeat(np.arange(len(sets), dtype=np.int32), sizes)  # every (shingle, poem), sorted by shingle
    flat = np.concatenate(sets) if len(sets) else np.zeros(0, np.uint32)
    order = np.argsort(flat, kind="stable")
    flat, owner = flat[order], owner[order]
    del order
    pairs = [np.zeros((0, 2), np.int64)]
    for first in range(0, len(judged), block):
        askers = judged[first : first + block]
        sketch = [sets[i][:SKETCH] for i in askers]  # the smallest hashes: sets are sorted
        anchor = np.concatenate(sketch)
        asker = np.repeat(askers, [len(s) for s in sketch])
        lo, hi = np.searchsorted(flat, anchor, "left"), np.searchsorted(flat, anchor, "right")
        use = (hi - lo) <= COMMON
        needed = np.ceil(0.45 * np.bincount(asker[use], minlength=len(sets)))  # hits a candidate must reach
        lo, hi, asker = lo[use], hi[use], asker[use]
        counts = hi - lo
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())  # every posting
        keys, hits = np.unique(np.repeat(asker, counts).astype(np.int64) * len(sets) + owner[starts],
                               return_counts=True)
        a, b = keys // len(sets), keys % len(sets)
        keep = (a != b) & (hits >= needed[a]) & (needed[a] > 0)
        pairs.append(np.stack([a[keep], b[keep]], 1))
    return np.concatenate(pairs)


def near_duplicate_groups(poems: list[np.ndarray], threshold: float = THRESHOLD) -> np.ndarray:
    """(len(poems),) group ids: poems sharing `threshold` of the shorter one's shingles, transitively, get the
    same id (the index of the group's first poem); every other poem is a group of its own."""
    sets = [shingles(p) for p in poems]
    parent = np.arange(len(poems))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    judged = np.array([i for i, s in enumerate(sets) if len(s) >= MIN_SHINGLES], np.int64)
    if len(judged) < 2:
        return parent
    for a, b in candidate_pairs(sets, judged).tolist():
        shorter, other = (a, b) if len(sets[a]) <= len(sets[b]) else (b, a)
        if len(np.intersect1d(sets[shorter], sets[other], assume_unique=True)) >= threshold * len(sets[shorter]):
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(len(poems))])
