"""Seed groups: pipelines that differ only in train.seed are grouped (another param or another commit sets a run
apart, a seed run twice counts once), and a group's figures are the mean over seeds with an interval from a paired
bootstrap over poems and seeds, checked against a direct numpy computation. The real pipeline's seed group, read back
from MLflow, is checked in tests/test_pipeline_e2e.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.scoring.comparison import seed_lines, seed_tables
from poetry_rnn.scoring.names import SCORES
from poetry_rnn.scoring.scores import LEVEL
from poetry_rnn.scoring.seeds import summary
from poetry_rnn.services.runs import seed_group
from poetry_rnn.services.seed_groups import Pipeline, apart, groups

SKILL = {"per_token": 0.2, "baseline": 0.4, "attention": 0.6}  # each model's share of hits


def poem_tables(seeds, poems: int = 30, spread: float = 0.05, seed: int = 0) -> dict[int, pd.DataFrame]:
    """Per seed, a per-poem table as the evaluate stage writes it: the same test poems and token counts for every
    seed and model, hits drawn around each model's skill, which moves by `spread` from seed to seed."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(20, 60, poems)
    content = rng.binomial(tokens, 0.4)
    out = {}
    for s in seeds:
        rows = []
        for model, skill in SKILL.items():
            p = np.clip(skill + rng.normal(0, spread), 0.01, 0.99)
            rows.append(pd.DataFrame({
                "model": model, "poem": np.arange(100, 100 + poems),
                "content_word_accuracy_num": rng.binomial(content, p), "content_word_accuracy_den": content,
                "nearest_word_accuracy_num": rng.binomial(tokens, p), "nearest_word_accuracy_den": tokens,
                "test_cosine_num": tokens * (0.3 + p / 2) + rng.normal(0, 1, poems), "test_cosine_den": tokens}))
        out[s] = pd.concat(rows, ignore_index=True).sample(frac=1, random_state=s)  # rows in any order
    return out


def direct(tables: dict[int, pd.DataFrame], seed: int, resamples: int) -> dict:
    """The documented computation, written out: each resample draws the poems with replacement (counts), then the
    seeds; a model's statistic is the mean over the drawn seeds of each seed's ratio of sums on the drawn poems."""
    seeds = sorted(tables)
    by = {(s, m): t[t["model"] == m].sort_values("poem") for s, t in tables.items() for m in SKILL}
    poems = len(by[seeds[0], "baseline"])
    rng = np.random.default_rng(seed)
    w = rng.multinomial(poems, [1 / poems] * poems, size=resamples)
    u = rng.multinomial(len(seeds), [1 / len(seeds)] * len(seeds), size=resamples)
    out = {}
    for m in SKILL:
        for key in SCORES:
            num = np.array([by[s, m][f"{key}_num"].to_numpy(float) for s in seeds])
            den = np.array([by[s, m][f"{key}_den"].to_numpy(float) for s in seeds])
            per_seed = num.sum(1) / den.sum(1)
            stats = [sum(u[r, i] * (w[r] @ num[i]) / (w[r] @ den[i]) for i in range(len(seeds))) / len(seeds)
                     for r in range(resamples)]
            out[m, key] = per_seed, np.array(stats)
    return out


def test_a_groups_figures_are_the_direct_two_level_bootstrap():
    tables = poem_tables([3, 1, 2])
    got = summary(tables, seed=42, resamples=300)
    expected = direct(tables, seed=42, resamples=300)
    tail = 100 * (1 - LEVEL) / 2
    assert got["seeds"] == [1, 2, 3] and got["poems"] == 30 and list(got["models"]) == list(SKILL)  # registry order
    for (m, key), (per_seed, stats) in expected.items():
        s = got["models"][m][key]
        assert s["by_seed"] == pytest.approx(per_seed.tolist(), rel=1e-12)
        assert s["mean"] == pytest.approx(per_seed.mean(), rel=1e-12)
        assert s["sd"] == pytest.approx(per_seed.std(ddof=1), rel=1e-9)
        assert (s["min"], s["max"]) == pytest.approx((per_seed.min(), per_seed.max()))
        assert s["ci"] == pytest.approx(np.percentile(stats, [tail, 100 - tail]).tolist(), rel=1e-12)
    # every pair of the registry, each the same paired draws: a - b per resample
    assert list(got["differences"]) == ["baseline_vs_per_token", "attention_vs_per_token", "attention_vs_baseline"]
    for a, b in (("attention", "baseline"), ("baseline", "per_token")):
        for key in SCORES:
            d = got["differences"][f"{a}_vs_{b}"][key]
            gap = expected[a, key][0] - expected[b, key][0]
            assert d["mean"] == pytest.approx(gap.mean()) and d["sd"] == pytest.approx(gap.std(ddof=1))
            diff = expected[a, key][1] - expected[b, key][1]
            assert d["ci"] == pytest.approx(np.percentile(diff, [tail, 100 - tail]).tolist(), rel=1e-9)
            assert d["verdict"] == "beats" and d["ci"][0] > 0  # 20 points better on every seed


def test_seeds_far_apart_widen_the_interval_beyond_the_poems_alone():
    def width(spread):
        s = summary(poem_tables([1, 2, 3, 4, 5], spread=spread), seed=0)["models"]["baseline"]["nearest_word_accuracy"]
        return s["ci"][1] - s["ci"][0]

    one = summary(poem_tables([1]), seed=0)["models"]["baseline"]["nearest_word_accuracy"]
    assert one["sd"] is None and one["ci"][0] < one["mean"] < one["ci"][1]  # one seed: poems only, no spread
    assert width(0.15) > 2 * width(0.0)


def test_runs_on_other_test_poems_are_refused():
    tables = poem_tables([1, 2])
    tables[2] = tables[2].assign(poem=tables[2]["poem"] + 1)
    with pytest.raises(PoetryRnnError, match=r"train.seed 2 and 1 were evaluated on other test poems"):
        summary(tables, seed=0)


def pipeline(run_id: str, seed: int, started: int, heads: int = 2, commit: str = "c1", evaluated: bool = True):
    params = {"seed": "42", "model.heads": str(heads), "train.seed": str(seed)}
    return Pipeline(run_id, run_id, seed, seed_group(params, commit), started, "eval" if evaluated else None, params,
                    commit)


def test_pipelines_group_by_every_param_but_the_seed_and_by_commit():
    # as the parent run is created (values) and as MLflow gives its params back (text): one group
    assert seed_group({"train.seed": 1, "model.heads": 2, "x": None}, "c1") == \
        seed_group({"train.seed": "9", "model.heads": "2", "x": "None"}, "c1")
    found = [pipeline("a", 1, 10), pipeline("b", 2, 20), pipeline("a2", 1, 30),  # seed 1 again, later
             pipeline("c", 3, 40, evaluated=False),  # not evaluated (running, or failed before evaluate)
             pipeline("h", 1, 50, heads=4), pipeline("k", 2, 60, commit="c2")]
    grouped = groups(found)
    assert [[p.run_id for p in members] for members in grouped.values()] == [["a2", "b"]]
    every = groups(found, min_seeds=1)
    assert sorted([p.run_id for p in m] for m in every.values()) == [["a2", "b"], ["h"], ["k"]]
    assert next(iter(every)) == found[-1].group  # newest group first
    shown = apart(every)
    assert shown[found[0].group] == {"model.heads": "2"} and shown[found[4].group] == {"model.heads": "4"}


def test_the_tables_show_means_intervals_spread_and_verdicts():
    figures = summary(poem_tables([1, 2, 3]), seed=0)
    means, differences, spread = seed_tables(figures)
    s = figures["models"]["attention"]["content_word_accuracy"]
    assert means.set_index("model").loc["attention", "content-word accuracy, mean of 3 seeds [95% CI]"] == \
        f"{100 * s['mean']:.2f}% [{100 * s['ci'][0]:.2f}%, {100 * s['ci'][1]:.2f}%]"
    d = figures["differences"]["attention_vs_baseline"]["test_cosine"]
    assert list(differences["difference"]) == ["baseline − per_token", "attention − per_token", "attention − baseline"]
    assert differences.iloc[2]["test cosine [95% CI]"] == f"{d['mean']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]: beats"
    rows = spread.set_index("between seeds: sd (range)")
    assert list(rows.index) == [*SKILL, "baseline − per_token", "attention − per_token", "attention − baseline"]
    assert rows.loc["attention", "content-word accuracy"] == \
        f"{100 * s['sd']:.2f} pt ({100 * s['min']:.2f}% to {100 * s['max']:.2f}%)"
    lines = seed_lines(figures)
    assert lines[2].startswith("content-word accuracy: attention − baseline = +")
    assert "95% CI over 3 seeds and 30 test poems" in lines[2] and ": attention beats baseline; between seeds sd " in lines[2]
