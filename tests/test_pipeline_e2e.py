"""End to end: the real pipeline under real DVC in a real git repo, inputs served over HTTP from 127.0.0.1,
tracked in a real MLflow sqlite store, read back through a real `mlflow server`."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import requests

from http_server import serve_directory
from poetry_rnn.architectures import ARCHITECTURES
from poetry_rnn.services import team
from project import (
    GLOVE_WORDS, STAGES, children, make_inputs, make_project, mlflow_runs, pipeline_runs, run, stage_runs, stages_ran,
)

pytestmark = pytest.mark.e2e


def test_dvc_repro_runs_every_stage_tracks_it_in_mlflow_and_sweeps_heads(tmp_path, monkeypatch):
    # MLflow samples the system metrics every second (every 10 by default), so each tiny training run holds some
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "1")
    make_inputs(tmp_path / "served")
    with serve_directory(tmp_path / "served") as url:
        project = make_project(tmp_path / "project", url)

        # 1. A full `dvc repro`: every stage, in order.
        out = run(["dvc", "repro"], project)
        assert stages_ran(out) == ["fingerprint_inputs", *STAGES]  # the bookkeeping stage runs every time

    # Every stage's outputs and metrics are there.
    for path in ["data/glove/vectors.npy", "data/glove/vocab.txt", "data/corpus/poems.csv", "data/chunks/test.npz",
                 "stages/train_baseline/checkpoints/best.pt", "stages/train_attention/checkpoints/last.pt",
                 "stages/train_attention/history.csv", "stages/evaluate/cosine_by_position.csv",
                 "stages/evaluate/figures/cosine_by_position.png", "stages/evaluate/figures/bottleneck_map.png",
                 "stages/evaluate/figures/attention.png", "stages/evaluate/figures/samples.json",
                 "stages/compare/comparison.md", "stages/compare/comparison.csv", "stages/compare/scores.png"]:
        assert (project / path).is_file(), path
    metrics = {s: json.loads((project / f"stages/{s}/details.json").read_text()) for s in STAGES}
    assert metrics["download_glove"]["words"] == len(GLOVE_WORDS) and metrics["download_glove"]["dim"] == 16
    assert metrics["preprocess"]["poems"] == 30 and 0.8 < metrics["preprocess"]["glove_coverage"] < 1.0
    assert sum(metrics["chunk"][s]["poems"] for s in ("train", "val", "test")) == 30
    evaluation = metrics["evaluate"]
    for model in ARCHITECTURES:
        scores = evaluation[model]
        assert len(scores["cosine_by_position"]) == 50 and "test_cosine_median" in scores
        assert {"mean_norm", "active_dims", "effective_dims"} <= set(scores["bottleneck"])
        assert set(scores["validation"]) == {"val_content_word_accuracy", "val_nearest_word_accuracy", "val_cosine"}
        assert metrics[f"train_{model}"]["epochs"] == 3
        assert scores["quantized"]["bits"] == 8 and 0 <= scores["quantized"]["content_word_accuracy"] <= 1
        check_scores_from_scratch(project, model, scores)
    assert set(evaluation["reference"]) == {"mean_vector", "pca"}
    for name, result in [*((m, evaluation[m]) for m in ARCHITECTURES), *evaluation["reference"].items()]:
        assert result["tokens"] == metrics["chunk"]["test"]["tokens"], name  # every test token, once
        assert 0 < result["content_tokens"] < result["tokens"], name
        assert set(result["accuracy_by_rank"]) == {"1-10", "11-100", "101-1000", "1001-10000", "rarer"}, name
        for key in ("content_word_accuracy", "nearest_word_accuracy", "test_cosine"):
            lo, hi = result["ci"][key]
            assert lo <= result[key] <= hi, (name, key)
    assert set(evaluation["differences"]) == {"attention_vs_baseline", "attention_vs_per_token", "baseline_vs_per_token",
                                              *(f"{m}_vs_{r}" for m in ARCHITECTURES for r in ("pca", "mean_vector"))}
    d = evaluation["differences"]["attention_vs_baseline"]["test_cosine"]
    assert d["mean"] == pytest.approx(evaluation["attention"]["test_cosine"] - evaluation["baseline"]["test_cosine"])
    assert d["ci"][0] <= d["mean"] <= d["ci"][1]
    assert "| baseline" in (project / "stages/compare/comparison.md").read_text()

    # MLflow holds one finished run per stage, with params, metrics and artifacts, under the user's repo.
    client, exp, runs = mlflow_runs(project)
    assert exp.artifact_location == (project / "mlartifacts").as_uri()
    by_stage = {r.data.tags["stage"]: r for r in stage_runs(runs)}
    assert sorted(by_stage) == sorted(STAGES) and len(stage_runs(runs)) == len(STAGES)

    # One parent run for the `dvc repro`, its stage runs as children, each named in a tag.
    [repro] = pipeline_runs(runs)
    assert len(runs) == len(STAGES) + 1 and repro.info.status == "FINISHED"  # named workspace@<commit>: check_runs_tell_the_story
    assert {r.info.run_id for r in children(runs, repro)} == {r.info.run_id for r in by_stage.values()}
    assert all(repro.data.tags[f"stage.{s}"] == f"ran: {by_stage[s].info.run_id}" for s in STAGES)
    for stage, r in by_stage.items():
        assert r.info.status == "FINISHED", stage
        assert r.data.params and r.data.metrics, stage
        assert r.data.tags["params_hash"] and re.fullmatch(r"[0-9a-f]{40}", r.data.tags["git_commit"]), stage
        assert client.list_artifacts(r.info.run_id), stage
    train_keys = {k for k in by_stage["train_baseline"].data.metrics if not k.startswith("system/")}
    assert train_keys == {k for k in by_stage["train_attention"].data.metrics if not k.startswith("system/")}  # column for column
    assert {"val_cosine", "val_content_word_accuracy_pct", "train_loss", "best_val_cosine"} <= train_keys
    check_runs_tell_the_story(project, client, repro, by_stage, metrics)
    for model in ARCHITECTURES:
        check_machine_use(client, by_stage[f"train_{model}"].info.run_id)
    assert "model.heads" not in by_stage["train_baseline"].data.params
    assert by_stage["train_attention"].data.params["model.heads"] == "2"
    assert len(client.get_metric_history(by_stage["train_baseline"].info.run_id, "val_cosine")) == 3
    ckpts = {a.path for a in client.list_artifacts(by_stage["train_attention"].info.run_id, "checkpoints")}
    assert ckpts == {"checkpoints/best.pt", "checkpoints/last.pt"}

    # The logged final model loads back with mlflow.pytorch and reconstructs a window.
    import mlflow.pytorch
    import torch

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    model = mlflow.pytorch.load_model(f"runs:/{by_stage['train_attention'].info.run_id}/model")
    assert model(torch.zeros(1, 50, 16)).shape == (1, 50, 16)

    # 2. Nothing changed: a second repro skips every stage but the bookkeeping one, and logs nothing.
    out = run(["dvc", "repro"], project)
    assert stages_ran(out) == ["fingerprint_inputs"]
    assert len(mlflow_runs(project)[2]) == len(STAGES) + 1  # no stage ran, so not even a parent run

    # 3. A sweep of model.heads reruns exactly the three downstream stages; tracking.system_metrics, a switch of what
    # is logged, reruns nothing more, and the training that runs logs no system metrics.
    out = run(["dvc", "exp", "run", "-S", "model.heads=8", "-S", "tracking.system_metrics=false", "--name", "heads8"],
              project)
    assert stages_ran(out) == ["fingerprint_inputs", "train_attention", "evaluate", "compare"]
    _, _, runs = mlflow_runs(project)
    new = [r for r in stage_runs(runs) if r.data.tags.get("dvc_experiment") == "heads8"]
    assert sorted(r.data.tags["stage"] for r in new) == ["compare", "evaluate", "train_attention"]
    swept_training = next(r for r in new if r.data.tags["stage"] == "train_attention")
    assert swept_training.data.params["model.heads"] == "8"
    assert not [k for k in swept_training.data.metrics if k.startswith("system/")]
    assert "rests on one training run per model (train.seed 42)" in (project / "stages/compare/comparison.md").read_text()

    # `dvc exp show --only-changed` in a 120-column terminal: both models' content-word accuracy lead, whole.
    check_exp_show_fits(project, json.loads((project / "metrics/evaluate.json").read_text()))

    # The sweep's parent holds its three stage runs and says where the four skipped stages' outputs came from.
    [sweep] = [r for r in pipeline_runs(runs) if r.data.tags["dvc_experiment"] == "heads8"]
    assert sweep.info.run_name == "heads8" and sweep.info.status == "FINISHED"
    assert all(r.info.run_name == f"heads8/{r.data.tags['stage']}" for r in new)
    assert {r.info.run_id for r in children(runs, sweep)} == {r.info.run_id for r in new}
    for stage in ("download_glove", "preprocess", "chunk", "train_per_token", "train_baseline"):
        assert sweep.data.tags[f"stage.{stage}"] == ("skipped: unchanged or restored from DVC's run-cache; "
                                                     f"outputs from run {by_stage[stage].info.run_id}"), stage
    assert all(sweep.data.tags[f"stage.{r.data.tags['stage']}"] == f"ran: {r.info.run_id}" for r in new)

    # The evaluate stage put each model's test scores on the run that trained it.
    sweep_attention = next(r for r in new if r.data.tags["stage"] == "train_attention")
    for training, model in ((by_stage["train_baseline"], "baseline"), (sweep_attention, "attention")):
        got = client.get_run(training.info.run_id).data.metrics
        assert {"content_word_accuracy_pct", "test_cosine_pct", "test_cosine_median_pct",
                "nearest_word_accuracy_pct"} <= set(got), model
    swept = json.loads((project / "stages/evaluate/details.json").read_text())
    got = client.get_run(sweep_attention.info.run_id).data.metrics
    assert got["test_cosine_pct"] == pytest.approx(100 * swept["attention"]["test_cosine"])  # in percent
    assert got["nearest_word_accuracy_pct"] == pytest.approx(100 * swept["attention"]["nearest_word_accuracy"])

    # The sweep's parent: its params (heads 8) and its own pipeline's scores, so the two pipelines compare in a row.
    sweep = client.get_run(sweep.info.run_id)
    assert sweep.data.params["model.heads"] == "8" and sweep.data.params["chunk.window"] == "50"
    check_headline(sweep, swept)
    assert sweep.data.tags["champion"] == json.loads((project / "metrics/compare.json").read_text())["champion"]

    # 4. Registry: each training run registered a version; `champion` sits on the sweep's winner only.
    for name, trained in (("per_token", [by_stage["train_per_token"]]), ("baseline", [by_stage["train_baseline"]]),
                          ("attention", [by_stage["train_attention"], sweep_attention])):
        versions = client.search_model_versions(f"name = 'poetry-rnn-{name}'")
        assert sorted(v.run_id for v in versions) == sorted(r.info.run_id for r in trained), name
    winner = json.loads((project / "metrics/compare.json").read_text())["champion"]
    validation = {m: swept[m]["validation"]["val_content_word_accuracy"] for m in ARCHITECTURES}
    assert validation[winner] == max(validation.values())  # picked on validation scores
    champion = client.get_model_version_by_alias(f"poetry-rnn-{winner}", "champion")
    trained = sweep_attention if winner == "attention" else by_stage[f"train_{winner}"]
    assert champion.run_id == trained.info.run_id
    for loser in set(ARCHITECTURES) - {winner}:
        assert "champion" not in client.get_registered_model(f"poetry-rnn-{loser}").aliases
    model = mlflow.pytorch.load_model(f"models:/poetry-rnn-{winner}@champion")
    assert model(torch.randn(1, 50, 16)).shape == (1, 50, 16)
    report = (project / "stages/compare/report.html").read_text()
    assert "<table" in report and report.count("data:image/png;base64,") == 5
    compare_run = next(r for r in new if r.data.tags["stage"] == "compare")
    assert "compare/report.html" in {a.path for a in client.list_artifacts(compare_run.info.run_id, "compare")}

    # 5. A real `mlflow server` over the store serves both training runs with the same metric keys, scores included,
    # and the saved view `poetry-rnn ui` lands on: the two pipelines, one row each, with every column it shows.
    from poetry_rnn.services import view

    view.save_runs_view(exp.experiment_id)
    with mlflow_server(project) as base:
        found = requests.post(f"{base}/api/2.0/mlflow/runs/search", timeout=30, json={
            "experiment_ids": [exp.experiment_id], "filter": "tags.stage LIKE 'train_%'", "max_results": 100}).json()
        tags = requests.get(f"{base}/api/2.0/mlflow/experiments/get", params={"experiment_id": exp.experiment_id},
                            timeout=30).json()["experiment"]["tags"]
        view = json.loads(json.loads(next(t["value"] for t in tags if t["key"] == f"mlflow.sharedViewState.{view.VIEW}"))["state"])
        rows = requests.post(f"{base}/api/2.0/mlflow/runs/search", timeout=30, json={
            "experiment_ids": [exp.experiment_id], "filter": view["searchFilter"], "max_results": 100,
            "order_by": [f"{view['orderByKey']} {'ASC' if view['orderByAsc'] else 'DESC'}"]}).json()["runs"]
    assert sorted(r["info"]["run_name"] for r in rows) == sorted([repro.info.run_name, "heads8"])
    best = [{m["key"]: m["value"] for m in r["data"]["metrics"]} for r in rows]
    key = "attention.content_word_accuracy_pct"
    assert [m[key] for m in best] == sorted((m[key] for m in best), reverse=True)  # best attention model first
    for row in rows:
        shown = {f"{kind}.`{m['key']}`" for kind in ("params", "metrics") for m in row["data"][kind]}
        assert set(view["selectedColumns"]) <= shown, row["info"]["run_name"]  # no empty cell
    served = {r["info"]["run_id"]: {m["key"] for m in r["data"].get("metrics", [])} for r in found["runs"]}
    assert set(served) == {*(by_stage[f"train_{m}"].info.run_id for m in ARCHITECTURES), sweep_attention.info.run_id}
    # what the UI's System metrics tab charts, on the runs that logged them
    assert all({"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= served[r.info.run_id]
               for s, r in by_stage.items() if s.startswith("train_"))
    scores = [frozenset(k for k in keys if not k.startswith("system/")) for keys in served.values()]
    assert len(set(scores)) == 1  # one set of columns in Compare

    # 6. Another seed of the first settings: with the first run, a seed group (heads8, another param, stays apart).
    run(["dvc", "exp", "run", "-S", "model.heads=2", "-S", "train.seed=7", "--name", "seed7"], project)
    check_seed_group(project, {42: metrics["evaluate"], 7: json.loads((project / "stages/evaluate/details.json").read_text())})
    assert {"test_cosine_pct", "nearest_word_accuracy_pct", "val_cosine", "best_val_cosine"} <= next(iter(served.values()))


def check_machine_use(client, run_id: str) -> None:
    """A training run holds MLflow's system metrics over time (CPU and memory, what the UI's System metrics tab
    charts) and its tokens per second at each epoch."""
    for key in ("system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"):
        history = client.get_metric_history(run_id, key)
        assert history and all(m.value >= 0 for m in history), key
    speed = sorted(client.get_metric_history(run_id, "train_tokens_per_second"), key=lambda m: m.step)
    assert [m.step for m in speed] == [1, 2, 3] and all(m.value > 0 for m in speed)


def check_seed_group(project, evaluations: dict[int, dict]) -> None:
    """The first `dvc repro` (train.seed 42) and the experiment seed7 form one seed group, heads8 stays apart; each
    one's per-poem table adds up to its own evaluation's scores; the compare report shows the spread; `poetry-rnn
    seeds` prints, and logs on the group's run, the figures that a direct computation gives."""
    from test_seeds import direct
    from poetry_rnn.scoring.comparison import judge
    from poetry_rnn.scoring.names import SCORES
    from poetry_rnn.scoring.scores import LEVEL
    from poetry_rnn.services.seed_groups import POEM_SCORES

    client, exp, runs = mlflow_runs(project)
    parents = {r.data.tags["dvc_experiment"] or "repro": r for r in pipeline_runs(runs)}
    group = parents["repro"].data.tags["seed_group"]
    assert parents["seed7"].data.tags["seed_group"] == group != parents["heads8"].data.tags["seed_group"]
    tables = {}
    for seed, name in ((42, "repro"), (7, "seed7")):
        evaluate = parents[name].data.tags["stage.evaluate"].removeprefix("ran: ")
        tables[seed] = pd.read_csv(client.download_artifacts(evaluate, POEM_SCORES, str(project.parent / f"poems-{seed}")))
        for model in ARCHITECTURES:  # the per-poem sums are the evaluation's scores
            rows = tables[seed][tables[seed]["model"] == model]
            for key in SCORES:
                share = rows[f"{key}_num"].sum() / rows[f"{key}_den"].sum()
                assert share == pytest.approx(evaluations[seed][model][key], rel=1e-9, abs=1e-12), (seed, model, key)
    report = (project / "stages/compare/comparison.md").read_text()
    assert "Means over 2 training runs per model, train.seed 7, 42, each scored on the same" in report

    printed = run(["poetry-rnn", "seeds", "--markdown"], project)
    assert f"### seed group {group}: 2 seeds" in printed and "heads8" not in printed
    expected = direct(tables, seed=42, resamples=1000)  # the group's bootstrap seed: its `seed`, 42
    [summary_run] = client.search_runs([exp.experiment_id], f"tags.kind = 'seed_group' and tags.seed_group = '{group}'")
    logged, tail = summary_run.data.metrics, 100 * (1 - LEVEL) / 2
    assert summary_run.data.tags["seeds"] == "7, 42" and logged["seeds"] == 2
    for (model, key), (per_seed, stats) in expected.items():
        lo, hi = np.percentile(stats, [tail, 100 - tail])
        assert logged[f"{model}.{key}_pct"] == pytest.approx(100 * per_seed.mean())
        assert logged[f"{model}.{key}_sd_pct"] == pytest.approx(100 * per_seed.std(ddof=1), abs=1e-9)
        assert (logged[f"{model}.{key}_lo_pct"], logged[f"{model}.{key}_hi_pct"]) == pytest.approx((100 * lo, 100 * hi))
        if key == "content_word_accuracy":
            assert f"{100 * per_seed.mean():.2f}% [{100 * lo:.2f}%, {100 * hi:.2f}%]" in printed, model
    d = expected["attention", "content_word_accuracy"][1] - expected["baseline", "content_word_accuracy"][1]
    verdict = judge(np.percentile(d, [tail, 100 - tail]).tolist())
    assert summary_run.data.tags["verdict.attention_vs_baseline.content_word_accuracy"] == verdict
    members = {parents["repro"].info.run_id, parents["seed7"].info.run_id}
    for r in mlflow_runs(project)[2]:  # the group's tag on its pipelines and their stage runs, on no other run
        if r.info.run_id in members or r.data.tags.get("mlflow.parentRunId") in members:
            assert r.data.tags["seed_group"] == group, r.info.run_name
        elif r.info.run_id != summary_run.info.run_id:
            assert r.data.tags.get("seed_group") != group, r.info.run_name


def check_runs_tell_the_story(project, client, repro, by_stage: dict, metrics: dict) -> None:
    """Every run named <pipeline>/<stage>; validation content-word accuracy per epoch, once each, as history.csv has
    it; what describes the setup as params, not metrics; the parent with every param and the headline scores."""
    import pandas as pd

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout
    pipeline = f"workspace@{commit[:7]}"
    assert repro.info.run_name == pipeline
    assert {s: r.info.run_name for s, r in by_stage.items()} == {s: f"{pipeline}/{s}" for s in STAGES}
    sample = min(1000, metrics["chunk"]["val"]["windows"])
    for stage in (f"train_{m}" for m in ARCHITECTURES):
        run_id, data = by_stage[stage].info.run_id, by_stage[stage].data
        history = pd.read_csv(project / f"stages/{stage}/history.csv")
        logged = sorted(client.get_metric_history(run_id, "val_content_word_accuracy_pct"), key=lambda m: m.step)
        assert [m.step for m in logged] == [1, 2, 3], stage  # every epoch, once
        assert [m.value for m in logged] == pytest.approx(history["val_content_word_accuracy_pct"].tolist())
        assert all(0 <= m.value <= 100 for m in logged), stage  # percent (this tiny model stays near 0)
        # The curriculum (window 20, then 50) makes the epoch's window a schedule, logged per epoch like lr.
        assert [m.value for m in sorted(client.get_metric_history(run_id, "window"), key=lambda m: m.step)] == [20, 50, 50]
        setup = {"window": "50", "parameters": str(metrics[stage]["parameters"]), "processes": "1",
                 "val_sample_windows": str(sample)}
        assert setup.items() <= data.params.items(), stage
        assert int(data.params["val_sample_content_words"]) > 0
        assert not {"parameters", "processes", "val_sample_windows", "val_sample_content_words"} & set(data.metrics)
    evaluate = by_stage["evaluate"].data
    for constant in ("attention.tokens", "attention.content_tokens", "attention.parameters", "bootstrap.resamples",
                     "vocabulary", "reference.pca.components"):
        assert constant in evaluate.params and constant not in evaluate.metrics, constant
    assert "attention.test_cosine" in evaluate.metrics
    # The parent: the params of every stage, the headline scores of both models and the references, the champion.
    assert repro.data.params["model.heads"] == "2" and repro.data.params["glove.dim"] == "16"
    assert {k: v for s in STAGES for k, v in by_stage[s].data.params.items() if k in repro.data.params} \
        .items() <= repro.data.params.items()
    check_headline(repro, metrics["evaluate"])
    assert repro.data.tags["champion"] == metrics["compare"]["champion"]


def check_headline(parent, evaluation: dict) -> None:
    """The parent run holds each model's and reference's three scores in percent, as metrics/evaluate.json has them."""
    results = {**{m: evaluation[m] for m in ARCHITECTURES},
               **{f"reference.{r}": evaluation["reference"][r] for r in ("pca", "mean_vector")}}
    expected = {f"{name}.{score}_pct": 100 * result[score] for name, result in results.items()
                for score in ("content_word_accuracy", "nearest_word_accuracy", "test_cosine")}
    assert parent.data.metrics == pytest.approx(expected)


def check_exp_show_fits(project, headline: dict, width: int = 120) -> None:
    """`dvc exp show --only-changed` in a terminal `width` columns wide: DVC renders the table whole (up to 1024
    columns) and pages it with `less --chop-long-lines`, which shows each line's first `width` columns; outside a
    terminal it prints the same table. There, the workspace's and the experiment's content-word accuracy of both
    models must show whole (a metric cell ends where its right-aligned header ends), not cut and not "…"."""
    table = run(["dvc", "exp", "show", "--only-changed"], project)
    screen = [line[:width] for line in table.splitlines()]
    [header] = [line for line in screen if "Experiment" in line]
    rows = [line for line in screen if line.lstrip().startswith("workspace") or "[heads8]" in line]
    assert len(rows) == 2, table
    for model in ARCHITECTURES:
        column = f"cwa.{model}"
        assert column in header, "\n".join(screen)
        end = header.index(column) + len(column)
        for row in rows:
            assert float(row[:end].split()[-1]) == pytest.approx(headline["cwa"][model], abs=1e-5), "\n".join(screen)


def check_scores_from_scratch(project, model: str, scores: dict) -> None:
    """Recompute a model's test cosine and nearest-word accuracy with plain numpy from the files on disk: the
    test windows, each token from the window that scores it, the training vocabulary as candidates."""
    import numpy as np
    import pandas as pd
    import torch

    from poetry_rnn.training.engine import load_model

    vectors = np.load(project / "data/glove/vectors.npy")
    test = np.load(project / "data/chunks/test.npz")
    rows = np.load(project / "data/chunks/vocabulary.npz")["rows"]
    poems = pd.read_csv(project / "data/corpus/poems.csv").set_index("poem_id")
    net = load_model(project / f"stages/train_{model}/checkpoints/best.pt")
    with torch.no_grad():
        y = net(torch.from_numpy(vectors[test["ids"]]), torch.from_numpy(test["mask"])).numpy()[test["score"]]
    x = vectors[test["ids"][test["score"]]]
    assert len(x) == poems.loc[np.unique(test["poem"]), "length"].sum()  # each test poem token once
    cosine = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    unit = vectors[rows] / np.linalg.norm(vectors[rows], axis=1, keepdims=True)
    nearest = rows[(y @ unit.T).argmax(1)]
    assert scores["tokens"] == len(x)
    assert scores["test_cosine"] == pytest.approx(cosine.mean(), abs=1e-5)
    assert scores["nearest_word_accuracy"] == pytest.approx((nearest == test["ids"][test["score"]]).mean(), abs=1e-9)


@contextlib.contextmanager
def mlflow_server(project):
    """`mlflow server` on 127.0.0.1 over the project's store (one worker, no job runner); always stopped."""
    port = team.free_port()
    env = team.server_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{project / 'mlflow.db'}",
           "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    with team.ManagedProcess(cmd, project / "mlflow-server.log", team.healthy(url), "mlflow server", env=env,
                             cwd=project):
        yield url
