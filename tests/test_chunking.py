import numpy as np
import pytest

from poetry_rnn.inputs.chunking import load_chunks, make_chunks, save_chunks, split_poems, window_starts
from poetry_rnn.errors import PoetryRnnError


@pytest.mark.parametrize(
    "length, starts",
    [(1, [0]), (50, [0]), (51, [0, 40]), (90, [0, 40]), (91, [0, 40, 80]), (131, [0, 40, 80, 120])],
)
def test_windows_cover_every_token_with_overlap(length, starts):
    assert window_starts(length, 50, 40) == starts


def test_short_tail_is_padded_and_masked_not_dropped():
    tokens = np.arange(1, 56, dtype=np.int32)  # 55 tokens
    c = make_chunks([tokens], [7], window=50, stride=40)
    assert c.ids.shape == (2, 50) and c.ids.dtype == np.int32
    assert c.mask[0].all() and c.mask[1].sum() == 15
    assert list(c.ids[1, :15]) == list(range(41, 56)) and (c.ids[1, 15:] == 0).all()
    assert list(c.poem) == [7, 7]
    assert c.score.sum() == 55  # the 10 overlapping tokens are scored once
    covered = set(c.ids[c.mask].tolist())
    assert covered == set(tokens.tolist())


def test_split_is_by_poem_disjoint_covering_and_sized_by_the_fractions():
    ids = list(range(1000, 1100, 1))[::-1]  # poem ids need not be 0..n-1 nor sorted
    s = split_poems(ids, (0.7, 0.2, 0.1), seed=1)
    assert [len(s[k]) for k in ("train", "val", "test")] == [70, 20, 10]
    assert set(s["train"]).isdisjoint(s["val"]) and set(s["val"]).isdisjoint(s["test"])
    assert set(s["train"]).isdisjoint(s["test"]) and sorted(s["train"] + s["val"] + s["test"]) == sorted(ids)


def test_split_is_a_seeded_shuffle_not_a_fixed_cut():
    ids = list(range(100))
    test_sets = [frozenset(split_poems(ids, (0.8, 0.1, 0.1), seed=seed)["test"]) for seed in range(200)]
    assert len(set(test_sets)) == 200  # every seed gives its own test set
    share = np.bincount([i for t in test_sets for i in t], minlength=100) / 200  # how often each poem is in test
    assert share.min() > 0.01 and share.max() < 0.3  # each poem lands in test about 10% of the time


def test_split_is_the_same_in_another_process():
    import json
    import subprocess
    import sys

    code = "import json; from poetry_rnn.inputs.chunking import split_poems; print(json.dumps(split_poems(list(range(50)), (0.8, 0.1, 0.1), 7)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONHASHSEED": "123"}).stdout
    assert json.loads(out) == split_poems(list(range(50)), (0.8, 0.1, 0.1), 7)


def test_each_token_is_scored_from_exactly_one_window_where_it_sits_farthest_from_an_edge():
    tokens = np.arange(1, 100, dtype=np.int32)  # 99 tokens: windows at 0, 40, 80
    c = make_chunks([tokens], [0], window=50, stride=40)
    assert sorted(c.ids[c.score].tolist()) == tokens.tolist()  # each token once
    assert (c.score <= c.mask).all()
    # Positions 40..49 lie in windows 0 and 1: 9..0 from window 0's end, 0..9 from window 1's start.
    assert c.score[0, 40:45].all() and not c.score[1, 0:5].any()
    assert not c.score[0, 45:50].any() and c.score[1, 5:10].all()
    assert c.score[2, :].sum() == 99 - 85  # the tail window scores from the middle of its overlap on


def test_scoring_windows_tie_goes_to_the_earlier_window():
    from poetry_rnn.inputs.chunking import scoring_window

    owner = scoring_window(61, [0, 11], window=50)
    assert owner[10] == 0 and owner[29] == 0 and owner[60] == 1
    assert owner[30] == 0 and owner[31] == 1  # position 30 is 19 from both edges: the earlier window wins


def test_windows_of_one_poem_never_span_two_splits():
    rng = np.random.default_rng(0)
    poems = [rng.integers(1, 99, size=rng.integers(10, 200)).astype(np.int32) for _ in range(30)]
    splits = split_poems(list(range(30)), (0.6, 0.2, 0.2), seed=0)
    owners = {s: set(make_chunks([poems[i] for i in splits[s]], splits[s], 50, 40).poem.tolist()) for s in splits}
    assert owners["train"].isdisjoint(owners["test"]) and owners["train"].isdisjoint(owners["val"])


def test_every_split_gets_a_poem_even_when_tiny():
    s = split_poems([0, 1, 2], (0.8, 0.1, 0.1), seed=0)
    assert all(len(v) == 1 for v in s.values())


def test_too_few_poems_is_a_clear_error():
    with pytest.raises(PoetryRnnError, match="2 usable poem.*at least 3"):
        split_poems([0, 1], (0.8, 0.1, 0.1), seed=0)


def test_chunks_round_trip_through_npz(tmp_path):
    c = make_chunks([np.arange(1, 70, dtype=np.int32)], [0], 50, 40)
    save_chunks(c, tmp_path / "train.npz")
    back = load_chunks(tmp_path, "train")
    assert (back.ids == c.ids).all() and (back.mask == c.mask).all() and back.ids.dtype == np.int32


def test_missing_split_tells_which_stage_to_run(tmp_path):
    with pytest.raises(PoetryRnnError, match="dvc repro chunk"):
        load_chunks(tmp_path, "test")


def test_very_long_poem_is_chunked_never_truncated():
    tokens = np.arange(1, 10_001, dtype=np.int32)  # 10,000 distinct tokens
    c = make_chunks([tokens], [0], window=50, stride=40)
    assert set(c.ids[c.mask].tolist()) == set(tokens.tolist())  # every token lies in some window
    assert c.ids[c.mask].max() == 10_000 and len(c) == 250 and (c.poem == 0).all()


@pytest.mark.parametrize("length", [1, 49, 50, 51, 997, 10_000])
@pytest.mark.parametrize("window, stride", [(50, 40), (50, 49), (10, 1), (2, 1)])
def test_windows_reach_the_last_token_for_any_overlapping_stride(length, window, stride):
    starts = window_starts(length, window, stride)
    assert starts[0] == 0 and starts[-1] + window >= length
    assert all(b - a == stride for a, b in zip(starts, starts[1:]))


def test_split_leaving_no_training_poem_is_a_clear_error():
    with pytest.raises(PoetryRnnError, match=r"chunk.split \[0.1, 0.45, 0.45\] leaves no training poem out of 4"):
        split_poems([0, 1, 2, 3], (0.1, 0.45, 0.45), seed=0)
