"""A third architecture joins through the registry alone: one entry in poetry_rnn/architectures.py, and the training
stage, evaluate and compare take it up, on tiny data."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from http_server import serve_directory
from poetry_rnn.architectures import ARCHITECTURES, Architecture, pairs
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.paths import best_checkpoint, details_file, history_file, metrics_file, stage_dir
from project import make_inputs, make_project, run

pytestmark = pytest.mark.e2e

# A toy: the plain decoder, narrower than the baseline. Nothing else in the code knows it.
NARROW = Architecture("narrow", lambda m: {"hidden": 8, "heads": 0})


@pytest.fixture
def in_process(monkeypatch):
    """The stages run in this process: MLflow exports the store's URI into os.environ, which later tests' stage
    subprocesses would inherit (as a team server's); take it back out afterwards."""
    monkeypatch.delenv("DVC_ROOT", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield
    os.environ.pop("MLFLOW_TRACKING_URI", None)


def test_a_third_architecture_trains_evaluates_and_compares_through_the_registry_alone(tmp_path, monkeypatch,
                                                                                      in_process):
    from poetry_rnn.stages import compare, evaluate
    from poetry_rnn.stages.training import run_training_stage
    from poetry_rnn.training.engine import load_model

    make_inputs(tmp_path / "served")
    with serve_directory(tmp_path / "served") as url:
        project = make_project(tmp_path / "project", url)
        run(["dvc", "repro", "chunk"], project)  # the data stages, as DVC runs them
    monkeypatch.chdir(project)
    monkeypatch.setitem(ARCHITECTURES, NARROW.name, NARROW)

    assert pairs() == [("baseline", "per_token"), ("attention", "per_token"), ("attention", "baseline"),
                       ("narrow", "per_token"), ("narrow", "baseline"), ("narrow", "attention")]
    params = stage_params("train_narrow", load_params())
    assert "model.heads" not in params and "model.baseline_hidden" not in params  # the others' own params
    for name in ARCHITECTURES:
        run_training_stage(name)
    narrow = load_model(best_checkpoint("train_narrow"))
    assert narrow.cfg.hidden == 8 and narrow.cfg.heads == 0 and history_file("train_narrow").is_file()

    evaluate.main()
    details = json.loads(details_file("evaluate").read_text())
    assert details["narrow"]["parameters"] == narrow.num_parameters()
    assert {"narrow_vs_baseline", "narrow_vs_attention", "narrow_vs_pca"} <= set(details["differences"])
    headline = json.loads(metrics_file("evaluate").read_text())
    assert set(headline["cwa"]) == {"per_token", "baseline", "attention", "narrow", "mean_vector", "pca"}

    compare.main()
    table = pd.read_csv(stage_dir("compare") / "comparison.csv")
    assert {"per_token", "baseline", "attention", "narrow"} <= set(table["model"])
    outcome = json.loads(details_file("compare").read_text())
    assert outcome["champion"] in ARCHITECTURES
    assert "narrow_vs_attention" in outcome["verdict"]
