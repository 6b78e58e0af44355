"""Verdicts are read from the intervals of paired differences; the champion from validation scores only."""

import re

import pytest

from poetry_rnn.scoring.names import SCORES
from poetry_rnn.scoring.comparison import (
    across_seeds, champion, comparison_table, judge, render_markdown, shown_table, verdict, verdict_lines,
)


def result(cwa, nwa, cos, val=(0.0, 0.0, 0.0)) -> dict:
    scores = {"content_word_accuracy": cwa, "nearest_word_accuracy": nwa, "test_cosine": cos}
    return {**scores, "ci": {k: [v - 0.01, v + 0.01] for k, v in scores.items()},
            "validation": dict(zip(("val_content_word_accuracy", "val_nearest_word_accuracy", "val_cosine"), val))}


def diff(mean, lo, hi) -> dict:
    return {key: {"mean": mean, "ci": [lo, hi]} for key in SCORES}


def evaluation(val_baseline=(0.02, 0.1, 0.6), val_attention=(0.01, 0.2, 0.7)) -> dict:
    return {
        "baseline": result(0.01, 0.10, 0.66, val_baseline), "attention": result(0.03, 0.15, 0.70, val_attention),
        "reference": {"mean_vector": result(0.0, 0.09, 0.65), "pca": result(0.001, 0.11, 0.67)},
        "differences": {"attention_vs_baseline": diff(0.02, -0.001, 0.04),
                        "attention_vs_pca": diff(0.03, 0.01, 0.05), "attention_vs_mean_vector": diff(0.03, 0.02, 0.04),
                        "baseline_vs_pca": diff(-0.01, -0.02, -0.005), "baseline_vs_mean_vector": diff(0.01, 0.0, 0.02)},
        "bootstrap": {"level": 0.95, "poems": 40, "resamples": 1000, "seed": 42}, "vocabulary": 1234,
    }


def test_beats_only_when_the_interval_lies_above_zero():
    assert judge([0.001, 0.02]) == "beats"
    assert judge([-0.001, 0.02]) == "no detectable difference"
    assert judge([0.0, 0.02]) == "no detectable difference"
    assert judge([-0.03, -0.001]) == "is beaten by"
    assert judge([None, None]) == "undefined"


def test_verdict_lines_lead_with_content_words_and_read_each_interval():
    lines = verdict_lines(evaluation())
    assert lines[0].startswith("content-word accuracy: attention − baseline = +2.00 pt, 95% CI [-0.10 pt, +4.00 pt]")
    assert lines[0].endswith("no detectable difference.")
    assert lines[1].endswith("baseline is beaten by pca.") and "(the best reference)" in lines[1]
    assert lines[2].endswith("attention beats pca.")
    assert lines[-1].startswith('Champion (the registry alias "champion"): baseline, on validation scores')


def test_champion_follows_validation_not_test_scores():
    e = evaluation()
    assert e["attention"]["test_cosine"] > e["baseline"]["test_cosine"]  # attention wins every test score ...
    assert champion(e) == "baseline"  # ... but baseline has the better validation content-word accuracy
    assert champion(evaluation(val_baseline=(0.01, 0.1, 0.6))) == "attention"
    out = verdict(e)
    assert out["champion"] == "baseline" and out["verdict"]["attention_vs_baseline"]["test_cosine"] == "no detectable difference"
    assert out["verdict"]["baseline_vs_best_reference"]["content_word_accuracy"] == "is beaten by"


def test_table_shows_each_score_with_its_interval_and_the_parameter_counts():
    training = {m: {"parameters": p, "train_seconds": 10.0, "epochs": 3, "best_epoch": 2}
                for m, p in (("baseline", 1000), ("attention", 1250))}
    table = comparison_table(evaluation(), training)
    assert list(table["model"]) == ["baseline", "attention", "reference: mean_vector", "reference: pca"]
    assert table.loc[1, "content_word_accuracy_lo"] == pytest.approx(0.02) and table.loc[1, "parameters"] == 1250
    shown = shown_table(table)
    assert list(shown.columns[1:4]) == ["content-word accuracy [95% CI]", "nearest-word accuracy [95% CI]",
                                        "test cosine [95% CI]"]
    assert shown.loc[1, "content-word accuracy [95% CI]"] == "3.00% [2.00%, 4.00%]"
    assert shown.loc[0, "test cosine [95% CI]"] == "0.6600 [0.6500, 0.6700]" and shown.loc[3, "parameters"] == ""
    md = render_markdown(table, evaluation(), [{"window": 3, "columns": {"original": ["the", "sea"], "baseline": [",", "sea"]}}],
                         across_seeds(None, 7))
    assert re.search(r"\|\s*1250\s*\|", md) and "paired bootstrap over the 40 test poems" in md
    assert "## Across training seeds\n\nEvery verdict above rests on one training run per model (train.seed 7)" in md
    assert "| 2 | `sea` | `sea` |" in md
