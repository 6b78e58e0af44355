"""The one MLflow helper: where the store is, the experiment, one parent run per pipeline execution
and one child run per stage."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.paths import best_checkpoint, details_file, metrics_file, user_root

EXPERIMENT = "poetry-rnn"
STAGES = ("download_glove", "preprocess", "chunk", "train_baseline", "train_attention", "evaluate", "compare")
SKIPPED = "skipped: unchanged or restored from DVC's run-cache"
# MLflow's experiment type: model development (runs, metrics), not GenAI (traces); what the UI's type selector sets
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"
VIEW = "poetry-rnn-scores"  # the runs page's saved view (experiment tag mlflow.sharedViewState.<VIEW>)


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set (a team server), else a sqlite store at <root>/mlflow.db."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{user_root() / 'mlflow.db'}"


def team_server(uri: str | None = None) -> bool:
    """Whether MLflow logs to a tracking server (an http(s) URL: the team's, which keeps the artifacts and serves
    the UI) rather than to a store on this machine: the one test of team mode."""
    return (uri or tracking_uri()).startswith(("http://", "https://"))


def sqlite_file(uri: str) -> Path | None:
    """The file of an embedded sqlite store; None for any other store (a server, a database server)."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


# MLflow's HTTP client retries a failed request 7 times with backoff factor 2, each try waiting up to 120 s: a
# tracking server that is down stalls a stage for minutes (272 s in one training) before a urllib3 traceback.
# These keep a failure within seconds (a refused connection) or 90 s (a server that never answers); a value
# the user set wins.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
CHECK_TIMEOUT = 5  # seconds for the one request that checks a tracking server before a stage starts


def mlflow_env() -> None:
    """MLflow's settings for this project, where the user has not set them: no telemetry, quick HTTP failures."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)


def server_problem(uri: str) -> str | None:
    """Why an http(s) tracking server does not answer one request to /health within CHECK_TIMEOUT; None when
    it answers (or the store is not a server)."""
    import requests

    if not team_server(uri):
        return None
    insecure = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("true", "1")
    verify = False if insecure else os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or True
    try:
        answer = requests.get(f"{uri.rstrip('/')}/health", timeout=CHECK_TIMEOUT, verify=verify)
        # Any answer but a server error means a server is there: one behind a login or a proxy may answer 401
        # or 404 for /health and still serve MLflow's API; 5xx is a proxy whose server is down.
        return f"it answered {answer.status_code} {answer.reason}" if answer.status_code >= 500 else None
    except requests.exceptions.SSLError as err:
        return f"TLS failed ({err})"
    except requests.Timeout:
        return f"no answer within {CHECK_TIMEOUT} s"
    except requests.ConnectionError:
        return "cannot connect (nothing listens there, or the host is unreachable)"
    except requests.RequestException as err:
        return str(err)


def check_server(uri: str) -> None:
    """Refuse an http(s) tracking server that does not answer one request to /health within CHECK_TIMEOUT."""
    reason = server_problem(uri)
    if reason:
        raise PoetryRnnError(f"the MLflow tracking server {uri} (MLFLOW_TRACKING_URI) does not answer: {reason}. "
                             "Start the server, fix MLFLOW_TRACKING_URI, or unset it to log to the local store "
                             "mlflow.db")


def preflight() -> None:
    """MLflow's settings, and the tracking server checked: what a stage does first, before any of its work, so
    that a server that is down fails it within seconds (MLflow's client would retry for minutes)."""
    mlflow_env()
    check_server(tracking_uri())


def tracking_errors() -> tuple[type[BaseException], ...]:
    """What MLflow's client raises when the store fails: an error answer (a lost database or artifact store
    behind the server), or no answer."""
    import requests
    from mlflow.exceptions import MlflowException

    return MlflowException, requests.RequestException


def _reason(err: BaseException) -> str:
    """An MLflow error in one short line: for a request that failed, its path and urllib3's cause ('too many 500
    error responses', 'Connection refused'), not the whole retry report; else the first line of the message."""
    import re

    text = (str(getattr(err, "message", None) or err).strip().splitlines() or [type(err).__name__])[0]
    request = re.match(r"API request to (?:\w+://[^/\s]+)?([^?\s]+)\S* failed with exception", text)
    cause = re.search(r"\(Caused by \w+\((['\"])(?:<[^>]*>: |\w+\([^)]*\): )?(.*?)\1\)", text)
    if request and cause:
        return f"a request to {request.group(1)} failed: {cause.group(2)}"
    return text if len(text) <= 300 else text[:300] + "…"


def tracking_failure(err: BaseException) -> PoetryRnnError:
    """The one error a stage reports when logging failed: where, why, and that a rerun completes the run."""
    return PoetryRnnError(
        f"logging to MLflow at {tracking_uri()} failed: {_reason(err)}. Nothing is lost: once the tracking server "
        "(and its database and artifact store) answers again, rerun (`dvc repro`); a training stage resumes from its "
        "checkpoint and completes the same MLflow run")


def setup() -> str:
    """Point MLflow at the store and return the experiment id, creating store and experiment once."""
    uri = tracking_uri()
    preflight()  # before MLflow's client, whose retries would take minutes to fail
    import mlflow

    mlflow.set_tracking_uri(uri)
    if team_server(uri):
        return _experiment_id(None)
    # Several processes creating a fresh sqlite store at once fail ("duplicate column name"), as
    # `dvc queue start -j 2` would: the first creates it under an exclusive lock, the others wait.
    # The lock file's name matches .gitignore's /mlflow.db-* so it never shows up in `git status`.
    root = user_root()
    with open(root / "mlflow.db-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # An explicit artifact root under the user's repo: the default is relative to the
        # working directory, which for `dvc exp run --temp` is a copy deleted afterwards.
        location = (root / "mlartifacts").as_uri()
        exp_id = _experiment_id(location)
        stored, db = mlflow.get_experiment(exp_id).artifact_location, sqlite_file(uri)
        if stored != location and db is not None:
            follow_repo(db, stored, location)
        return exp_id


# Where the sqlite store keeps absolute artifact URIs: the experiment's root, and each run's, logged model's and
# model version's folder under it.
ARTIFACT_URIS = (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                 ("logged_models", "artifact_location"), ("model_versions", "storage_location"))


def follow_repo(db: Path, old: str, new: str) -> None:
    """Rewrite the store's artifact URIs under `old` to the same paths under `new`: the repo was copied, moved or
    renamed with its mlflow.db. MLflow keeps only absolute artifact URIs, so the copy would otherwise go on
    writing into the old repo's mlartifacts (or fail once it is gone). Mended rather than refused: copying or
    moving a repo is ordinary, the copy's mlartifacts holds the same files under the same relative paths, and
    the fix (one prefix) is unambiguous, whereas a refusal would leave the user to edit sqlite by hand."""
    import sqlite3
    import sys

    with contextlib.closing(sqlite3.connect(db)) as con, con:  # one transaction: all mended, or none
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, column in ARTIFACT_URIS:
            if table in tables:
                con.execute(f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                            f"WHERE {column} = ? OR substr({column}, 1, ?) = ?",
                            (new, len(old) + 1, old, len(old) + 1, old + "/"))
    print(f"MLflow store {db}: artifacts now go to {new} (the store named {old}: the repo was copied or moved)",
          file=sys.stderr)


def _experiment_id(location: str | None) -> str:
    """The experiment's id, created on first use."""
    import mlflow
    from mlflow.exceptions import MlflowException

    exp = mlflow.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        if KIND_TAG not in exp.tags:  # a store made before the tag was set
            mlflow.MlflowClient().set_experiment_tag(exp.experiment_id, KIND_TAG, KIND)
        return exp.experiment_id
    try:
        return mlflow.create_experiment(EXPERIMENT, artifact_location=location, tags={KIND_TAG: KIND})
    except MlflowException:  # another process created it in the meantime
        return mlflow.get_experiment_by_name(EXPERIMENT).experiment_id


# The saved view's columns: the params an experiment usually changes, and the pipeline's headline scores.
VIEW_PARAMS = ("model.heads", "model.cell", "model.bottleneck", "chunk.window")
VIEW_METRICS = ("attention.content_word_accuracy_pct", "baseline.content_word_accuracy_pct", "attention.test_cosine_pct",
                "baseline.test_cosine_pct", "reference.pca.content_word_accuracy_pct")


def save_runs_view(exp_id: str) -> None:
    """Save the runs page's view VIEW on the experiment, as the UI's "Views" menu does: the pipeline runs, one row
    per `dvc repro` or experiment (their parents carry the params and headline scores), best attention content-word
    accuracy first, with VIEW_PARAMS and VIEW_METRICS as columns."""
    import mlflow

    columns = [f"params.`{k}`" for k in VIEW_PARAMS] + [f"metrics.`{k}`" for k in VIEW_METRICS]
    state = {"searchFilter": "tags.kind = 'pipeline'", "orderByKey": f"metrics.`{VIEW_METRICS[0]}`",
             "orderByAsc": False, "selectedColumns": columns, "columnOrder": columns,
             # wide enough for each column's name: the UI's default cuts `attention.content_word_accuracy_pct` at 14
             "columnWidths": {c: round(6.5 * len(c.split("`")[1])) + 40 for c in columns}}
    now = int(time.time() * 1000)
    view = {"name": VIEW, "createdAt": now, "updatedAt": now, "state": json.dumps(state)}
    mlflow.MlflowClient().set_experiment_tag(exp_id, f"mlflow.sharedViewState.{VIEW}", json.dumps(view))


def runs_page_url(base: str, exp_id: str) -> str:
    """The MLflow UI's runs page of the experiment in the view VIEW. workflowType=machine_learning opens it in
    the UI's "Model training" mode: MLflow 3.17 otherwise opens every experiment on its GenAI overview."""
    return f"{base.rstrip('/')}/#/experiments/{exp_id}/runs?workflowType=machine_learning&viewStateShareKey={VIEW}"


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


def _runs_dvc(cmdline: list[str]) -> bool:
    """Whether a process command line is the dvc CLI (`dvc …`, `python …/dvc …`, `python -m dvc …`)."""
    head = cmdline[:3]
    return any(Path(arg).name in ("dvc", "dvc.exe") for arg in head) or head[1:3] == ["-m", "dvc"]


def execution_key() -> str | None:
    """The DVC process running this stage, as '<pid>-<start time>' (unique even when pids are reused):
    one per `dvc repro`, `dvc exp run` or queued experiment; None outside DVC (a stage run by hand)."""
    import psutil

    try:
        proc = psutil.Process(os.getppid())
        while proc is not None:
            if _runs_dvc(proc.cmdline()):
                return f"{proc.pid}-{proc.create_time()}"
            proc = proc.parent()
    except psutil.Error:  # an ancestor exited or is not ours to inspect
        pass
    return None


def _logged_params(stage: str) -> dict | None:
    """The params `stage` would log now (params.stage_params of params.yaml), so a skipped stage's last run can
    be found by params_hash; None without a readable params.yaml."""
    from poetry_rnn import params

    try:
        return params.stage_params(stage, params.load_params())
    except PoetryRnnError:
        return None


def pipeline_name() -> str:
    """What the runs of this pipeline execution are named after: the DVC experiment's name under `dvc exp run`,
    else `workspace@<short commit>` (a plain `dvc repro` works on the workspace, as `dvc exp show` calls it)."""
    commit = git_commit()
    return os.environ.get("DVC_EXP_NAME") or ("workspace" if commit == "unknown" else f"workspace@{commit[:7]}")


def pipeline_params() -> dict:
    """Every param the pipeline's stages read (params.stage_params of each), flat: what its parent run logs."""
    params = {}
    for stage in STAGES:
        params |= _logged_params(stage) or {}
    return params


def parent_run(client, exp_id: str, key: str) -> str:
    """The id of this execution's parent run, created by its first stage with the pipeline's params; reopened
    (RUNNING) for the next child."""
    from mlflow.entities import Param

    found = client.search_runs([exp_id], f"tags.kind = 'pipeline' and tags.execution = '{key}'", max_results=1)
    if found:
        client.update_run(found[0].info.run_id, status="RUNNING")
        return found[0].info.run_id
    name = pipeline_name()
    tags = {"kind": "pipeline", "pipeline": name, "execution": key, "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
            "git_commit": git_commit()}
    run_id = client.create_run(exp_id, run_name=name, tags=tags).info.run_id
    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in pipeline_params().items()])
    return run_id


def stage_status(client, exp_id: str, parent_id: str) -> dict[str, str]:
    """Per stage: 'ran: <child run id>' for the stages this execution ran, else where its outputs came from."""
    children = client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{parent_id}'", order_by=["start_time ASC"])
    ran = {r.data.tags.get("stage"): r for r in children}
    status = {}
    for stage in STAGES:
        if stage in ran:
            r = ran[stage]
            status[stage] = ("ran: " if r.info.status != "FAILED" else "failed: ") + r.info.run_id
            continue
        params = _logged_params(stage)
        earlier = [] if params is None else client.search_runs(
            [exp_id], f"tags.stage = '{stage}' and tags.params_hash = '{params_hash(params)}' "
                      "and attributes.status = 'FINISHED'", order_by=["start_time DESC"], max_results=1)
        status[stage] = f"{SKIPPED}; outputs from run {earlier[0].info.run_id}" if earlier else "skipped"
    return status


def close_parent(client, exp_id: str, parent_id: str, failed: bool) -> None:
    """Tag the parent with every stage's status and end it; the next stage of the execution reopens it."""
    for stage, status in stage_status(client, exp_id, parent_id).items():
        client.set_tag(parent_id, f"stage.{stage}", status)
    client.set_terminated(parent_id, "FAILED" if failed else "FINISHED")


def adopt(client, run_id: str, parent_id: str) -> None:
    """Move a resumed run under this execution's parent; the interrupted execution's parent is marked KILLED."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    old = client.get_run(run_id).data.tags.get(MLFLOW_PARENT_RUN_ID)
    if old and old != parent_id and client.get_run(old).info.status == "RUNNING":
        client.set_terminated(old, "KILLED")
    client.set_tag(run_id, MLFLOW_PARENT_RUN_ID, parent_id)


@contextlib.contextmanager
def stage_run(stage: str, params: dict, run_id: str | None = None) -> Iterator[object]:
    """One MLflow run for one stage execution, tagged and with the stage's params logged, as a child of
    the execution's parent run when DVC runs it; `run_id` continues the run of an interrupted execution instead.
    A failure of the tracking store, here or in the stage, is reported as one clear error (tracking_failure)."""
    try:
        with _stage_run(stage, params, run_id) as run:
            yield run
    except tracking_errors() as err:
        raise tracking_failure(err) from None


@contextlib.contextmanager
def _stage_run(stage: str, params: dict, run_id: str | None) -> Iterator[object]:
    import mlflow

    exp_id = setup()
    client = mlflow.MlflowClient()
    key = execution_key()
    parent_id = parent_run(client, exp_id, key) if key else None
    failed = True
    try:
        if run_id is not None:
            if parent_id:
                adopt(client, run_id, parent_id)
            run = mlflow.start_run(run_id=run_id)
        else:
            pipeline = pipeline_name()
            tags = {
                "stage": stage,
                "pipeline": pipeline,
                "git_commit": git_commit(),
                "params_hash": params_hash(params),
                "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
            }
            run = mlflow.start_run(experiment_id=exp_id, run_name=f"{pipeline}/{stage}", tags=tags,
                                   parent_run_id=parent_id)
        try:
            if params and run_id is None:
                mlflow.log_params(params)
            yield run
        except BaseException:
            _quietly(mlflow.end_run, "FAILED")
            raise
        mlflow.end_run()
        failed = False
    finally:
        if parent_id and failed:
            _quietly(close_parent, client, exp_id, parent_id, failed)
        elif parent_id:
            close_parent(client, exp_id, parent_id, failed)


def _quietly(fn, *args) -> None:
    """fn(*args) after the stage failed: a tracking store that fails here too must not hide the stage's error."""
    with contextlib.suppress(*tracking_errors()):
        fn(*args)


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
            reason = _reason(err)
    print(f"warning: epoch {rows[-1]['epoch']} is not logged yet, MLflow at {tracking_uri()} failed: {reason}. "
          "Training goes on; its metrics are logged once the server answers", file=sys.stderr)


def unfinished_run(run_id: str | None) -> bool:
    """Whether `run_id` is a run of the store that never finished: its stage failed after training (e.g. while
    the tracking server was lost). False for a finished run, or one the store does not have."""
    import mlflow
    from mlflow.exceptions import MlflowException

    if run_id is None:
        return False
    preflight()
    try:
        return mlflow.MlflowClient(tracking_uri()).get_run(run_id).info.status != "FINISHED"
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise tracking_failure(err) from None
    except tracking_errors() as err:
        raise tracking_failure(err) from None


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


CHAMPION = "champion"  # registry alias on the better architecture


def registered_name(model: str) -> str:
    """The registry name of an architecture's final model: poetry-rnn-baseline, poetry-rnn-attention."""
    return f"poetry-rnn-{model}"


def training_run_id(stage: str) -> str | None:
    """The MLflow run that trained the workspace's checkpoint of a training stage, if there is one."""
    import torch

    best = best_checkpoint(stage)
    return torch.load(best, weights_only=True).get("mlflow_run_id") if best.is_file() else None


def percent(scores: dict) -> dict[str, float]:
    """Scores (shares, cosines) as MLflow metrics in percent, each name ending in _pct: MLflow's UI rounds a value
    below 10 to 3 decimals (0.32672 and 0.32657 both show as 0.327) and one from 10 to 100 to 2 (32.67, 32.66)."""
    return {f"{k}_pct": 100 * v for k, v in _numeric(scores).items()}


def log_test_scores(run_id: str | None, scores: dict) -> None:
    """A model's test scores (in percent) on the run that trained it, so comparing training runs shows them."""
    import sys

    import mlflow
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException

    if run_id is None:
        return
    now = int(time.time() * 1000)
    try:
        metrics = percent(scores)
        mlflow.MlflowClient().log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
    except MlflowException as err:  # a checkpoint trained against another store (e.g. a team server)
        print(f"cannot log test scores on training run {run_id}: {err}", file=sys.stderr)


def log_to_pipeline(metrics: dict[str, float] | None = None, tags: dict[str, str] | None = None) -> None:
    """Log metrics and tags to the parent run of the active stage run (its pipeline), if it has one: what the
    pipeline's row in the runs table shows."""
    import mlflow
    from mlflow.entities import Metric, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    client = mlflow.MlflowClient()
    parent_id = client.get_run(mlflow.active_run().info.run_id).data.tags.get(MLFLOW_PARENT_RUN_ID)
    if parent_id:
        now = int(time.time() * 1000)
        client.log_batch(parent_id, metrics=[Metric(k, v, now, 0) for k, v in (metrics or {}).items()],
                         tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()])


def crown_champion(winner: str, run_ids: dict[str, str | None]) -> None:
    """Point `champion` at the winner's version from its training run `run_ids[winner]` (else its newest
    version) and take it off the others, so `models:/poetry-rnn-<winner>@champion` is the better model."""
    import sys

    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    for model, run_id in run_ids.items():
        name = registered_name(model)
        try:
            versions = client.search_model_versions(f"name = '{name}'")
            aliases = client.get_registered_model(name).aliases
        except MlflowException:
            versions, aliases = [], {}
        if model != winner:
            if CHAMPION in aliases:
                client.delete_registered_model_alias(name, CHAMPION)
            continue
        ours = [v for v in versions if v.run_id == run_id] or versions
        if not ours:  # e.g. training restored from DVC's cache into an empty store: nothing was registered
            print(f"no version of {name} in the registry; alias {CHAMPION} not set", file=sys.stderr)
            continue
        client.set_registered_model_alias(name, CHAMPION, str(max(int(v.version) for v in ours)))
