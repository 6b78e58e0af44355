"""Seed groups in MLflow: the pipeline runs that differ only in train.seed (their tag seed_group), read back with
each one's per-poem scores (its evaluate run's artifact poem_scores.csv), and the group's figures written back: the
tag on every run of the group, and one run per group (tag kind = seed_group) holding its summary."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from poetry_rnn.services.runs import GROUP_TAG, SEED, outputs_run, seed_group
from poetry_rnn.services.store import not_found, tracking_errors

POEM_SCORES = "poem_scores.csv"  # the evaluate stage's per-poem table, at the root of its run's artifacts
KIND = "seed_group"  # the tag kind of a group's summary run


@dataclass(frozen=True)
class Pipeline:
    """A pipeline run as a seed group sees it."""

    run_id: str
    name: str
    seed: int
    group: str  # runs.seed_group of its params and commit
    started: int  # ms since the epoch
    evaluate: str | None  # the run whose evaluation the pipeline's outputs hold
    params: dict[str, str]
    commit: str


def search_all(client, exp_id: str, where: str) -> list:
    """Every run of the experiment that matches `where`, page by page."""
    found, token = [], None
    while True:
        page = client.search_runs([exp_id], where, max_results=1000, page_token=token)
        found += list(page)
        token = page.token
        if not token:
            return found


def pipelines(client, exp_id: str, tagged: str | None = None) -> list[Pipeline]:
    """Every pipeline run of the experiment that holds train.seed (with `tagged`, only those tagged that seed group),
    with its seed group (computed from its params and commit, so runs from before the tag belong too) and the run
    its evaluation came from."""
    out = []
    where = "tags.kind = 'pipeline'" + (f" and tags.{GROUP_TAG} = '{tagged}'" if tagged else "")
    for run in search_all(client, exp_id, where):
        params, tags = run.data.params, run.data.tags
        if SEED not in params:
            continue
        commit = tags.get("git_commit", "unknown")
        out.append(Pipeline(run.info.run_id, run.info.run_name or "", int(params[SEED]), seed_group(params, commit),
                            run.info.start_time, outputs_run(tags, "evaluate"), dict(params), commit))
    return out


def latest_per_seed(members: list[Pipeline]) -> list[Pipeline]:
    """The latest evaluated pipeline of each seed, seeds in order: a seed run twice counts once."""
    latest: dict[int, Pipeline] = {}
    for p in sorted((p for p in members if p.evaluate), key=lambda p: p.started):
        latest[p.seed] = p
    return [latest[s] for s in sorted(latest)]


def groups(found: list[Pipeline], min_seeds: int = 2) -> dict[str, list[Pipeline]]:
    """The seed groups of at least `min_seeds` evaluated seeds, each as latest_per_seed, newest group first."""
    by_group: dict[str, list[Pipeline]] = {}
    for p in found:
        by_group.setdefault(p.group, []).append(p)
    kept = {g: latest_per_seed(members) for g, members in by_group.items()}
    kept = {g: members for g, members in kept.items() if len(members) >= min_seeds}
    return dict(sorted(kept.items(), key=lambda item: -max(p.started for p in item[1])))


def apart(found: dict[str, list[Pipeline]]) -> dict[str, dict[str, str]]:
    """Per group, the params (but train.seed) whose value differs between the groups: what sets each apart."""
    params = {g: {k: v for k, v in members[0].params.items() if k != SEED} for g, members in found.items()}
    keys = {k for values in params.values() for k in values}
    differ = sorted(k for k in keys if len({values.get(k) for values in params.values()}) > 1)
    return {g: {k: values.get(k, "") for k in differ} for g, values in params.items()}


def poem_scores(client, run_id: str) -> pd.DataFrame | None:
    """The per-poem table an evaluate run logged; None when it has none (an evaluation from before the table)."""
    try:
        if POEM_SCORES not in {a.path for a in client.list_artifacts(run_id)}:
            return None
    except tracking_errors() as err:
        if not_found(err):  # a run deleted from the store
            return None
        raise
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_csv(client.download_artifacts(run_id, POEM_SCORES, tmp))


def tables(client, members: list[Pipeline]) -> tuple[dict[int, pd.DataFrame], list[Pipeline]]:
    """{seed: per-poem table} of the members, and the members whose evaluation has no table."""
    found, missing = {}, []
    for p in members:
        table = poem_scores(client, p.evaluate)
        if table is None:
            missing.append(p)
        else:
            found[p.seed] = table
    return found, missing


def with_other_seeds(own: pd.DataFrame, seed: int) -> dict[int, pd.DataFrame]:
    """{seed: per-poem table} of this pipeline (its own table, from disk) and of the other seeds of its seed group
    that the store holds evaluated: what the compare stage reports on, within the active stage run."""
    import mlflow

    from poetry_rnn.services.runs import git_commit, pipeline_params

    client, exp_id = mlflow.MlflowClient(), mlflow.active_run().info.experiment_id
    group = seed_group(pipeline_params(), git_commit())
    # by the tag: a run from before it has no per-poem table either, and a team's store holds many pipelines
    others = [p for p in pipelines(client, exp_id, group) if p.group == group and p.seed != seed]
    return {**tables(client, latest_per_seed(others))[0], seed: own}


def publish(client, exp_id: str, group: str, members: list[Pipeline], summary: dict, markdown: str) -> str:
    """Write a group's figures to MLflow: the tag seed_group on each member pipeline and its stage runs (the UI groups
    and filters by it), and the group's run (tag kind = seed_group, found or created): its shared params, each model's
    mean over seeds and interval in percent (the pipeline rows' names: attention.content_word_accuracy_pct, …_lo_pct,
    _hi_pct, _sd_pct), the differences, the verdicts as tags, the summary as its description and artifacts. Returns
    the group run's id."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE
    from mlflow.utils.validation import MAX_TAG_VAL_LENGTH

    from poetry_rnn.services.metrics import percent

    for p in members:  # runs logged before the tag existed get it now
        stages = search_all(client, exp_id, f"tags.mlflow.parentRunId = '{p.run_id}'")
        for run_id in [p.run_id] + [r.info.run_id for r in stages if r.data.tags.get(GROUP_TAG) != group]:
            client.set_tag(run_id, GROUP_TAG, group)
    found = client.search_runs([exp_id], f"tags.kind = '{KIND}' and tags.{GROUP_TAG} = '{group}'", max_results=1)
    if found:
        run_id = found[0].info.run_id
    else:
        shared = {k: v for k, v in members[0].params.items() if k != SEED}
        run_id = client.create_run(exp_id, run_name=f"seed group {group}",
                                   tags={"kind": KIND, GROUP_TAG: group, "git_commit": members[0].commit}).info.run_id
        client.log_batch(run_id, params=[Param(k, v) for k, v in shared.items()])
    figures = {name: {k: v for key, s in by_key.items() for k, v in
                      ((key, s["mean"]), (f"{key}_lo", s["ci"][0]), (f"{key}_hi", s["ci"][1]), (f"{key}_sd", s["sd"]))
                      if v is not None}
               for name, by_key in {**summary["models"], **summary["differences"]}.items()}
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in percent(figures).items()] + [Metric("seeds", len(members), now, 0)]
    note = markdown if len(markdown) <= MAX_TAG_VAL_LENGTH else (  # a tag's limit: more architectures, more pairs
        markdown[:MAX_TAG_VAL_LENGTH - 100].rsplit("\n", 1)[0] + "\n\n… the whole summary: the artifact seed_group.md")
    tags = {"seeds": ", ".join(str(p.seed) for p in members), "pipelines": ", ".join(p.run_id for p in members),
            MLFLOW_RUN_NOTE: note,
            **{f"verdict.{pair}.{key}": d["verdict"] for pair, by_key in summary["differences"].items()
               for key, d in by_key.items()}}
    client.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "seed_group.md").write_text(markdown)
        (Path(tmp) / "seed_group.json").write_text(json.dumps(summary, indent=2))
        client.log_artifacts(run_id, tmp)
    client.set_terminated(run_id, "FINISHED")
    return run_id
