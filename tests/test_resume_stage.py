"""A real training stage killed with SIGKILL mid-run resumes from its last checkpoint and ends exactly
like an uninterrupted run of the same seed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import glove_lines
from poetry_rnn.chunking import make_chunks, save_chunks, save_vocabulary, training_vocabulary
from poetry_rnn.glove import convert_glove

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 8


def make_project(dest: Path) -> Path:
    """params.yaml, a GloVe folder and chunks: what train_baseline needs."""
    dest.mkdir()
    src = dest / "glove.txt"
    src.write_text("\n".join(glove_lines(dim=16)) + "\n")
    convert_glove(src, "", 16, dest / "data/glove")
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("val", 10)):
        poems = [rng.integers(0, 40, size=rng.integers(20, 120)).astype(np.int32) for _ in range(n)]
        (dest / "data/chunks").mkdir(parents=True, exist_ok=True)
        chunks = make_chunks(poems, list(range(n)), 20, 16)
        save_chunks(chunks, dest / f"data/chunks/{split}.npz")
        if split == "train":
            save_vocabulary(*training_vocabulary(chunks), dest / "data/chunks/vocabulary.npz")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["glove"]["dim"] = 16
    params["chunk"].update(window=20, stride=16)
    params["model"].update(hidden=32, bottleneck=4, heads=2)
    params["train"].update(epochs=EPOCHS, batch_size=8, patience=0, curriculum=[{"window": 10, "epochs": 1}])
    params["train"]["teacher_forcing"].update(start=1.0, end=0.2)
    (dest / "params.yaml").write_text(yaml.safe_dump(params))
    return dest


def start(project: Path) -> subprocess.Popen:
    env = {**os.environ, "DVC_ROOT": str(project)}
    return subprocess.Popen([sys.executable, "-m", "poetry_rnn.stages.train_baseline"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out


def last_epoch(project: Path) -> int:
    path = project / "stages/train_baseline/checkpoints/last.pt"
    return torch.load(path, weights_only=True)["epoch"] if path.exists() else 0


@pytest.mark.e2e
def test_killed_training_stage_resumes_and_matches_an_uninterrupted_run(tmp_path):
    whole = make_project(tmp_path / "whole")
    finish(start(whole))

    cut = make_project(tmp_path / "cut")
    proc = start(cut)
    deadline = time.time() + 300
    while last_epoch(cut) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = last_epoch(cut)
    assert 3 <= killed_at < EPOCHS, "the run was not interrupted mid-way"
    assert not (cut / "metrics/train_baseline.json").exists()  # a killed stage leaves no metrics

    finish(start(cut))
    a = json.loads((whole / "metrics/train_baseline.json").read_text())
    b = json.loads((cut / "metrics/train_baseline.json").read_text())
    assert b["resumed_from_epoch"] == killed_at and a["resumed_from_epoch"] == 0
    timing = {"train_seconds", "tokens_per_second", "resumed_from_epoch"}
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
    for name in ("best.pt", "last.pt"):
        sa = torch.load(whole / "stages/train_baseline/checkpoints" / name, weights_only=True)
        sb = torch.load(cut / "stages/train_baseline/checkpoints" / name, weights_only=True)
        assert sa["epoch"] == sb["epoch"] and sa["history"] == sb["history"]
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
