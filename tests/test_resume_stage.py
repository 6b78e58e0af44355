"""A real training stage killed with SIGKILL mid-run resumes from its last checkpoint and ends exactly
like an uninterrupted run of the same seed: in one process, and as two data-parallel processes whose launcher
is killed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from project import make_training_project
from tiny import TIMED, untimed

EPOCHS = 8


def make_project(dest: Path, nproc: int) -> Path:
    return make_training_project(dest, epochs=EPOCHS, batch_size=8 // nproc, patience=0, nproc=nproc)


def start(project: Path) -> subprocess.Popen:
    env = {**os.environ, "DVC_ROOT": str(project)}
    return subprocess.Popen([sys.executable, "-m", "poetry_rnn.stages.train_baseline"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out


def survivors(project: Path) -> list:
    """Processes still running in the project's folder."""
    import psutil

    return [p for p in psutil.process_iter(["cwd", "status"])
            if p.info["cwd"] == str(project) and p.info["status"] != psutil.STATUS_ZOMBIE]


def last_epoch(project: Path) -> int:
    path = project / "stages/train_baseline/checkpoints/last.pt"
    return torch.load(path, weights_only=True)["epoch"] if path.exists() else 0


@pytest.mark.e2e
@pytest.mark.parametrize("nproc", [1, 2])
def test_killed_training_stage_resumes_and_matches_an_uninterrupted_run(tmp_path, nproc):
    whole = make_project(tmp_path / "whole", nproc)
    finish(start(whole))

    cut = make_project(tmp_path / "cut", nproc)
    proc = start(cut)  # with nproc 2, the launcher: the stage process replaces itself by torch.distributed.run
    deadline = time.time() + 300
    while last_epoch(cut) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The workers die with their launcher: none may go on writing checkpoints under the run that resumes.
    deadline = time.time() + 10
    while survivors(cut) and time.time() < deadline:
        time.sleep(0.1)
    assert not survivors(cut), "a training process outlived its killed launcher"
    killed_at = last_epoch(cut)
    assert 3 <= killed_at < EPOCHS, "the run was not interrupted mid-way"
    assert not (cut / "metrics/train_baseline.json").exists() and not (cut / "stages/train_baseline/details.json").exists()  # a killed stage leaves no metrics

    finish(start(cut))
    a = json.loads((whole / "stages/train_baseline/details.json").read_text())
    b = json.loads((cut / "stages/train_baseline/details.json").read_text())
    assert b["resumed_from_epoch"] == killed_at and a["resumed_from_epoch"] == 0
    timing = {"train_seconds", "tokens_per_second", "resumed_from_epoch", *TIMED}
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
    for name in ("best.pt", "last.pt"):
        sa = torch.load(whole / "stages/train_baseline/checkpoints" / name, weights_only=True)
        sb = torch.load(cut / "stages/train_baseline/checkpoints" / name, weights_only=True)
        assert sa["epoch"] == sb["epoch"] and untimed(sa["history"]) == untimed(sb["history"])
        for key, tensor in sa["model"].items():
            assert torch.equal(tensor, sb["model"][key]), (name, key)

    # The resumed run continued the interrupted MLflow run: one run, every epoch logged once.
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{cut / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("poetry-rnn").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    for metric in ("val_cosine", "train_loss"):
        steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, metric)]
        assert sorted(steps) == list(range(1, EPOCHS + 1)), metric  # each epoch exactly once, none missing
