"""Scoring each token once, content words and frequency bands, the declared candidate vocabulary, and the paired
bootstrap over poems."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from poetry_rnn.inputs.chunking import make_chunks, training_vocabulary
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.scoring.scores import (
    TokenScores, Tokens, bootstrap, mean_vector_reconstructor, sample_windows, score_tokens, scored_tokens, summarize,
)
from poetry_rnn.scoring.words import COMMON, Candidates, content_words, is_punctuation, rank_band

D = 16


def corpus(n_words: int = 300, poems: int = 12, seed: int = 0):
    """GloVe-like vectors for n_words words (w0..; rows 0-4 are marks), and poems of Zipf-distributed tokens."""
    rng = np.random.default_rng(seed)
    words = [",", ".", ";", "--", "!"] + [f"w{i}" for i in range(n_words - 5)]
    vectors = rng.normal(size=(n_words, D)).astype(np.float32)
    zipf = 1 / np.arange(1, n_words + 1)
    tokens = [rng.choice(n_words, size=rng.integers(30, 140), p=zipf / zipf.sum()).astype(np.int32) for _ in range(poems)]
    return words, vectors, tokens


def test_every_test_token_is_scored_exactly_once_whatever_the_overlap():
    words, vectors, poems = corpus()
    chunks = make_chunks(poems, list(range(len(poems))), window=20, stride=7)
    vocab = Vocab.from_chunks(vectors, chunks)
    seen = []
    identity = lambda x, mask: x  # noqa: E731
    s = score_tokens(identity, Windows.from_chunks(chunks, vocab), vocab, Candidates.from_rows(vocab.rows, vectors))
    assert len(s.hit) == sum(len(p) for p in poems) < int(chunks.mask.sum())  # overlaps are not counted twice
    assert s.hit.all() and np.allclose(s.cosine, 1.0)
    for i, window in enumerate(chunks.ids):  # the scored ids, window by window, are the poems' tokens in order
        seen += window[chunks.score[i]].tolist()
    assert seen == np.concatenate(poems).tolist()


def test_candidates_are_the_training_types_commonest_first_and_rank_them():
    _, vectors, poems = corpus()
    train = make_chunks(poems, list(range(len(poems))), 20, 16)
    rows, counts = training_vocabulary(train)
    flat = np.concatenate(poems)
    assert sorted(rows.tolist()) == sorted(set(flat.tolist())) and counts.sum() == len(flat)
    assert (np.diff(counts) <= 0).all()  # commonest first
    c = Candidates.from_rows(rows, vectors)
    assert c.rank(rows).tolist() == list(range(1, len(rows) + 1))
    unseen = np.setdiff1d(np.arange(len(vectors)), rows)[:3]
    assert (c.rank(unseen) == 0).all()


def test_nearest_word_search_answers_only_candidates():
    _, vectors, _ = corpus()
    c = Candidates.from_rows(np.array([7, 3, 11]), vectors)
    queries = torch.from_numpy(vectors[[3, 5, 11]]) * 2.0  # 5 is not a candidate
    got = c.nearest(queries)
    assert got[0] == 3 and got[2] == 11 and int(got[1]) in (7, 3, 11)


def exhaustive(c: Candidates, vectors: torch.Tensor) -> torch.Tensor:
    """The search without blocks or screen: float64 similarities of every (float32, unit) vector to every candidate,
    the first best (among exact twins the first, whatever rounding the product gives each copy)."""
    _, first, twins = np.unique(c.unit.numpy(), axis=0, return_index=True, return_inverse=True)
    best = (F.normalize(vectors.float(), dim=-1).double() @ c.unit.double().T).argmax(-1).numpy()
    return torch.from_numpy(c.rows[first[twins.reshape(-1)][best]])


class Exhaustive(Candidates):
    """Candidates searched the old way, to score against."""

    def nearest(self, vectors: torch.Tensor) -> torch.Tensor:
        return exhaustive(self, vectors)


def hard_case(dim: int, words: int = 3000, n: int = 4000, seed: int = 0):
    """Candidates with exact twins (ties: the first must win) and near twins (float32 tells them apart, bfloat16
    hardly), and queries near them, between two of them (near ties), plain noise, one repeated many times (the
    mean-vector reference), zero and not finite."""
    g = torch.Generator().manual_seed(seed)
    vectors = torch.randn(words, dim, generator=g)
    vectors[1::7] = vectors[::7][: len(vectors[1::7])]  # twins
    near = vectors[::7][: len(vectors[2::7])]
    vectors[2::7] = near + 1e-3 * near.norm(dim=1, keepdim=True) / dim**0.5 * torch.randn(near.shape, generator=g)
    glove = np.concatenate([np.ones((5, dim), np.float32), vectors.numpy()])  # candidates: GloVe rows 5 on
    c = Candidates.from_rows(np.arange(words) + 5, glove)
    pick = torch.randint(0, words, (n, 2), generator=g)
    between = 0.5 * (c.unit[pick[:, 0]] + c.unit[pick[:, 1]])
    noisy = c.unit[pick[:, 0]] + 0.05 * torch.randn(n, dim, generator=g)
    twins = torch.arange(0, words, 7)[torch.randint(0, len(vectors[2::7]), (n,), generator=g)]
    near_twins = c.unit[twins] + 0.05 * torch.randn(n, dim, generator=g)
    queries = torch.cat([between, noisy, near_twins, torch.randn(n, dim, generator=g), between[:1].expand(500, dim),
                         torch.zeros(2, dim), torch.full((1, dim), float("nan"))])
    return c, queries[torch.randperm(len(queries), generator=g)]


@pytest.mark.parametrize("dim", [16, 300])
def test_nearest_is_the_float64_search_to_the_last_bit(dim):
    c, queries = hard_case(dim)
    expected = exhaustive(c, queries)
    assert torch.equal(c.nearest(queries), expected)
    unit = F.normalize(queries, dim=-1)  # each screen itself, whether or not this CPU has bfloat16
    for screen in (torch.bfloat16, torch.float32):
        assert torch.equal(torch.from_numpy(c.rows)[c._screened(unit, c.unit, screen)], expected), screen


def test_nearest_word_search_blocks_by_the_similarities_it_may_hold(monkeypatch):
    from poetry_rnn.scoring import words

    c, queries = hard_case(16, words=300, n=50)
    whole = c.nearest(queries)
    monkeypatch.setattr(words, "BLOCK_BYTES", 3 * 4 * len(c.rows))  # room for 3 rows of similarities
    assert torch.equal(c.nearest(queries), whole) and torch.equal(whole, exhaustive(c, queries))


def test_evaluation_scores_are_those_of_the_exhaustive_search_to_the_last_digit():
    """Models (here: the inputs with noise), the mean vector and PCA, scored with the search and with the old
    exhaustive one: the same hits, cosines and summary numbers."""
    from poetry_rnn.scoring.scores import pca_reconstructor

    words, vectors, poems = corpus(n_words=600, poems=30)
    chunks = make_chunks(poems, list(range(len(poems))), window=20, stride=7)
    vocab = Vocab.from_chunks(vectors, chunks)
    data = Windows.from_chunks(chunks, vocab)
    rows = training_vocabulary(chunks)[0]
    g = torch.Generator().manual_seed(0)
    reconstructors = {"noisy": lambda x, mask: x + 0.8 * torch.randn(x.shape, generator=g),
                      "mean_vector": mean_vector_reconstructor(data, vocab),
                      "pca": pca_reconstructor(data, vocab, 4, seed=0)[0]}
    tokens = scored_tokens(chunks, Candidates.from_rows(rows, vectors), words)
    for name, reconstruct in reconstructors.items():
        results = []
        for kind in (Candidates, Exhaustive):
            g.manual_seed(0)
            results.append(score_tokens(reconstruct, data, vocab, kind.from_rows(rows, vectors), batch_size=16))
        new, old = results
        assert np.array_equal(new.hit, old.hit) and np.array_equal(new.cosine, old.cosine), name
        assert 0 < new.hit.mean() < 1 or name == "mean_vector", name  # some hits and some misses: a real test
        assert summarize(new, tokens) == summarize(old, tokens), name


def test_content_words_are_neither_marks_nor_among_the_commonest_types():
    words = [",", "the", "sea", "'s", "1896", "..."]
    rows = np.arange(6)
    ranks = np.array([1, 2, COMMON + 1, COMMON + 5, 0, 0])  # 0: never seen in training
    assert [is_punctuation(w) for w in words] == [True, False, False, False, False, True]
    assert content_words(rows, ranks, words).tolist() == [False, False, True, True, True, False]
    assert rank_band(np.array([1, 10, 11, 100, 101, 1000, 1001, 10000, 10001, 0])).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_content_word_accuracy_and_bands_count_only_their_tokens():
    tokens = Tokens(poem=np.zeros(6, np.int64), content=np.array([1, 1, 0, 0, 1, 0], bool),
                    band=np.array([4, 4, 0, 0, 2, 1]))
    s = TokenScores(cosine=np.linspace(0, 1, 6), hit=np.array([1, 0, 1, 1, 0, 0], bool), cosine_by_position=[])
    out = summarize(s, tokens)
    assert out["content_word_accuracy"] == pytest.approx(1 / 3) and out["nearest_word_accuracy"] == pytest.approx(0.5)
    assert out["accuracy_by_rank"] == {"1-10": 1.0, "11-100": 0.0, "101-1000": 0.0, "1001-10000": None, "rarer": 0.5}
    assert out["tokens"] == 6 and out["content_tokens"] == 3 and out["tokens_by_rank"]["1-10"] == 2


def test_scored_tokens_carry_poem_content_and_band():
    words, vectors, poems = corpus()
    chunks = make_chunks(poems, [10 * i for i in range(len(poems))], 20, 16)
    rows, _ = training_vocabulary(chunks)
    t = scored_tokens(chunks, Candidates.from_rows(rows, vectors), words)
    assert t.poem.tolist() == np.repeat(np.arange(len(poems)), [len(p) for p in poems]).tolist()
    flat = np.concatenate(poems)
    assert not t.content[flat < 5].any()  # marks are never content words
    assert (t.band[t.content] >= 1).all()  # content words lie beyond rank 100


def test_mean_vector_from_counts_is_the_mean_of_each_token_once():
    words, vectors, poems = corpus()
    chunks = make_chunks(poems, list(range(len(poems))), 20, 12)
    vocab = Vocab.from_chunks(vectors, chunks)
    expected = vectors[np.concatenate(poems)].astype(np.float64).mean(0)
    got = mean_vector_reconstructor(Windows.from_chunks(chunks, vocab), vocab)(torch.zeros(1, 2, D), None)[0, 0]
    assert np.allclose(got.numpy(), expected, atol=1e-5)


def fake_scores(rng, poems: int, per_poem: int, accuracy: float, cosine: float) -> TokenScores:
    n = poems * per_poem
    return TokenScores(np.clip(rng.normal(cosine, 0.1, n), -1, 1), rng.random(n) < accuracy, [])


def test_bootstrap_intervals_are_seeded_paired_and_read_the_right_way():
    rng = np.random.default_rng(0)
    poems, per_poem = 40, 30
    tokens = Tokens(np.repeat(np.arange(poems), per_poem), rng.random(poems * per_poem) < 0.5,
                    np.zeros(poems * per_poem, np.int64))
    base = fake_scores(rng, poems, per_poem, 0.30, 0.60)
    better = TokenScores(base.cosine + 0.01, base.hit | (rng.random(len(base.hit)) < 0.2), [])  # better on every token
    same = TokenScores(base.cosine.copy(), base.hit.copy(), [])
    scores = {"a": better, "b": base, "c": same}
    ci, diff = bootstrap(scores, tokens, [("a", "b"), ("c", "b")], seed=3)
    again = bootstrap(scores, tokens, [("a", "b"), ("c", "b")], seed=3)
    assert (ci, diff) == again  # seeded
    assert bootstrap(scores, tokens, [("a", "b")], seed=4)[0]["b"] != ci["b"]
    for key in ("content_word_accuracy", "nearest_word_accuracy", "test_cosine"):
        lo, hi = ci["b"][key]
        point = summarize(base, tokens)[key]
        assert lo < point < hi
        assert diff["a_vs_b"][key]["ci"][0] > 0 and diff["a_vs_b"][key]["mean"] > 0  # a beats b, interval above 0
        assert diff["c_vs_b"][key] == {"mean": 0.0, "ci": [0.0, 0.0]}  # identical scores: no difference at all
    # Paired: the interval of the difference is far narrower than either model's own interval.
    d_lo, d_hi = diff["a_vs_b"]["test_cosine"]["ci"]
    assert d_hi - d_lo < 0.2 * (ci["b"]["test_cosine"][1] - ci["b"]["test_cosine"][0])


def test_bootstrap_interval_widens_with_fewer_poems():
    rng = np.random.default_rng(1)
    widths = []
    for poems in (10, 160):
        n = poems * 20
        tokens = Tokens(np.repeat(np.arange(poems), 20), np.ones(n, bool), np.zeros(n, np.int64))
        ci, _ = bootstrap({"m": fake_scores(rng, poems, 20, 0.3, 0.6)}, tokens, [], seed=0)
        widths.append(ci["m"]["nearest_word_accuracy"][1] - ci["m"]["nearest_word_accuracy"][0])
    assert widths[0] > 2.5 * widths[1]  # about sqrt(16) = 4 times wider


def test_a_sample_of_windows_is_fixed_by_its_seed_and_keeps_each_windows_scored_tokens():
    words, vectors, poems = corpus()
    chunks = make_chunks(poems, list(range(len(poems))), window=20, stride=7)
    a, b, c = (sample_windows(chunks, 10, seed) for seed in (0, 0, 1))
    assert len(a) == 10 and np.array_equal(a.ids, b.ids) and not np.array_equal(a.ids, c.ids)
    rows = [np.flatnonzero((chunks.ids == w).all(1) & (chunks.mask == m).all(1))[0] for w, m in zip(a.ids, a.mask)]
    assert rows == sorted(rows)  # in the split's order
    assert np.array_equal(a.score, chunks.score[rows]) and np.array_equal(a.poem, chunks.poem[rows])
    whole = sample_windows(chunks, len(chunks) + 5, 0)
    assert np.array_equal(whole.ids, chunks.ids) and np.array_equal(whole.score, chunks.score)  # all, when no more
