"""Two team members, one shared setup: PostgreSQL, a SeaweedFS S3 server and an MLflow tracking server on
127.0.0.1 (poetry_rnn.services.team, what `poetry-rnn local-team` starts), a bare git remote and a DVC remote in the
bucket. The first member runs the pipeline and an experiment and pushes; the second pulls, finds nothing to
rerun, sees the experiment, and runs two of their own from DVC's queue, two at a time."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from http_server import serve_directory
from poetry_rnn import cli
from project import STAGES, children, make_inputs, make_project, pipeline_runs, run, stages_ran, team_stack
from test_queue import wait_for_queue

pytestmark = pytest.mark.e2e
BUCKET = "poetry-rnn"


@pytest.fixture
def team():
    """The shared services, or a skip saying which one cannot start here."""
    with team_stack(BUCKET) as started:
        yield started


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True).stdout


def test_two_members_share_runs_data_and_experiments_through_the_team_services(tmp_path, team):
    import boto3
    import mlflow
    from mlflow.exceptions import MlflowException

    server = {"MLFLOW_TRACKING_URI": team.tracking_uri}
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    make_inputs(tmp_path / "served")
    with serve_directory(tmp_path / "served") as url:
        # The first member: the DVC remote in the bucket (the endpoint in the repo, credentials in the environment).
        alice = make_project(tmp_path / "alice", url)
        run(["dvc", "remote", "add", "-d", "team", f"s3://{BUCKET}/dvc"], alice)
        run(["dvc", "remote", "modify", "team", "endpointurl", team.s3_endpoint], alice)
        assert "team-member" not in (alice / ".dvc/config").read_text()
        out = run(["dvc", "repro"], alice, **server)
        assert stages_ran(out)[1:] == STAGES
        git(alice, "add", "-A")
        git(alice, "commit", "-qm", "pipeline")
        run(["dvc", "push"], alice)
        git(alice, "remote", "add", "origin", str(origin))
        git(alice, "push", "-q", "origin", "HEAD")
        run(["dvc", "exp", "run", "-S", "model.heads=4", "--name", "alice-heads4"], alice, **server)
        run(["dvc", "exp", "push", "origin", "alice-heads4"], alice)

        # The second member: a clone, the data from the bucket, nothing to rerun, the first one's experiment.
        bob = tmp_path / "bob"
        subprocess.run(["git", "clone", "-q", str(origin), str(bob)], check=True)
        for key, value in (("user.email", "bob@example.com"), ("user.name", "Bob")):
            git(bob, "config", key, value)
        run(["dvc", "pull"], bob)
        assert stages_ran(run(["dvc", "repro"], bob, **server)) == ["fingerprint_inputs"]  # it always runs
        assert run(["dvc", "status"], bob).split() == ["fingerprint_inputs:", "always", "changed"]  # nothing else
        run(["dvc", "exp", "pull", "origin", "alice-heads4"], bob)
        assert "alice-heads4" in run(["dvc", "exp", "show", "--no-pager", "--csv"], bob)
        for name, setting in (("bob-bottleneck2", "model.bottleneck=2"), ("bob-heads1", "model.heads=1")):
            run(["dvc", "exp", "run", "--queue", "-S", setting, "--name", name], bob)
        run(["dvc", "queue", "start", "-j", "2"], bob, **server)
        status = wait_for_queue(bob)
    assert status.count("Success") == 2, status

    # Every execution is in the shared server, each stage run under its parent, every artifact in the bucket.
    client = mlflow.MlflowClient(tracking_uri=team.tracking_uri)
    exp = client.get_experiment_by_name("poetry-rnn")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = {r.data.tags["dvc_experiment"]: r for r in pipeline_runs(runs)}
    assert {"alice-heads4", "bob-bottleneck2", "bob-heads1"} <= set(parents)
    s3 = boto3.client("s3", endpoint_url=team.s3_endpoint)
    keys = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for o in page.get("Contents", [])}
    for name in ("", "alice-heads4", "bob-bottleneck2", "bob-heads1"):  # "": the first member's dvc repro
        parent = parents[name]
        assert parent.info.status == "FINISHED", name
        ran = children(runs, parent)
        assert {"train_attention", "evaluate", "compare"} <= {r.data.tags["stage"] for r in ran}, name
        for r in ran:
            assert r.info.status == "FINISHED", (name, r.data.tags["stage"])
            logged = client.list_artifacts(r.info.run_id)  # through the server's artifact proxy
            assert logged, (name, r.data.tags["stage"])
            assert any(k.startswith(f"mlartifacts/{exp.experiment_id}/{r.info.run_id}/") for k in keys), name
    assert any(k.startswith("dvc/files/md5/") for k in keys)  # the first member's dvc push
    # The registry and the champion alias live in the server too: one architecture carries it, from these runs.
    champions = []
    for model in cli.MODELS:
        try:
            champions.append(client.get_model_version_by_alias(model, "champion"))
        except MlflowException:
            pass
    assert len(champions) == 1 and champions[0].run_id in {r.info.run_id for r in runs}
