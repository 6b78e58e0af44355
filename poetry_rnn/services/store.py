"""Where the MLflow store is, its checks, and the experiment: the repo's sqlite store (its artifact paths kept
inside the repo) or the tracking server MLFLOW_TRACKING_URI names; the one way MLflow's failures are reported."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.paths import user_root

EXPERIMENT = "poetry-rnn"
# MLflow's experiment type: model development (runs, metrics), not GenAI (traces); what the UI's type selector sets
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"


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
    """MLflow's settings for this project, where the user has not set them: no telemetry, quick HTTP failures, no
    progress bar for each small artifact read back (a seed group's per-poem tables)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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


def failure_reason(err: BaseException) -> str:
    """An MLflow error in one short line: for a request that failed, its path and urllib3's cause ('too many 500
    error responses', 'Connection refused'), not the whole retry report; else the first line of the message."""
    import re

    text = (str(getattr(err, "message", None) or err).strip().splitlines() or [type(err).__name__])[0]
    request = re.match(r"API request to (?:\w+://[^/\s]+)?([^?\s]+)\S* failed with exception", text)
    cause = re.search(r"\(Caused by \w+\((['\"])(?:<[^>]*>: |\w+\([^)]*\): )?(.*?)\1\)", text)
    if request and cause:
        return f"a request to {request.group(1)} failed: {cause.group(2)}"
    return text if len(text) <= 300 else text[:300] + "…"


RERUN_STAGE = ("Nothing is lost: once the tracking server (and its database and artifact store) answers again, rerun "
               "(`dvc repro`); a training stage resumes from its checkpoint and completes the same MLflow run")
RERUN_COMMAND = ("Check that the tracking server and its database answer (the server's log says why it failed), then "
                 "run the command again")


def tracking_failure(err: BaseException, doing: str = "logging to", then: str = RERUN_STAGE) -> PoetryRnnError:
    """The one error a stage (or a command: `then` RERUN_COMMAND) reports when MLflow failed: where, why, and what
    to do."""
    return PoetryRnnError(f"{doing} MLflow at {tracking_uri()} failed: {failure_reason(err)}. {then}")


def not_found(err: BaseException) -> bool:
    """Whether MLflow said that what was asked for does not exist: the one failure that means "none". Any other (a
    server error, a refused login) is a failure to report, never an empty answer."""
    return getattr(err, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


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
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return mlflow.get_experiment_by_name(EXPERIMENT).experiment_id  # another process created it in the meantime
