"""Data-parallel training: `train.nproc=2` runs the training stage as two gloo processes on 127.0.0.1 through
PyTorch's launcher, and 2 processes x batch B train exactly what 1 process x batch 2B trains."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from project import make_training_project
from tiny import TIMED


def train_baseline(project: Path) -> None:
    env = {**os.environ, "DVC_ROOT": str(project)}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([sys.executable, "-m", "poetry_rnn.stages.train_baseline"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


CODE = {"code_limit": 4.0, "code_bits": 8}  # the code's training noise must fall on each window as in one process
ALIKE = 3  # epochs over which 2 processes follow 1 within float32 rounding of the all-reduce's other order


@pytest.mark.e2e
def test_two_processes_train_what_one_process_with_twice_the_batch_trains(tmp_path):
    one = make_training_project(tmp_path / "one", CODE, epochs=ALIKE, batch_size=8, patience=0)
    two = make_training_project(tmp_path / "two", CODE, epochs=ALIKE, batch_size=4, patience=0, nproc=2)
    train_baseline(one)
    train_baseline(two)

    a = json.loads((one / "stages/train_baseline/details.json").read_text())
    b = json.loads((two / "stages/train_baseline/details.json").read_text())
    assert (a["processes"], b["processes"]) == (1, 2) and a["epochs"] == b["epochs"] == ALIKE
    ha = pd.read_csv(one / "stages/train_baseline/history.csv").drop(columns=list(TIMED))
    hb = pd.read_csv(two / "stages/train_baseline/history.csv").drop(columns=list(TIMED))
    assert list(ha.columns) == list(hb.columns) and len(ha) == len(hb)
    # loss, val cosine, grad norm...: the same to float32's last digits over the first 3 epochs (a gradient lost or
    # a window given another's noise differs from the first epoch on); then the last-digit differences of the
    # all-reduce grow, through the noisy code, to 0.1-1% at the fourth epoch and on, so far that a stop by patience
    # may come epochs apart (seen on an AVX-512 machine): which is why the early stop is its own test.
    np.testing.assert_allclose(hb.to_numpy(float), ha.to_numpy(float), rtol=1e-5)
    # float32 all-reduce sums in another order than one process does, and Adam carries the last-digit differences
    # on: after 3 epochs up to 2e-5 on weights of 1 (an unaveraged or lost gradient moves them by orders of
    # magnitude more)
    sa = torch.load(one / "stages/train_baseline/checkpoints/last.pt", weights_only=True)["model"]
    sb = torch.load(two / "stages/train_baseline/checkpoints/last.pt", weights_only=True)["model"]
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sb[key], sa[key], rtol=1e-3, atol=2e-4, msg=f"last.pt: {key}")


@pytest.mark.e2e
def test_two_processes_stop_early_together_and_rank_0_alone_logs(tmp_path):
    # patience 1: the run stops early, so the ranks must agree on validation and on when to stop (a rank that went
    # on alone would wait in the all-reduce until train_baseline's timeout)
    two = make_training_project(tmp_path / "two", CODE, epochs=12, batch_size=4, patience=1, nproc=2)
    train_baseline(two)
    b = json.loads((two / "stages/train_baseline/details.json").read_text())
    assert b["processes"] == 2 and b["epochs"] < 12 and b["epochs"] == b["best_epoch"] + 1

    # Rank 0 alone logged: one run, every epoch once, the params with train.nproc.
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{two / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("poetry-rnn").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.params["train.nproc"] == "2"
    steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, "val_cosine")]
    assert steps == list(range(1, b["epochs"] + 1))
    assert [v.version for v in client.search_model_versions("name = 'poetry-rnn-baseline'")] == [1]
