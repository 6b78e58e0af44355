"""The team services failing under a running stage (poetry_rnn.services.team's PostgreSQL, SeaweedFS S3 and MLflow server,
stopped and started for real): the MLflow server lost mid-training and PostgreSQL restarted mid-training only defer
the epochs' logging; the S3 store lost under artifact logging and `dvc push` fails them with a clear error, and a
rerun completes them. Each ends with one complete run per stage, every epoch logged once."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from project import make_training_project, team_stack

pytestmark = pytest.mark.e2e
EPOCHS = 12  # room for two services lost and back mid-training


@pytest.fixture(scope="module")
def team():
    """One team stack for the module's tests; each test starts again what it stopped, even when it fails."""
    with team_stack() as started:
        yield started


@pytest.fixture
def client(team):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=team.tracking_uri)


def start(project: Path, team) -> subprocess.Popen:
    """train_baseline, logging to the team server; its output in project/stage.log."""
    env = {**os.environ, "DVC_ROOT": str(project), "MLFLOW_TRACKING_URI": team.tracking_uri}
    with open(project / "stage.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "poetry_rnn.stages.train_baseline"], cwd=project, env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, project: Path) -> tuple[int, str]:
    proc.wait(timeout=600)
    return proc.returncode, (project / "stage.log").read_text()


def checkpoint(project: Path) -> dict:
    path = project / "stages/train_baseline/checkpoints/last.pt"
    return torch.load(path, weights_only=True) if path.exists() else {}


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 300) -> None:
    """Poll until `condition()` holds; fail if the stage exits first."""
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the stage exited before {what}"
        assert time.time() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


@contextlib.contextmanager
def paused(proc: subprocess.Popen):
    """The stage stopped (SIGSTOP) while a service changes, so that it is mid-epoch when it goes on."""
    proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGCONT)


def logged_steps(client, run_id: str, metric: str = "train_loss") -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, metric))


def training_runs(client) -> list:
    exp = client.get_experiment_by_name("poetry-rnn")
    return [] if exp is None else client.search_runs([exp.experiment_id], "tags.stage = 'train_baseline'")


def epoch_logged(client, project: Path, epoch: int):
    """A condition: the project's training run has logged `epoch` on the server."""
    def logged() -> bool:
        run_id = checkpoint(project).get("mlflow_run_id")
        return run_id is not None and epoch in logged_steps(client, run_id)
    return logged


def lose(proc: subprocess.Popen, project: Path, stop, start_again) -> int:
    """Stop a service between two epochs, start it again once an epoch has ended without it (its logging
    failed); the last epoch checkpointed before the loss."""
    with paused(proc):
        stop()
        down_at = checkpoint(project)["epoch"]
    try:  # down_at + 1 was logged without the service once down_at + 2 is checkpointed
        wait_for(lambda: checkpoint(project)["epoch"] >= down_at + 2, proc, "two epochs without the service")
    finally:
        with paused(proc):  # back for the module's next tests too
            back_at = checkpoint(project)["epoch"]
            start_again()
    assert back_at < EPOCHS, "training ended before the service came back"
    return down_at


def assert_one_complete_run(client, run_id: str, before: list, epochs: int = EPOCHS) -> None:
    """The stage left one new run, finished, with every epoch's metrics logged once."""
    after = training_runs(client)
    assert len(after) == len(before) + 1 and run_id in {r.info.run_id for r in after}
    assert client.get_run(run_id).info.status == "FINISHED"
    for metric in ("train_loss", "val_cosine"):
        assert logged_steps(client, run_id, metric) == list(range(1, epochs + 1)), metric


def test_mlflow_server_or_its_database_lost_mid_training_defers_the_epochs_until_it_is_back(tmp_path, team, client):
    """The server lost: nothing answers. Then PostgreSQL lost: the server answers, but its requests fail (503)
    until the database is back and the server's pool reconnects on its own."""
    project = make_training_project(tmp_path / "p", epochs=EPOCHS, batch_size=8, patience=0, nproc=1)
    before = training_runs(client)
    proc = start(project, team)
    wait_for(epoch_logged(client, project, 1), proc, "epoch 1 logged")
    down_at = lose(proc, project, team.server.stop, team.server.start)
    wait_for(epoch_logged(client, project, down_at + 2), proc, "the deferred epochs logged")
    lose(proc, project, team.postgres.stop, team.postgres.start)
    status, out = finish(proc, project)
    assert status == 0 and "Traceback" not in out, out
    warnings = [line for line in out.splitlines() if line.startswith("warning: epoch")]
    assert f"is not logged yet, MLflow at {team.tracking_uri} failed: cannot connect" in warnings[0], out
    assert any(re.search(r"failed: too many 50\d error responses", line) for line in warnings), out  # PostgreSQL
    assert_one_complete_run(client, checkpoint(project)["mlflow_run_id"], before)


def dvc(repo: Path, *commands: str) -> subprocess.Popen:
    """Commands in `repo`, one after the other in a shell, while the test goes on (they overlap a stage's run)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen(["sh", "-ec", " && ".join(commands)], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_s3_lost_fails_artifact_logging_and_dvc_push_clearly_and_a_rerun_completes_them(tmp_path, team, client):
    import json

    import boto3

    # A DVC repo with its remote in the bucket and one file to push, made while the stage trains.
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "data.txt").write_text("a line of data\n")
    setup = dvc(repo, "git init -q", "dvc init -q", f"dvc remote add -d team s3://{team.bucket}/faults",
                f"dvc remote modify team endpointurl {team.s3_endpoint}", "dvc add -q data.txt")
    project = make_training_project(tmp_path / "p", epochs=3, batch_size=8, patience=0, nproc=1)
    before = training_runs(client)
    proc = start(project, team)
    wait_for(epoch_logged(client, project, 1), proc, "epoch 1 logged")
    with paused(proc):
        team.s3.stop(grace=0)  # lost, as in a crash
    try:
        assert setup.wait(timeout=300) == 0, setup.stdout.read()
        push = dvc(repo, "dvc push")  # while the stage fails
        status, out = finish(proc, project)
        pushed = push.communicate(timeout=300)[0]
    finally:
        team.s3.start(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])  # the store is back
    assert status == 2 and "Traceback" not in out, out
    error = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and error[0].startswith(f"error: logging to MLflow at {team.tracking_uri} failed: "), out
    assert "rerun (`dvc repro`)" in error[0]
    run_id = checkpoint(project)["mlflow_run_id"]
    assert checkpoint(project)["complete"] and logged_steps(client, run_id) == [1, 2, 3]
    assert push.returncode != 0 and "Traceback" not in pushed, pushed
    assert f'Could not connect to the endpoint URL: "{team.s3_endpoint}/' in pushed, pushed

    proc = start(project, team)  # the rerun: logs the model, trains nothing
    push = dvc(repo, "dvc push -q", "dvc status --cloud")  # the retry
    status, out = finish(proc, project)
    assert status == 0 and "Traceback" not in out, out
    metrics = json.loads((project / "stages/train_baseline/details.json").read_text())
    assert metrics["resumed_from_epoch"] == 3 and metrics["epochs"] == 3  # trained nothing more
    assert_one_complete_run(client, run_id, before, epochs=3)
    logged = {f.path for f in client.list_artifacts(run_id)}
    assert {"checkpoints", "history.csv", "train_baseline.json"} <= logged, logged
    versions = client.search_model_versions("name = 'poetry-rnn-baseline'")
    assert [v.run_id for v in versions].count(run_id) == 1

    pushed = push.communicate(timeout=300)[0]
    assert push.returncode == 0 and "in sync" in pushed, pushed
    s3 = boto3.client("s3", endpoint_url=team.s3_endpoint)
    assert s3.list_objects_v2(Bucket=team.bucket, Prefix="faults/files/md5/")["KeyCount"] == 1
