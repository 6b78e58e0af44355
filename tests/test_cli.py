"""The `poetry-rnn` console command on a real MLflow store: runs as a table, reconstruct with the registry alias,
clear errors."""

from __future__ import annotations

import os
import re

import mlflow
import mlflow.pytorch
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import WORDS, glove_lines
from poetry_rnn import cli
from poetry_rnn.services import metrics, registry, runs, store, view
from poetry_rnn.inputs.glove import convert_glove
from poetry_rnn.training.model import Autoencoder
from tiny import config as tiny_config


@pytest.fixture
def project(monkeypatch, tmp_path):
    """A project folder with GloVe files and a store holding one registered attention model with `champion`."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "glove.txt").write_text("\n".join(glove_lines(dim=16)) + "\n")
    convert_glove(tmp_path / "glove.txt", "", 16, tmp_path / "data/glove")
    yield tmp_path
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # mlflow.set_tracking_uri exports it; keep it out of later tests


VOCABULARY = ["sea", "sky", ",", "night"]  # the (fake) training vocabulary the registered models carry


def register(name: str, heads: int) -> None:
    """Log an (untrained) model from a training stage run and register it, as the training stages do."""
    model = Autoencoder(tiny_config(input_dim=16, window=12, hidden=16, bottleneck=4, heads=heads,
                                          vocab_size=len(VOCABULARY)))
    model.vocab.copy_(torch.tensor([WORDS.index(w) for w in VOCABULARY]))
    with runs.stage_run("train_attention" if heads else "train_baseline", {"model.heads": heads}):
        mlflow.pytorch.log_model(model.eval(), name="model", serialization_format="pickle",
                                 registered_model_name=name, pip_requirements=["torch"])
        metrics.finish_stage("train_attention" if heads else "train_baseline",
                              {"best_val_cosine": 0.25, "test_cosine_pct": 50.0, "nearest_word_accuracy_pct": 12.5,
                               "content_word_accuracy_pct": 6.25})


def test_reconstruct_prints_each_word_beside_the_nearest_word_of_its_reconstruction(project):
    register("poetry-rnn-attention", heads=2)
    registry.crown_champion("attention", {"attention": None, "baseline": None})
    result = CliRunner().invoke(cli.main, ["reconstruct", "The sea and the zyzzyva sky at night"])
    assert result.exit_code == 0, result.output
    assert "models:/poetry-rnn-attention@champion" in result.stdout
    assert "dropped 1 word(s) GloVe does not know: zyzzyva" in result.stderr
    rows = [line.split("│") for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 7  # the known words, in order
    assert rows[0][2].strip() == "the" and rows[6][2].strip() == "night"
    assert {r[3].strip() for r in rows} <= set(VOCABULARY)  # answered from the model's training vocabulary only


def test_reconstruct_runs_a_longer_text_through_consecutive_windows(project):
    register("poetry-rnn-baseline", heads=0)
    registry.crown_champion("baseline", {"attention": None, "baseline": None})
    text = " ".join(["sea", "sky", "night", "the"] * 5)  # 20 words, window 12: a full window and one of 8
    result = CliRunner().invoke(cli.main, ["reconstruct", text, "--model", "poetry-rnn-baseline"])
    assert result.exit_code == 0, result.output
    assert "20 words, 2 window(s) of up to 12" in result.stdout
    rows = [line.split("│") for line in result.stdout.splitlines() if line.startswith("│")]
    assert [r[2].strip() for r in rows] == text.split()  # every word, in order


def test_runs_lists_recent_runs_with_params_and_scores(project):
    register("poetry-rnn-attention", heads=2)
    result = CliRunner().invoke(cli.main, ["runs", "-n", "5"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "train_attention" in line)
    cells = re.split(r"\s{2,}", row.strip())  # columns apart by two spaces or more; the empty ones vanish
    assert cells[1:3] == ["train_attention", "FINISHED"] and cells[4] == "2"
    assert cells[-4:] == ["6.25", "12.50", "50.00", "0.2500"]


# A DVC stage that logs as the evaluate and compare stages do: each model's scores on the pipeline's run (percent),
# then the champion's tag.
PIPELINE_STAGE = """
from poetry_rnn.services import metrics, runs
scores = {"attention": {"content_word_accuracy": 0.64013, "nearest_word_accuracy": 0.5, "test_cosine": 0.75},
          "baseline": {"content_word_accuracy": 0.4881, "nearest_word_accuracy": 0.25, "test_cosine": 0.5}}
with runs.stage_run("evaluate", {}):
    runs.log_to_pipeline(metrics.percent(scores))
with runs.stage_run("compare", {}):
    runs.log_to_pipeline(tags={"champion": "attention"})
"""


def test_runs_shows_the_champions_scores_on_a_pipeline_row(project):
    import shutil
    import subprocess
    import sys

    from project import ROOT, run

    (project / "log_scores.py").write_text(PIPELINE_STAGE)
    shutil.copy(ROOT / "params.yaml", project / "params.yaml")  # what the parent run logs as the pipeline's params
    (project / "dvc.yaml").write_text("stages:\n  scores:\n    cmd: python log_scores.py\n")
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=project, check=True, env={**os.environ, "PATH": f"{os.path.dirname(sys.executable)}"
                                                                                  f"{os.pathsep}{os.environ['PATH']}"})
    run(["dvc", "repro"], project)  # a real pipeline execution: one parent run, two stage runs
    result = CliRunner().invoke(cli.main, ["runs"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "pipeline" in line)
    cells = re.split(r"\s{2,}", row.strip())
    assert cells[1:3] == ["pipeline (attention)", "FINISHED"], row
    assert cells[-3:] == ["64.01", "50.00", "75.00"], row  # the champion's, not the baseline's


def test_runs_fits_a_terminal_of_100_columns_and_keeps_every_value(project, monkeypatch):
    name = "a-rather-long-experiment-name-from-a-sweep"
    monkeypatch.setenv("DVC_EXP_NAME", name)
    register("poetry-rnn-attention", heads=2)
    result = CliRunner().invoke(cli.main, ["runs"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    rule = next(i for i, line in enumerate(lines) if set(line) == {"─"})
    first = lines[rule - 1].index("stage")  # the run column: up to the stage column
    assert "".join(line[:first].strip() for line in lines[rule + 1:]) == name  # the name in full, folded
    row = lines[rule + 1]
    for value in ("FINISHED", "2", "6.25", "12.50", "50.00", "0.2500"):
        assert f" {value} " in f" {row} ", value


def test_reconstruct_without_a_registered_model_says_so(project):
    store.setup()  # an empty store
    result = CliRunner().invoke(cli.main, ["reconstruct", "the sea"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no registered model carries the alias 'champion'")


def test_commands_without_a_store_say_to_run_the_pipeline(project):
    for args in (["runs"], ["reconstruct", "the sea"], ["ui"]):
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == 2 and "no MLflow store at" in result.stderr, args


def test_ui_serves_the_store_and_prints_the_runs_page_with_the_scores(project):
    import sys

    import requests

    from poetry_rnn.services import team

    store.setup()
    port, log = team.free_port(), project / "ui.log"
    cmd = [sys.executable, "-m", "poetry_rnn.cli", "ui", "--port", str(port)]
    with team.ManagedProcess(cmd, log, team.healthy(f"http://127.0.0.1:{port}"), "poetry-rnn ui", cwd=project):
        # the real MLflow UI answers on the printed port
        api = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/get-by-name"
        exp = requests.get(api, params={"experiment_name": store.EXPERIMENT}, timeout=10).json()["experiment"]
    url = view.runs_page_url(f"http://127.0.0.1:{port}", exp["experiment_id"])
    printed = [line for line in log.read_text().splitlines() if line.startswith("the runs with")]
    assert printed == [f"the runs with their params and scores: {url}"]
    tags = {t["key"]: t["value"] for t in exp["tags"]}
    assert tags[store.KIND_TAG] == store.KIND and f"mlflow.sharedViewState.{view.VIEW}" in tags


@pytest.fixture
def team_server(tmp_path, monkeypatch):
    """A real MLflow tracking server on 127.0.0.1 (MLflow's own server app, in a thread) over its own store."""
    import threading

    from mlflow.server import app, handlers
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from werkzeug.serving import make_server

    store = SqlAlchemyStore(f"sqlite:///{tmp_path / 'team.db'}", (tmp_path / "team-artifacts").as_uri())
    monkeypatch.setattr(handlers, "_tracking_store", store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_ui_with_a_team_server_prints_its_runs_page_and_starts_nothing(project, team_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", team_server + "/")
    from poetry_rnn.services import team

    monkeypatch.setattr(team.ManagedProcess, "start", lambda *args, **kwargs: pytest.fail("started an MLflow UI"))
    result = CliRunner().invoke(cli.main, ["ui"])
    assert result.exit_code == 0, result.output
    exp = mlflow.MlflowClient(team_server).get_experiment_by_name(store.EXPERIMENT)  # created on the server
    assert result.stdout.strip().endswith(f" {team_server}/#/experiments/{exp.experiment_id}/runs"
                                          f"?workflowType=machine_learning&viewStateShareKey={view.VIEW}")
    assert exp.tags[store.KIND_TAG] == store.KIND and f"mlflow.sharedViewState.{view.VIEW}" in exp.tags
    assert not (project / "mlflow.db").exists()


def test_reconstruct_with_no_known_word_says_so(project):
    result = CliRunner().invoke(cli.main, ["reconstruct", "zyzzyva"])
    assert result.exit_code == 2 and "no word of the text is in the GloVe vocabulary" in result.stderr


def test_seeds_without_a_seed_group_says_how_to_train_one(project):
    store.setup()
    result = CliRunner().invoke(cli.main, ["seeds"])
    assert result.exit_code == 2
    assert ("error: no 2 evaluated pipelines in the store differ only in train.seed: train seeds of the same settings "
            "with `dvc exp run --queue -S 'train.seed=range(1,6)'`, then `dvc queue start`") in result.stderr


def test_seeds_prints_each_group_and_writes_its_run_once(project):
    """Pipeline runs as the stages leave them (params, the evaluate run's per-poem table, the parent's stage tag) but
    without the seed_group tag, as runs logged before it: the command groups them, says which seed it leaves out,
    and finds its group's run again on a second call."""
    from mlflow.entities import Param

    from test_seeds import poem_tables

    exp_id = store.setup()
    client = mlflow.MlflowClient()
    tables = poem_tables([1, 2, 3])
    for seed, heads in ((1, 2), (2, 2), (3, 2), (1, 8)):  # seed 3 without a table; heads 8 a group of one
        parent = client.create_run(exp_id, run_name=f"h{heads}s{seed}", tags={"kind": "pipeline", "git_commit": "c" * 40})
        client.log_batch(parent.info.run_id, params=[Param("seed", "42"), Param("train.seed", str(seed)),
                                                     Param("model.heads", str(heads))])
        evaluate = client.create_run(exp_id, tags={"stage": "evaluate", "mlflow.parentRunId": parent.info.run_id})
        if seed != 3:
            tables[seed].to_csv(project / "poem_scores.csv", index=False)
            client.log_artifact(evaluate.info.run_id, str(project / "poem_scores.csv"))
        client.set_tag(parent.info.run_id, "stage.evaluate", f"ran: {evaluate.info.run_id}")
    group = runs.seed_group({"seed": "42", "model.heads": "2"}, "c" * 40)
    for _ in range(2):
        result = CliRunner().invoke(cli.main, ["seeds"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert f"seed group {group}: 2 seeds, commit ccccccc, pipelines h2s1, h2s2\n" in result.stdout
        assert "train.seed 3 left out: its evaluation has no per-poem scores" in result.stderr
        assert "attention − baseline" in result.stdout and "h8s1" not in result.stdout
    [summary] = client.search_runs([exp_id], "tags.kind = 'seed_group'")
    assert summary.data.tags["seed_group"] == group and summary.data.tags["seeds"] == "1, 2"
    assert summary.data.params["model.heads"] == "2" and "train.seed" not in summary.data.params
    tagged = client.search_runs([exp_id], f"tags.seed_group = '{group}' and tags.kind = 'pipeline'")
    assert sorted(r.info.run_name for r in tagged) == ["h2s1", "h2s2"]

    # a summary longer than a tag may hold: the description ends with where the rest is, the artifact holds it all
    from poetry_rnn.services import seed_groups
    from poetry_rnn.scoring.seeds import summary as seed_summary

    found = seed_groups.groups(seed_groups.pipelines(client, exp_id))
    members = [p for p in found[group] if p.seed != 3]
    long = "| row |\n" * 2000
    seed_groups.publish(client, exp_id, group, members, seed_summary({p.seed: tables[p.seed] for p in members}, 42), long)
    note = client.get_run(summary.info.run_id).data.tags["mlflow.note.content"]
    assert note.endswith("… the whole summary: the artifact seed_group.md") and len(note) <= 8000
    assert client.download_artifacts(summary.info.run_id, "seed_group.md", str(project)) and \
        (project / "seed_group.md").read_text() == long
