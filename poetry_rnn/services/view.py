"""The MLflow UI's runs page: the saved view of the pipelines with their params and scores, and its URL."""

from __future__ import annotations

import json
import time

VIEW = "poetry-rnn-scores"  # the runs page's saved view (experiment tag mlflow.sharedViewState.<VIEW>)
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
