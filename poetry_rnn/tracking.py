"""The one MLflow helper: where the store is, the experiment, and one run per stage."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

EXPERIMENT = "poetry-rnn"


def store_root() -> Path:
    """The user's repo: DVC_ROOT under DVC (also for --queue/--temp copies), else the working directory."""
    return Path(os.environ.get("DVC_ROOT") or Path.cwd()).resolve()


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set (a team server), else a sqlite store at <root>/mlflow.db."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{store_root() / 'mlflow.db'}"


def setup() -> str:
    """Point MLflow at the store and return the experiment id, creating the experiment once."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    from mlflow.exceptions import MlflowException

    team_server = "MLFLOW_TRACKING_URI" in os.environ  # read first: set_tracking_uri exports it
    mlflow.set_tracking_uri(tracking_uri())
    exp = mlflow.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    # An explicit artifact root under the user's repo: the default is relative to the
    # working directory, which for `dvc exp run --temp` is a copy deleted afterwards.
    location = None if team_server else (store_root() / "mlartifacts").as_uri()
    try:
        return mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    except MlflowException:  # another process created it in the meantime
        return mlflow.get_experiment_by_name(EXPERIMENT).experiment_id


def git_commit() -> str:
    """The commit the stage runs on, or 'unknown' outside git."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def params_hash(params: dict) -> str:
    """A short, stable hash of a stage's params: equal params, equal hash."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


@contextlib.contextmanager
def stage_run(stage: str, params: dict, run_id: str | None = None) -> Iterator[object]:
    """One MLflow run for one stage execution, tagged and with the stage's params logged;
    `run_id` continues the run of an interrupted execution instead."""
    import mlflow

    exp_id = setup()
    exp_name = os.environ.get("DVC_EXP_NAME", "")
    tags = {
        "stage": stage,
        "git_commit": git_commit(),
        "params_hash": params_hash(params),
        "dvc_experiment": exp_name,
    }
    name = f"{exp_name}/{stage}" if exp_name else stage
    if run_id is not None:
        with mlflow.start_run(run_id=run_id) as run:
            yield run
        return
    with mlflow.start_run(experiment_id=exp_id, run_name=name, tags=tags) as run:
        if params:
            mlflow.log_params(params)
        yield run


def _numeric(metrics: dict) -> dict[str, float]:
    """The flat numeric part of a metrics dict, as MLflow metric names ('reference.pca.test_cosine')."""
    from poetry_rnn.params import flatten

    return {k: float(v) for k, v in flatten(metrics).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def finish_stage(stage: str, metrics: dict, artifacts: list[Path] = ()) -> None:
    """Write metrics/<stage>.json atomically, and log the metrics and the stage's artifacts to the active run."""
    import mlflow

    from poetry_rnn.atomic import write_json
    from poetry_rnn.paths import metrics_file

    write_json(metrics_file(stage), metrics)
    mlflow.log_metrics(_numeric(metrics))
    mlflow.log_artifact(str(metrics_file(stage)))
    for path in artifacts:
        path = Path(path)
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=path.name)
        else:
            mlflow.log_artifact(str(path))
