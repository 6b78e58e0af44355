"""The runs of a pipeline execution: one parent run per execution and one child run per stage, their names,
tags and status."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

from poetry_rnn.architectures import ARCHITECTURES
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.paths import best_checkpoint
from poetry_rnn.services.store import not_found, preflight, setup, tracking_errors, tracking_failure, tracking_uri

STAGES = ("download_glove", "preprocess", "chunk", *(a.stage for a in ARCHITECTURES.values()), "evaluate", "compare")
SKIPPED = "skipped: unchanged or restored from DVC's run-cache"
SEED = "train.seed"  # the param the pipelines of a seed group differ in
GROUP_TAG = "seed_group"


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


def seed_group(params: dict, commit: str) -> str:
    """The seed group of a pipeline: a hash of its params but train.seed (as MLflow holds them, text) and of its
    commit, the code; pipelines that differ only in their training seed share it."""
    return params_hash({**{k: str(v) for k, v in params.items() if k != SEED}, "git_commit": commit})


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
    name, params, commit = pipeline_name(), pipeline_params(), git_commit()
    tags = {"kind": "pipeline", "pipeline": name, "execution": key, "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
            "git_commit": commit, GROUP_TAG: seed_group(params, commit)}
    run_id = client.create_run(exp_id, run_name=name, tags=tags).info.run_id
    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
    return run_id


# How a stage's run ended, as the parent's tag `stage.<name>` says it; a run still RUNNING is the one finishing now.
ENDED = {"FINISHED": "ran", "RUNNING": "ran", "FAILED": "failed", "KILLED": "killed"}


def outputs_run(tags: dict[str, str], stage: str) -> str | None:
    """The run that made the outputs a pipeline's stage left, read from its parent's tag stage.<name>: the stage's run
    in that execution, or the earlier run DVC restored them from; None when the stage failed, was stopped, or its
    outputs' run is not in the store."""
    status = tags.get(f"stage.{stage}", "")
    if status.startswith("ran: "):
        return status.removeprefix("ran: ")
    return status.rsplit(" ", 1)[1] if status.startswith(SKIPPED) and "outputs from run " in status else None


def stage_status(client, exp_id: str, parent_id: str) -> dict[str, str]:
    """Per stage: 'ran: <child run id>' for the stages this execution ran ('failed: …' or 'killed: …' when one
    failed or was stopped), else where its outputs came from."""
    children = client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{parent_id}'", order_by=["start_time ASC"])
    ran = {r.data.tags.get("stage"): r for r in children}
    status = {}
    for stage in STAGES:
        if stage in ran:
            r = ran[stage]
            status[stage] = f"{ENDED.get(r.info.status, 'ran')}: {r.info.run_id}"
            continue
        params = _logged_params(stage)
        earlier = [] if params is None else client.search_runs(
            [exp_id], f"tags.stage = '{stage}' and tags.params_hash = '{params_hash(params)}' "
                      "and attributes.status = 'FINISHED'", order_by=["start_time DESC"], max_results=1)
        status[stage] = f"{SKIPPED}; outputs from run {earlier[0].info.run_id}" if earlier else "skipped"
    return status


def close_parent(client, exp_id: str, parent_id: str, ended: str) -> None:
    """Tag the parent with every stage's status and end it as its stage ended (FINISHED, FAILED, KILLED); the next
    stage of the execution reopens it."""
    for stage, status in stage_status(client, exp_id, parent_id).items():
        client.set_tag(parent_id, f"stage.{stage}", status)
    client.set_terminated(parent_id, ended)


def adopt(client, run_id: str, parent_id: str) -> None:
    """Move a resumed run under this execution's parent; the interrupted execution's parent is marked KILLED."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    old = client.get_run(run_id).data.tags.get(MLFLOW_PARENT_RUN_ID)
    if old and old != parent_id and client.get_run(old).info.status == "RUNNING":
        client.set_terminated(old, "KILLED")
    client.set_tag(run_id, MLFLOW_PARENT_RUN_ID, parent_id)


@contextlib.contextmanager
def stage_run(stage: str, params: dict, run_id: str | None = None, system_metrics: bool = False) -> Iterator[object]:
    """One MLflow run for one stage execution, tagged and with the stage's params logged, as a child of
    the execution's parent run when DVC runs it; `run_id` continues the run of an interrupted execution instead;
    `system_metrics`: MLflow samples the machine's CPU, memory (and GPU) use into the run while it is open.
    A failure of the tracking store, here or in the stage, is reported as one clear error (tracking_failure)."""
    try:
        with _stage_run(stage, params, run_id, system_metrics) as run:
            yield run
    except tracking_errors() as err:
        raise tracking_failure(err) from None


@contextlib.contextmanager
def _stage_run(stage: str, params: dict, run_id: str | None, system_metrics: bool) -> Iterator[object]:
    import mlflow

    exp_id = setup()
    client = mlflow.MlflowClient()
    key = execution_key()
    parent_id = parent_run(client, exp_id, key) if key else None
    ended = "FAILED"
    try:
        if run_id is not None:
            if parent_id:
                adopt(client, run_id, parent_id)
            run = mlflow.start_run(run_id=run_id, log_system_metrics=system_metrics)  # resumed at the next step
        else:
            pipeline, commit = pipeline_name(), git_commit()
            tags = {
                "stage": stage,
                "pipeline": pipeline,
                "git_commit": commit,
                "params_hash": params_hash(params),
                "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
                # a pipeline's stage runs carry its seed group too: the UI groups training curves by it
                **({GROUP_TAG: seed_group(pipeline_params(), commit)} if parent_id else {}),
            }
            run = mlflow.start_run(experiment_id=exp_id, run_name=f"{pipeline}/{stage}", tags=tags,
                                   parent_run_id=parent_id, log_system_metrics=system_metrics)
        try:
            if params and run_id is None:
                mlflow.log_params(params)
            yield run
        except BaseException as err:
            # Ctrl-C, SIGTERM or SIGHUP (errors.Stopped): the stage was stopped, not broken
            ended = "KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED"
            _quietly(mlflow.end_run, ended)
            raise
        mlflow.end_run()
        ended = "FINISHED"
    finally:
        if parent_id and ended != "FINISHED":
            _quietly(close_parent, client, exp_id, parent_id, ended)
        elif parent_id:
            close_parent(client, exp_id, parent_id, ended)


def _quietly(fn, *args) -> None:
    """fn(*args) after the stage failed: a tracking store that fails here too must not hide the stage's error."""
    with contextlib.suppress(*tracking_errors()):
        fn(*args)


def unfinished_run(run_id: str | None) -> bool:
    """Whether `run_id` is a run of the store that never finished: its stage failed after training (e.g. while
    the tracking server was lost). False for a finished run, or one the store does not have."""
    import mlflow

    if run_id is None:
        return False
    preflight()
    try:
        return mlflow.MlflowClient(tracking_uri()).get_run(run_id).info.status != "FINISHED"
    except tracking_errors() as err:
        if not_found(err):
            return False
        raise tracking_failure(err) from None


def training_run_id(stage: str) -> str | None:
    """The MLflow run that trained the workspace's checkpoint of a training stage, if there is one."""
    import torch

    best = best_checkpoint(stage)
    return torch.load(best, weights_only=True).get("mlflow_run_id") if best.is_file() else None


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
