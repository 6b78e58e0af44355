"""Queued experiments run two at a time in DVC's temporary copies, and every stage run lands in the user's
MLflow store, each under its experiment's parent run."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from http_server import serve_directory
from poetry_rnn.services.runs import SKIPPED
from project import STAGES, children, make_inputs, make_project, mlflow_runs, pipeline_runs, run, stage_runs

pytestmark = pytest.mark.e2e


def wait_for_queue(project: Path, timeout: float = 900) -> str:
    """Poll `dvc queue status` until no experiment is queued or running; return the last status."""
    deadline = time.time() + timeout
    while True:
        status = run(["dvc", "queue", "status"], project)
        rows = [line.split() for line in status.splitlines()]
        if not any(word in ("Queued", "Running") for row in rows for word in row):
            return status
        assert time.time() < deadline, f"queue still busy after {timeout} s:\n{status}"
        time.sleep(3)


def test_two_queued_experiments_run_in_parallel_and_log_every_stage_to_the_users_store(tmp_path, monkeypatch):
    make_inputs(tmp_path / "served")
    with serve_directory(tmp_path / "served") as url:
        project = make_project(tmp_path / "project", url)
        run(["dvc", "exp", "run", "--queue", "-S", "model.heads=2", "--name", "heads2"], project)
        run(["dvc", "exp", "run", "--queue", "-S", "model.heads=8", "--name", "heads8"], project)
        assert not (project / "mlflow.db").exists()  # no worker has started: the store is created by one of them
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # the stages choose their own share of the cores
        run(["dvc", "queue", "start", "-j", "2"], project)
        status = wait_for_queue(project)
    logs = {n: run(["dvc", "queue", "logs", n], project) for n in ("heads2", "heads8")}
    assert status.count("Success") == 2, status + "".join(logs.values())
    cores = os.cpu_count()
    for name, log in logs.items():  # each experiment's first training ran beside the other (and any on this machine)
        said = re.findall(rf"torch threads: (\d+) \({cores} cores shared by (\d+) queued", log)
        shares = [(int(t), int(n)) for t, n in said]
        assert shares and all(n >= 2 and t == max(1, cores // n) for t, n in shares), log

    client, exp, runs = mlflow_runs(project)
    assert exp.artifact_location == (project / "mlartifacts").as_uri()
    for name, heads in (("heads2", "2"), ("heads8", "8")):
        [parent] = [r for r in pipeline_runs(runs) if r.data.tags["dvc_experiment"] == name]
        assert parent.info.status == "FINISHED", name
        ran = {r.data.tags["stage"]: r for r in children(runs, parent)}
        assert {"train_attention", "evaluate", "compare"} <= set(ran), name  # heads differ: these always run
        assert all(r.info.status == "FINISHED" and r.data.tags["dvc_experiment"] == name for r in ran.values()), name
        for stage in STAGES:  # a stage the other experiment finished first may come from DVC's run-cache
            tag = parent.data.tags[f"stage.{stage}"]
            assert tag == f"ran: {ran[stage].info.run_id}" if stage in ran else tag.startswith(SKIPPED), (name, tag)
        attention = ran["train_attention"]
        assert attention.data.params["model.heads"] == heads
        assert {"test_cosine_pct", "nearest_word_accuracy_pct"} <= set(client.get_run(attention.info.run_id).data.metrics)
        # Each queued pipeline's row: named after it, with the params of its own copy and its own scores.
        assert parent.info.run_name == name and all(r.info.run_name == f"{name}/{s}" for s, r in ran.items()), name
        assert parent.data.params["model.heads"] == heads and "attention.content_word_accuracy_pct" in parent.data.metrics
    assert 10 <= len(stage_runs(runs)) <= 2 * len(STAGES) and len(pipeline_runs(runs)) == 2
    for r in stage_runs(runs):
        assert r.info.artifact_uri.startswith((project / "mlartifacts").as_uri()), r.info.artifact_uri
        assert client.list_artifacts(r.info.run_id), r.data.tags["stage"]
    assert not list((project / ".dvc").rglob("mlflow.db")), "a store was created inside DVC's temporary copies"
