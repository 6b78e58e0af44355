"""The compression frontier is read from real DVC experiments (their metrics/evaluate.json, intervals included)
and drawn per model and for PCA against numbers per token."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from poetry_rnn import cli
from project import run

# A stand-in evaluate stage: scores grow with the bottleneck, so the frontier's order can be checked.
FAKE_EVALUATE = '''
import json, yaml
p = yaml.safe_load(open("params.yaml"))
b, w = p["model"]["bottleneck"], p["chunk"]["window"]
scale = {"baseline": 1.0, "attention": 1.5, "mean_vector": 0.1, "pca": 0.5}
scores = {"cwa": {n: s * b / 1000 for n, s in scale.items()}, "nwa": {n: s * b / 500 for n, s in scale.items()},
          "cos": {n: 0.5 + s * b / 10000 for n, s in scale.items()}}
scores["ci"] = {k: {n: [v * 0.9, v * 1.1] for n, v in by_name.items()} for k, by_name in scores.items()}
if b == 16:  # the layout before the headline, the whole evaluation, as commits of then hold it
    long = {"cwa": "content_word_accuracy", "nwa": "nearest_word_accuracy", "cos": "test_cosine"}
    result = {n: {long[k]: scores[k][n] for k in long} | {"ci": {long[k]: scores["ci"][k][n] for k in long}} for n in scale}
    scores = {"baseline": result["baseline"], "attention": result["attention"],
              "reference": {"mean_vector": result["mean_vector"], "pca": result["pca"]}}
json.dump(scores, open("metrics/evaluate.json", "w"))  # the headline's layout, as comparison.headline writes it
'''


@pytest.fixture
def sweep(tmp_path) -> Path:
    """A git + DVC repo whose stage writes an evaluation for model.bottleneck, swept over 8, 16 and 32."""
    repo = tmp_path / "repo"
    (repo / "metrics").mkdir(parents=True)
    (repo / "evaluate.py").write_text(FAKE_EVALUATE)
    (repo / "params.yaml").write_text("model:\n  bottleneck: 8\nchunk:\n  window: 16\n")
    (repo / "dvc.yaml").write_text("stages:\n  evaluate:\n    cmd: python evaluate.py\n    deps: [evaluate.py]\n"
                                   "    params: [model.bottleneck, chunk.window]\n    metrics: [metrics/evaluate.json]\n")
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "t@example.com"], ["git", "config", "user.name", "T"],
                ["dvc", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "sweep"]):
        run(cmd, repo)
    for b in (16, 32):
        run(["dvc", "exp", "run", "-S", f"model.bottleneck={b}", "--name", f"b{b}"], repo)
    return repo


@pytest.mark.e2e
def test_frontier_plots_every_experiment_with_intervals(sweep, monkeypatch):
    monkeypatch.chdir(sweep)
    out = sweep / "frontier.png"
    result = CliRunner().invoke(cli.main, ["frontier", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(sweep / "frontier.csv")
    # The workspace holds b32's results: counted once. The base commit (never run) has none.
    assert sorted(set(table["experiment"])) == ["b16", "b32"]
    pca = table[table["series"] == "pca"]
    assert pca["numbers_per_token"].tolist() == [1.0, 2.0]
    assert pca["content_word_accuracy"].tolist() == pytest.approx([0.5 * 16 / 1000, 0.5 * 32 / 1000])
    attention = table[table["series"] == "attention"].iloc[-1]
    assert attention["test_cosine_lo"] == pytest.approx(0.9 * attention["test_cosine"])
    assert "b16" in result.stdout and "attention" in result.stdout

    only = CliRunner().invoke(cli.main, ["frontier", "--out", str(out), "--exp", "b16"])
    assert only.exit_code == 0, only.output
    assert set(pd.read_csv(sweep / "frontier.csv")["experiment"]) == {"b16"}

    # A later commit with an experiment of its own: HEAD's alone by default, both commits' with --commits 2.
    (sweep / "NOTES").write_text("a later commit\n")
    run(["git", "add", "NOTES"], sweep), run(["git", "commit", "-qm", "later"], sweep)
    run(["dvc", "exp", "run", "-S", "model.bottleneck=64", "--name", "b64"], sweep)
    for commits, expected in ((1, {"b64"}), (2, {"b16", "b32", "b64"})):
        later = CliRunner().invoke(cli.main, ["frontier", "--out", str(out), "--commits", str(commits)])
        assert later.exit_code == 0, later.output
        assert set(pd.read_csv(sweep / "frontier.csv")["experiment"]) == expected


def test_frontier_without_experiments_says_what_to_run():
    from poetry_rnn.errors import PoetryRnnError
    from poetry_rnn.scoring.frontier import frontier_table

    with pytest.raises(PoetryRnnError, match="run a sweep first"):
        frontier_table([])


def test_frontier_has_a_series_per_window_and_the_equal_size_baseline_apart(tmp_path):
    from poetry_rnn.scoring import plots
    from poetry_rnn.scoring.comparison import headline
    from poetry_rnn.scoring.names import SCORES
    from poetry_rnn.scoring.frontier import frontier_table

    def evaluation(scale):
        result = {k: scale for k in SCORES} | {"ci": {k: [scale - 0.01, scale + 0.01] for k in SCORES}}
        return headline({"baseline": result, "attention": result, "reference": {"pca": result, "mean_vector": result}})

    def params(window, bottleneck, hidden, baseline, attention):
        return {"model.bottleneck": bottleneck, "chunk.window": window, "model.baseline_hidden": hidden,
                "parameters": {"baseline": baseline, "attention": attention}}

    table = frontier_table([
        ("w10-b64", params(10, 64, None, 900, 1000), evaluation(0.4)),
        ("w50-b256", params(50, 256, None, 900, 1000), evaluation(0.5)),
        ("w50-b256-sized", params(50, 256, 150, 1009, 1000), evaluation(0.6)),  # within 1%: equal size
        ("w50-b512-sized", params(50, 512, 160, 1000, 1000), evaluation(0.7)),
        ("w50-b512-bigger", params(50, 512, 200, 1200, 1000), evaluation(0.8)),  # sized, but not to the attention model
    ])
    assert set(table["series"]) == {"attention", "baseline", "baseline, equal size", "baseline, hidden 200", "pca"}
    sized = table[table["series"] == "baseline, equal size"]
    assert sized[["window", "numbers_per_token", "hidden", "parameters", "content_word_accuracy"]].values.tolist() == [
        [50, 5.12, 150, 1009, 0.6], [50, 10.24, 160, 1000, 0.7]]
    assert table[table["series"] == "baseline, hidden 200"]["parameters"].tolist() == [1200]
    assert table[table["series"] == "attention"]["window"].tolist() == [10, 50, 50, 50, 50]
    plots.frontier(table, tmp_path / "frontier.png", SCORES)
    assert (tmp_path / "frontier.png").read_bytes()[:4] == b"\x89PNG"
