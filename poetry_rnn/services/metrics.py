"""What a stage run logs: its figures (setup constants as params), per-epoch metrics, scores in percent."""

from __future__ import annotations

import time
from pathlib import Path

from poetry_rnn.paths import details_file, metrics_file
from poetry_rnn.services.store import failure_reason, not_found, server_problem, tracking_errors, tracking_uri

def _numeric(metrics: dict) -> dict[str, float]:
    """The flat numeric part of a metrics dict, as MLflow metric names ('reference.pca.test_cosine')."""
    from poetry_rnn.params import flatten

    return {k: float(v) for k, v in flatten(metrics).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def log_epochs(run_id: str, rows: list[dict], constants: tuple[str, ...] = ()) -> None:
    """Log each epoch row (its metrics at step = epoch, but `constants`, the same every epoch) that the run has not
    logged yet: an epoch is logged after its checkpoint, so a run killed in between, resumed, logs it then, and
    never twice."""
    import mlflow

    logged = {m.step for m in mlflow.MlflowClient().get_metric_history(run_id, "train_loss")}
    for row in rows:
        if row["epoch"] not in logged:
            mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch" and k not in constants},
                               step=row["epoch"], run_id=run_id)


def log_epochs_when_possible(run_id: str, rows: list[dict], constants: tuple[str, ...] = ()) -> None:
    """log_epochs, but a tracking server that does not answer only defers the rows, with a warning: training goes
    on, and the next epoch (or the stage's end) logs every row still missing. A quick check first, so a server
    that is down costs one request per epoch, not MLflow's retries."""
    import sys

    reason = server_problem(tracking_uri())
    if reason is None:
        try:
            log_epochs(run_id, rows, constants)
            return
        except tracking_errors() as err:
            reason = failure_reason(err)
    print(f"warning: epoch {rows[-1]['epoch']} is not logged yet, MLflow at {tracking_uri()} failed: {reason}. "
          "Training goes on; its metrics are logged once the server answers", file=sys.stderr)



def log_setup(run_id: str, values: dict) -> None:
    """Log what describes a run's setup (sizes, counts: the same from its start to its end) as params, not metrics;
    a resumed run keeps the values it logged first (MLflow never changes a param)."""
    import mlflow
    from mlflow.entities import Param

    client = mlflow.MlflowClient()
    logged = client.get_run(run_id).data.params
    if set(values) - set(logged):
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in values.items() if k not in logged])


def finish_stage(stage: str, details: dict, artifacts: list[Path] = (), headline: dict | None = None,
                 setup: tuple[str, ...] = ()) -> None:
    """Write the stage's figures in full to stages/<stage>/details.json and its headline, if it has one, to
    metrics/<stage>.json (atomically); log every figure and both files, and the stage's artifacts, to the active run.
    The numbers under a key named in `setup` (e.g. 'parameters', or 'tokens' anywhere in the nesting) describe the
    setup and are logged as params instead."""
    import mlflow

    from poetry_rnn.atomic import write_json

    written = [details_file(stage)] + ([metrics_file(stage)] if headline is not None else [])
    write_json(written[0], details)
    if headline is not None:
        write_json(written[1], headline)
    numbers = _numeric(details)
    constant = {k: v for k, v in numbers.items() if set(k.split(".")) & set(setup)}
    if constant:
        log_setup(mlflow.active_run().info.run_id, {k: int(v) if v.is_integer() else v for k, v in constant.items()})
    mlflow.log_metrics({k: v for k, v in numbers.items() if k not in constant})
    artifacts = [Path(a) for a in artifacts]
    alone = [f for f in written if not any(f.is_relative_to(a) for a in artifacts)]  # not twice, if in a logged folder
    for path in [*alone, *artifacts]:
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=path.name)
        else:
            mlflow.log_artifact(str(path))



def percent(scores: dict) -> dict[str, float]:
    """Scores (shares, cosines) as MLflow metrics in percent, each name ending in _pct: MLflow's UI rounds a value
    below 10 to 3 decimals (0.32672 and 0.32657 both show as 0.327) and one from 10 to 100 to 2 (32.67, 32.66)."""
    return {f"{k}_pct": 100 * v for k, v in _numeric(scores).items()}


def log_test_scores(run_id: str | None, scores: dict) -> None:
    """A model's test scores (in percent) on the run that trained it, so comparing training runs shows them."""
    import sys

    import mlflow
    from mlflow.entities import Metric

    if run_id is None:
        return
    now = int(time.time() * 1000)
    try:
        metrics = percent(scores)
        mlflow.MlflowClient().log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
    except tracking_errors() as err:
        if not not_found(err):
            raise  # stage_run reports it
        # a checkpoint trained against another store (e.g. a team server): this store has no such run
        print(f"cannot log test scores on training run {run_id}: {failure_reason(err)}", file=sys.stderr)
