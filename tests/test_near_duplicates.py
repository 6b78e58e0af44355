"""Near-duplicate poems are grouped, and a group never straddles the split."""

from __future__ import annotations

import numpy as np

from poetry_rnn.inputs.chunking import split_poems
from poetry_rnn.inputs.corpus import Poem
from poetry_rnn.inputs.near_duplicates import MIN_SHINGLES, candidate_pairs, near_duplicate_groups, shingles
from poetry_rnn.inputs.tokenized import encode_poems

RNG = np.random.default_rng(0)


def random_poems(n: int) -> list[np.ndarray]:
    return [RNG.integers(0, 40_000, RNG.integers(30, 200)) for _ in range(n)]


def test_a_second_edition_and_a_poem_inside_a_collected_one_join_the_original_group():
    poems = random_poems(300)
    edition = np.concatenate([poems[10][:20], [7, 7], poems[10][21:]])  # a word changed, two inserted
    collected = np.concatenate([RNG.integers(0, 40_000, 400), poems[20], RNG.integers(0, 40_000, 400)])
    groups = near_duplicate_groups(poems + [edition, collected])
    assert groups[300] == groups[10] == 10
    assert groups[301] == groups[20] == 20
    others = np.delete(groups, [10, 20, 300, 301])
    assert len(np.unique(others)) == len(others)  # nobody else was grouped


def test_poems_sharing_only_a_line_or_too_short_to_judge_stay_apart():
    a, b = RNG.integers(0, 40_000, 100), RNG.integers(0, 40_000, 100)
    b[:8] = a[:8]  # a shared opening line
    short = a[: MIN_SHINGLES + 1]  # shorter than the shingles needed to judge
    assert near_duplicate_groups([a, b, short]).tolist() == [0, 1, 2]


def test_shingles_are_order_sensitive_and_distinct():
    assert len(shingles(np.array([1, 2, 3, 1, 2, 3]))) == 3  # 123, 231, 312: the repeat of 123 counted once
    assert not np.intersect1d(shingles(np.array([1, 2, 3])), shingles(np.array([3, 2, 1]))).size


def test_a_near_duplicate_pair_from_text_lands_in_one_split_whatever_the_seed():
    words = [f"w{i}" for i in range(3000)]
    index = {w: i for i, w in enumerate(words + [","])}
    texts = [" ".join(RNG.choice(words, 40)) for _ in range(40)]
    reprint = texts[3].replace(" ", " , ", 5)  # the same words, other punctuation
    poems = [Poem(f"p{i}", "", t, f"{i}.txt") for i, t in enumerate(texts + [reprint])]
    corpus, _ = encode_poems(poems, index)
    groups = near_duplicate_groups(corpus.poem_words(words + [","]))
    assert groups[40] == groups[3]
    for seed in range(30):
        splits = split_poems(list(range(41)), (0.6, 0.2, 0.2), seed, list(groups))
        assert [name for name, s in splits.items() if 3 in s] == [name for name, s in splits.items() if 40 in s], seed
        assert sorted(i for s in splits.values() for i in s) == list(range(41))


def test_groups_of_single_poems_give_the_plain_split():
    ids = list(range(57))
    assert split_poems(ids, (0.8, 0.1, 0.1), 3, ids) == split_poems(ids, (0.8, 0.1, 0.1), 3)


def test_asking_in_blocks_finds_the_same_candidates():
    poems = random_poems(100)
    poems += [np.concatenate([p, RNG.integers(0, 40_000, 50)]) for p in poems[:10]]
    sets = [shingles(p) for p in poems]
    judged = np.arange(len(poems))
    whole = candidate_pairs(sets, judged)
    assert len(whole) >= 10
    assert np.array_equal(candidate_pairs(sets, judged, block=7), whole)
