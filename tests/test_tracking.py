import os

import mlflow
import pytest

from poetry_rnn import tracking


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # mlflow.set_tracking_uri exports it; keep it out of later tests


def test_store_is_anchored_at_dvc_root_not_the_working_copy(clean_env, monkeypatch, tmp_path):
    user_repo = tmp_path / "repo"
    user_repo.mkdir()
    monkeypatch.setenv("DVC_ROOT", str(user_repo))  # as DVC sets it for --temp/--queue copies
    assert tracking.tracking_uri() == f"sqlite:///{user_repo / 'mlflow.db'}"
    exp_id = tracking.setup()
    exp = mlflow.get_experiment(exp_id)
    assert exp.name == "poetry-rnn" and exp.artifact_location == (user_repo / "mlartifacts").as_uri()
    assert (user_repo / "mlflow.db").is_file() and not (tmp_path / "mlflow.db").exists()


def test_mlflow_tracking_uri_overrides_the_embedded_store(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'team.db'}")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert tracking.tracking_uri().endswith("team.db")


def test_stage_run_tags_stage_commit_experiment_and_params_hash(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.setenv("DVC_EXP_NAME", "brisk-oboe")
    params = {"model.heads": 4, "seed": 1}
    with tracking.stage_run("train_attention", params) as run:
        tracking.finish_stage("train_attention", {"best_val_cosine": 0.5, "nested": {"x": 2}, "winner": "a"})
    r = mlflow.get_run(run.info.run_id)
    assert r.data.tags["stage"] == "train_attention" and r.data.tags["dvc_experiment"] == "brisk-oboe"
    assert r.data.tags["params_hash"] == tracking.params_hash(params) and r.data.tags["git_commit"]
    assert r.info.run_name == "brisk-oboe/train_attention"
    assert r.data.params == {"model.heads": "4", "seed": "1"}
    assert r.data.metrics == {"best_val_cosine": 0.5, "nested.x": 2.0}  # strings are not metrics
    assert (tmp_path / "metrics/train_attention.json").is_file()


def test_failed_stage_leaves_a_failed_run(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    with pytest.raises(RuntimeError):
        with tracking.stage_run("chunk", {"seed": 1}) as run:
            raise RuntimeError("boom")
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_params_hash_is_stable_and_order_free():
    assert tracking.params_hash({"a": 1, "b": 2}) == tracking.params_hash({"b": 2, "a": 1})
    assert tracking.params_hash({"a": 1}) != tracking.params_hash({"a": 2})
