"""Recall of the near-duplicate search on poems planted inside poems 2 to 20 times their length.

    pip install datasketch && python benchmarks/near_duplicates.py

For each length ratio: 1,000 random poems (30-300 words) plus 40 longer ones, each holding one of the first 40
poems whole. Prints how many of the 40 plantings poetry_rnn.inputs.near_duplicates groups with their source, against
datasketch's MinHashLSHEnsemble (a containment search over MinHash) feeding the same exact check, and the time.
"""

from __future__ import annotations

import time

import numpy as np

from poetry_rnn.inputs import near_duplicates as nd


def planted(ratio: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    poems = [rng.integers(0, 40_000, rng.integers(30, 300)) for _ in range(1000)]
    return poems + [np.concatenate([rng.integers(0, 40_000, (ratio - 1) * len(p)), p]) for p in poems[:40]]


def lsh_ensemble_pairs(sets: list[np.ndarray], judged: np.ndarray, num_perm: int, num_part: int) -> np.ndarray:
    """Candidate pairs from datasketch's LSH Ensemble at the same containment threshold."""
    from datasketch import MinHash, MinHashLSHEnsemble

    hashes = {}
    for i in judged.tolist():
        hashes[i] = MinHash(num_perm=num_perm, hashfunc=int)
        hashes[i].update_batch(sets[i].tolist())
    lsh = MinHashLSHEnsemble(threshold=nd.THRESHOLD, num_perm=num_perm, num_part=num_part)
    lsh.index((i, hashes[i], len(sets[i])) for i in judged.tolist())
    return np.array([(i, j) for i in judged.tolist() for j in lsh.query(hashes[i], len(sets[i])) if j != i]).reshape(-1, 2)


def main() -> None:
    own = nd.candidate_pairs
    searches = {"bottom-k sketch (poetry_rnn)": own}
    try:
        import datasketch  # noqa: F401

        for perm, part in [(128, 8), (256, 16)]:
            searches[f"LSH Ensemble {perm} perm, {part} parts"] = (
                lambda sets, judged, perm=perm, part=part: lsh_ensemble_pairs(sets, judged, perm, part))
    except ImportError:
        print("datasketch is not installed: only the project's search is measured")
    print("| search | ratio 2 | ratio 5 | ratio 10 | ratio 20 | seconds (ratio 10) |\n|---|---|---|---|---|---|")
    for name, search in searches.items():
        found, seconds = [], 0.0
        for ratio in (2, 5, 10, 20):
            poems = planted(ratio, ratio)
            nd.candidate_pairs = search
            start = time.perf_counter()
            groups = nd.near_duplicate_groups(poems)
            if ratio == 10:
                seconds = time.perf_counter() - start
            found.append(sum(groups[1000 + k] == groups[k] for k in range(40)))
        nd.candidate_pairs = own
        print(f"| {name} | " + " | ".join(f"{f}/40" for f in found) + f" | {seconds:.2f} |")


if __name__ == "__main__":
    main()
