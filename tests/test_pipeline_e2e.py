"""End to end: the real pipeline under real DVC in a real git repo, inputs served over HTTP from 127.0.0.1,
tracked in a real MLflow sqlite store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import WORDS, glove_lines, poem_text
from http_server import serve_directory

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["download_glove", "preprocess", "chunk", "train_baseline", "train_attention", "evaluate", "compare"]
pytestmark = pytest.mark.e2e


def run(cmd: list[str], cwd: Path) -> str:
    """Run a command with the test's Python environment first on PATH; fail with its output."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DVC_ROOT", None)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{out}"
    return out


def stages_ran(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


def make_inputs(folder: Path) -> None:
    """A zipped 16-d GloVe file and a zip of one-poem-per-file .txt with front matter."""
    folder.mkdir()
    with zipfile.ZipFile(folder / "glove.tiny.zip", "w") as z:
        z.writestr("glove.tiny.16d.txt", "\n".join(glove_lines(dim=16)) + "\n")
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(folder / "poems.zip", "w") as z:
        for i in range(30):
            z.writestr(f"poems/poem-{i:02d}.txt", f"---\ntitle: Poem {i}\nauthor: Test\n---\n{poem_text(rng, lines=int(rng.integers(4, 14)))}\n")


def make_project(dest: Path, base_url: str) -> Path:
    """The project's tracked files in a fresh git repo, with params pointing at the served inputs."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["glove"].update(url=f"{base_url}/glove.tiny.zip", file="glove.tiny.16d.txt", dim=16)
    params["poems"]["source"] = f"{base_url}/poems.zip"
    params["model"].update(hidden=16, bottleneck=4, heads=2)
    params["train"].update(epochs=3, batch_size=8, curriculum=[{"window": 20, "epochs": 1}])
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "t@example.com"],
                ["git", "config", "user.name", "Test"], ["git", "add", "-A"], ["git", "commit", "-qm", "project"]):
        subprocess.run(cmd, cwd=dest, check=True)
    return dest


def mlflow_runs(project: Path):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    exp = client.get_experiment_by_name("poetry-rnn")
    return client, exp, client.search_runs([exp.experiment_id], max_results=1000)


def test_dvc_repro_runs_every_stage_tracks_it_in_mlflow_and_sweeps_heads(tmp_path, monkeypatch):
    make_inputs(tmp_path / "served")
    with serve_directory(tmp_path / "served") as url:
        project = make_project(tmp_path / "project", url)

        # 1. A full `dvc repro`: all seven stages, in order.
        out = run(["dvc", "repro"], project)
        assert stages_ran(out) == STAGES

    # Every stage's outputs and metrics are there.
    for path in ["data/glove/vectors.npy", "data/glove/vocab.txt", "data/corpus/poems.csv", "data/chunks/test.npz",
                 "stages/train_baseline/checkpoints/best.pt", "stages/train_attention/checkpoints/last.pt",
                 "stages/train_attention/history.csv", "stages/evaluate/cosine_by_position.csv",
                 "stages/evaluate/figures/cosine_by_position.png", "stages/evaluate/figures/bottleneck_map.png",
                 "stages/evaluate/figures/attention.png", "stages/evaluate/figures/samples.md",
                 "stages/compare/comparison.md", "stages/compare/comparison.csv", "stages/compare/scores.png"]:
        assert (project / path).is_file(), path
    metrics = {s: json.loads((project / f"metrics/{s}.json").read_text()) for s in STAGES}
    assert metrics["download_glove"]["words"] == len(WORDS) and metrics["download_glove"]["dim"] == 16
    assert metrics["preprocess"]["poems"] == 30 and 0.8 < metrics["preprocess"]["glove_coverage"] < 1.0
    assert sum(metrics["chunk"][s]["poems"] for s in ("train", "val", "test")) == 30
    for model in ("baseline", "attention"):
        scores = metrics["evaluate"][model]
        assert -1.0 <= scores["test_cosine"] <= 1.0 and 0.0 <= scores["nearest_word_accuracy"] <= 1.0
        assert len(scores["cosine_by_position"]) == 50 and "test_cosine_median" in scores
        assert {"mean_norm", "active_dims", "effective_dims"} <= set(scores["bottleneck"])
        assert metrics[f"train_{model}"]["epochs"] == 3
    assert set(metrics["evaluate"]["reference"]) == {"mean_vector", "pca"}
    for ref in metrics["evaluate"]["reference"].values():
        assert {"test_cosine", "nearest_word_accuracy", "cosine_by_position"} <= set(ref)
    assert "| baseline" in (project / "stages/compare/comparison.md").read_text()

    # MLflow holds one finished run per stage, with params, metrics and artifacts, under the user's repo.
    client, exp, runs = mlflow_runs(project)
    assert exp.artifact_location == (project / "mlartifacts").as_uri()
    by_stage = {r.data.tags["stage"]: r for r in runs}
    assert sorted(by_stage) == sorted(STAGES) and len(runs) == 7
    for stage, r in by_stage.items():
        assert r.info.status == "FINISHED", stage
        assert r.data.params and r.data.metrics, stage
        assert r.data.tags["params_hash"] and re.fullmatch(r"[0-9a-f]{40}", r.data.tags["git_commit"]), stage
        assert client.list_artifacts(r.info.run_id), stage
    train_keys = {k for k in by_stage["train_baseline"].data.metrics}
    assert train_keys == set(by_stage["train_attention"].data.metrics)  # compared column for column
    assert {"val_cosine", "train_loss", "best_val_cosine", "parameters"} <= train_keys
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

    # 2. Nothing changed: a second repro skips every stage and logs nothing.
    out = run(["dvc", "repro"], project)
    assert stages_ran(out) == []
    assert len(mlflow_runs(project)[2]) == 7

    # 3. A sweep of model.heads reruns exactly the three downstream stages.
    out = run(["dvc", "exp", "run", "-S", "model.heads=4", "--name", "heads4"], project)
    assert stages_ran(out) == ["train_attention", "evaluate", "compare"]
    _, _, runs = mlflow_runs(project)
    new = [r for r in runs if r.data.tags.get("dvc_experiment") == "heads4"]
    assert sorted(r.data.tags["stage"] for r in new) == ["compare", "evaluate", "train_attention"]
    assert next(r for r in new if r.data.tags["stage"] == "train_attention").data.params["model.heads"] == "4"
