"""The compression frontier: each score against numbers per token (bottleneck / window), for both models and
PCA of the same size, one series per window, across the DVC experiments of a repo (their metrics/evaluate.json),
with their bootstrap intervals.
A baseline sized by model.baseline_hidden is a series of its own: "baseline, equal size" where its parameter count is
within 1% of the attention model's (the control that tells attention from size), else "baseline, hidden N"."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from poetry_rnn.architectures import ARCHITECTURES
from poetry_rnn.scoring.comparison import headline
from poetry_rnn.scoring.names import SCORES, SHORT
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.paths import metrics_file

MODELS = tuple(ARCHITECTURES)
SERIES = (*MODELS, "pca")  # PCA has as many components as the bottleneck has numbers
EQUAL_SIZE = 0.01  # a sized baseline this close to the attention model's parameter count is "of equal size"


def parameter_counts(row: dict) -> dict:
    """Each model's parameter count in a `dvc.api.exp_show` row: metrics/train_<model>.json's headline
    (parameters.<model>), or the whole evaluation's from before the headline (<model>.parameters); None if absent."""
    found = {}
    for model in MODELS:
        counts = [row.get(key) for key in (f"parameters.{model}", f"{model}.parameters")]
        found[model] = next((int(n) for n in counts if isinstance(n, (int, float))), None)
    return found


def experiment_evaluations(repo: str | Path = ".", commits: int = 1) -> list[tuple[str, dict, dict]]:
    """(name, params, metrics/evaluate.json) of the workspace and of each experiment that has an evaluation, from HEAD
    and the commits before it (`commits`: how many, -1 for all)."""
    import dvc.api

    found = []
    for row in dvc.api.exp_show(repo=str(repo), num=commits):
        params = {k: row.get(k) for k in ("model.bottleneck", "chunk.window", "model.baseline_hidden")}
        params["parameters"] = parameter_counts(row)
        # metrics/evaluate.json before the headline held the whole evaluation (baseline.test_cosine): still read
        scored = [row.get(k) for m in MODELS for k in (f"{SHORT['test_cosine']}.{m}", f"{m}.test_cosine")]
        if None in (params["model.bottleneck"], params["chunk.window"]) or not any(isinstance(v, float) for v in scored):
            continue  # no params or no metrics ("!"): a commit whose pipeline never ran
        if row["rev"] == "workspace":
            path = Path(repo) / metrics_file("evaluate")
            if not path.is_file():
                continue
            text, name = path.read_text(), "workspace"
        else:
            text, name = dvc.api.read(str(metrics_file("evaluate")), repo=str(repo), rev=row["rev"]), row["Experiment"] or row["rev"]
        evaluation = json.loads(text)
        found.append((name, params, headline(evaluation) if "reference" in evaluation else evaluation))
    return sorted(found, key=lambda f: f[0] == "workspace")  # stable: the workspace last, so a named experiment wins


def frontier_table(evaluations: list[tuple[str, dict, dict]]) -> pd.DataFrame:
    """One row per experiment and series: window, numbers per token, each score with its interval. Evaluations
    seen twice (the workspace holds the last experiment applied) appear once, under the first name."""
    rows, seen = [], set()
    for name, params, evaluation in evaluations:
        key = json.dumps(evaluation, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        counts = params.get("parameters") or {}
        for series in SERIES:
            if series not in evaluation[SHORT["test_cosine"]]:
                continue  # an evaluation from before the architecture joined the registry (the per-token code)
            hidden = params.get("model.baseline_hidden")
            sized = series == "baseline" and hidden not in (None, "", "None")
            label = series
            if sized:
                equal = None not in (counts.get("baseline"), counts.get("attention")) and \
                    abs(counts["baseline"] / counts["attention"] - 1) <= EQUAL_SIZE
                label = "baseline, equal size" if equal else f"baseline, hidden {int(hidden)}"
            row = {"experiment": name, "series": label, "hidden": int(hidden) if sized else None,
                   "parameters": counts.get(series), "bottleneck": int(params["model.bottleneck"]),
                   "window": int(params["chunk.window"])}
            row["numbers_per_token"] = row["bottleneck"] / row["window"]
            for score in SCORES:
                row[score] = evaluation[SHORT[score]][series]
                row[f"{score}_lo"], row[f"{score}_hi"] = evaluation["ci"][SHORT[score]][series]
            rows.append(row)
    if not rows:
        raise PoetryRnnError("no experiment with metrics/evaluate.json: run a sweep first, e.g. "
                             "`dvc exp run --queue -S 'model.bottleneck=16,64,256'` and `dvc queue start`")
    table = pd.DataFrame(rows).astype({"hidden": "Int64", "parameters": "Int64"})  # integers, blank where none
    return table.sort_values(["series", "window", "numbers_per_token"], ignore_index=True)
