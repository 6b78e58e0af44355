import json
import os
import subprocess
import sys

import mlflow
import pytest

from poetry_rnn.services import metrics, runs, store, view


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
    assert store.tracking_uri() == f"sqlite:///{user_repo / 'mlflow.db'}"
    exp_id = store.setup()
    exp = mlflow.get_experiment(exp_id)
    assert exp.name == "poetry-rnn" and exp.artifact_location == (user_repo / "mlartifacts").as_uri()
    assert (user_repo / "mlflow.db").is_file() and not (tmp_path / "mlflow.db").exists()


def test_the_experiment_is_marked_as_model_development_also_in_an_older_store(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    exp_id = store.setup()
    assert mlflow.get_experiment(exp_id).tags[store.KIND_TAG] == "custom_model_development"
    mlflow.MlflowClient().delete_experiment_tag(exp_id, store.KIND_TAG)  # as a store made before the tag
    assert store.setup() == exp_id
    assert mlflow.get_experiment(exp_id).tags[store.KIND_TAG] == "custom_model_development"


def test_runs_page_url_opens_the_model_training_runs_in_the_saved_view():
    url = view.runs_page_url("https://mlflow.lab.example/", "7")
    assert url == ("https://mlflow.lab.example/#/experiments/7/runs"
                   "?workflowType=machine_learning&viewStateShareKey=poetry-rnn-scores")


def saved_view(exp_id: str) -> dict:
    """The state of the saved view VIEW, as the UI reads it from the experiment's tag."""
    import json

    view = json.loads(mlflow.get_experiment(exp_id).tags["mlflow.sharedViewState.poetry-rnn-scores"])
    assert view["name"] == "poetry-rnn-scores" and isinstance(view["createdAt"], int)  # MLflow's saved-view envelope
    return json.loads(view["state"])


def test_the_saved_view_shows_one_row_per_pipeline_with_its_params_and_scores(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    exp_id = store.setup()
    view.save_runs_view(exp_id)
    state = saved_view(exp_id)
    assert state["selectedColumns"][:4] == ["params.`model.heads`", "params.`model.cell`", "params.`model.bottleneck`",
                                            "params.`chunk.window`"]
    assert state["selectedColumns"][4:6] == ["metrics.`attention.content_word_accuracy_pct`",
                                             "metrics.`baseline.content_word_accuracy_pct`"]
    assert state["columnOrder"] == state["selectedColumns"]  # params first, then the scores, as listed
    assert all(state["columnWidths"][c] > 6 * len(c.split("`")[1]) for c in state["selectedColumns"])  # whole names
    assert state["searchFilter"] == "tags.kind = 'pipeline'"
    assert state["orderByKey"] == "metrics.`attention.content_word_accuracy_pct`" and state["orderByAsc"] is False
    assert mlflow.search_runs([exp_id], state["searchFilter"]).empty  # a filter MLflow accepts


def test_mlflow_tracking_uri_overrides_the_embedded_store(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'team.db'}")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert store.tracking_uri().endswith("team.db")


def test_team_mode_is_a_tracking_server_whatever_set_the_uri(clean_env, monkeypatch, tmp_path):
    """A server URL is team mode; any store on this machine is kept like the repo's own, even once setup() has
    exported MLFLOW_TRACKING_URI (as mlflow.set_tracking_uri does)."""
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert not store.team_server()  # the repo's mlflow.db
    store.setup()  # exports MLFLOW_TRACKING_URI: still the local store
    assert os.environ["MLFLOW_TRACKING_URI"] == store.tracking_uri() and not store.team_server()
    assert store.team_server("http://tracking-host:5000") and store.team_server("https://mlflow.lab.example/")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    exp = mlflow.get_experiment(store.setup())  # a local store the user named: artifacts in the repo too
    assert not store.team_server() and exp.artifact_location == (tmp_path / "mlartifacts").as_uri()


def test_stage_run_tags_stage_commit_experiment_and_params_hash(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.setenv("DVC_EXP_NAME", "brisk-oboe")
    params = {"model.heads": 4, "seed": 1}
    with runs.stage_run("train_attention", params) as run:
        metrics.finish_stage("train_attention", {"best_val_cosine": 0.5, "nested": {"x": 2}, "winner": "a",
                                                  "parameters": 1234, "test": {"tokens": 99, "share": 0.25}},
                              headline={"epochs": {"attention": 3}}, setup=("parameters", "tokens"))
    r = mlflow.get_run(run.info.run_id)
    assert r.data.tags["stage"] == "train_attention" and r.data.tags["dvc_experiment"] == "brisk-oboe"
    assert r.data.tags["params_hash"] == runs.params_hash(params) and r.data.tags["git_commit"]
    assert r.info.run_name == "brisk-oboe/train_attention" and r.data.tags["pipeline"] == "brisk-oboe"
    # the setup's numbers are params, at any depth; strings are not metrics
    assert r.data.params == {"model.heads": "4", "seed": "1", "parameters": "1234", "test.tokens": "99"}
    assert r.data.metrics == {"best_val_cosine": 0.5, "nested.x": 2.0, "test.share": 0.25}
    assert json.loads((tmp_path / "stages/train_attention/details.json").read_text())["nested"] == {"x": 2}
    assert json.loads((tmp_path / "metrics/train_attention.json").read_text()) == {"epochs": {"attention": 3}}
    assert {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)} == {"details.json", "train_attention.json"}


def test_failed_stage_leaves_a_failed_run(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    with pytest.raises(RuntimeError):
        with runs.stage_run("chunk", {"seed": 1}) as run:
            raise RuntimeError("boom")
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_params_hash_is_stable_and_order_free():
    assert runs.params_hash({"a": 1, "b": 2}) == runs.params_hash({"b": 2, "a": 1})
    assert runs.params_hash({"a": 1}) != runs.params_hash({"a": 2})


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def project(clean_env, monkeypatch, tmp_path):
    """A store at tmp_path with the project's params.yaml, as the stages see it under DVC."""
    import shutil

    shutil.copy(os.path.join(ROOT, "params.yaml"), tmp_path / "params.yaml")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    return tmp_path


def run_stages(monkeypatch, key: str, stages, exp_name: str = "") -> dict[str, str]:
    """Run `stages` as one DVC execution `key` would; return their run ids."""
    monkeypatch.setattr(runs, "execution_key", lambda: key)
    monkeypatch.setenv("DVC_EXP_NAME", exp_name)
    ids = {}
    for stage in stages:
        with runs.stage_run(stage, runs._logged_params(stage)) as run:
            metrics.finish_stage(stage, {"x": 1.0})
        ids[stage] = run.info.run_id
    return ids


def parent_of(client, run_id: str):
    return client.get_run(client.get_run(run_id).data.tags["mlflow.parentRunId"])


def test_command_lines_of_dvc_are_recognised():
    assert runs._runs_dvc(["/venv/bin/python", "/venv/bin/dvc", "repro"])
    assert runs._runs_dvc(["dvc", "exp", "exec-run", "--infofile", "x"])
    assert runs._runs_dvc(["python3", "-m", "dvc", "repro"])
    assert not runs._runs_dvc(["/bin/sh", "-c", "python -m poetry_rnn.stages.chunk"])
    assert not runs._runs_dvc(["python", "-m", "pytest", "tests/test_dvc.py"])


def test_a_stage_run_by_hand_has_no_parent_run(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert runs.execution_key() is None  # pytest is not run by dvc
    with runs.stage_run("chunk", {"seed": 1}) as run:
        pass
    assert "mlflow.parentRunId" not in mlflow.get_run(run.info.run_id).data.tags


def test_stages_of_one_execution_share_a_parent_that_names_the_skipped_stages(project, monkeypatch):
    first = run_stages(monkeypatch, "100-1.0", runs.STAGES)
    second = run_stages(monkeypatch, "200-2.0", ["train_attention", "evaluate", "compare"], exp_name="heads8")
    client = mlflow.MlflowClient()
    parent = parent_of(client, first["chunk"])
    assert {parent_of(client, i).info.run_id for i in first.values()} == {parent.info.run_id}
    assert parent.data.tags["kind"] == "pipeline" and parent.info.run_name == "workspace"  # no git here
    assert parent.info.status == "FINISHED"
    assert all(parent.data.tags[f"stage.{s}"] == f"ran: {first[s]}" for s in runs.STAGES)

    sweep = parent_of(client, second["compare"])
    assert sweep.info.run_id != parent.info.run_id and sweep.info.run_name == "heads8"
    assert sweep.data.tags["dvc_experiment"] == "heads8" and sweep.info.status == "FINISHED"
    children = client.search_runs([sweep.info.experiment_id], f"tags.mlflow.parentRunId = '{sweep.info.run_id}'")
    assert len(children) == 3
    for stage in ("download_glove", "preprocess", "chunk", "train_baseline"):
        assert sweep.data.tags[f"stage.{stage}"] == f"{runs.SKIPPED}; outputs from run {first[stage]}"
    assert sweep.data.tags["stage.evaluate"] == f"ran: {second['evaluate']}"


def git_repo(folder) -> str:
    """Make `folder` a git repo with one commit; its commit id."""
    import subprocess

    for cmd in (["git", "init", "-q"], ["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q",
                                         "--allow-empty", "-m", "project"]):
        subprocess.run(cmd, cwd=folder, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True).stdout.strip()


def test_every_run_is_named_after_its_pipeline_and_stage(project, monkeypatch):
    assert runs.pipeline_name() == "workspace"  # no git: no commit to name
    short = git_repo(project)[:7]
    repro = run_stages(monkeypatch, "100-1.0", ["chunk", "train_baseline"])
    sweep = run_stages(monkeypatch, "200-2.0", ["train_attention"], exp_name="heads8")
    client = mlflow.MlflowClient()
    for ids, pipeline in ((repro, f"workspace@{short}"), (sweep, "heads8")):
        for stage, run_id in ids.items():
            run = client.get_run(run_id)
            assert run.info.run_name == f"{pipeline}/{stage}" and run.data.tags["pipeline"] == pipeline
            parent = parent_of(client, run_id)
            assert parent.info.run_name == pipeline and parent.data.tags["pipeline"] == pipeline


def test_parent_runs_carry_the_pipelines_params_and_headline_scores(project, monkeypatch):
    """One row per pipeline: its params, and the scores its evaluate stage put on it, in percent."""
    import yaml

    from poetry_rnn.params import flatten

    scores = {"attention": {"content_word_accuracy": 0.32672}, "reference.pca": {"test_cosine": 0.5}}
    monkeypatch.setattr(runs, "execution_key", lambda: "100-1.0")
    with runs.stage_run("evaluate", {}) as run:
        runs.log_to_pipeline(metrics.percent(scores))
    first = run.info.run_id
    with runs.stage_run("compare", {}):
        runs.log_to_pipeline(tags={"champion": "attention"})
    parent = parent_of(mlflow.MlflowClient(), first)
    # every param of params.yaml (and compare's) but tracking.*, which says what is logged, not what a stage computes
    every = {k for k in flatten(yaml.safe_load((project / "params.yaml").read_text())) if not k.startswith("tracking.")}
    assert set(parent.data.params) == every | {"models"}
    for stage in runs.STAGES:  # as each stage logs it
        child = {k: str(v) for k, v in runs._logged_params(stage).items()}
        assert child.items() <= parent.data.params.items(), stage
    assert parent.data.metrics == {"attention.content_word_accuracy_pct": pytest.approx(32.672),
                                   "reference.pca.test_cosine_pct": pytest.approx(50.0)}
    assert parent.data.tags["champion"] == "attention"
    monkeypatch.setattr(runs, "execution_key", lambda: None)
    with runs.stage_run("evaluate", {}) as run:  # by hand: no pipeline run, and no error
        runs.log_to_pipeline({"x_pct": 1.0})
    assert "mlflow.parentRunId" not in mlflow.get_run(run.info.run_id).data.tags
    assert "x_pct" not in parent_of(mlflow.MlflowClient(), first).data.metrics


def test_a_failed_stage_fails_its_parent(project, monkeypatch):
    monkeypatch.setattr(runs, "execution_key", lambda: "300-3.0")
    with pytest.raises(RuntimeError):
        with runs.stage_run("chunk", {"seed": 1}) as run:
            raise RuntimeError("boom")
    parent = parent_of(mlflow.MlflowClient(), run.info.run_id)
    assert parent.info.status == "FAILED" and parent.data.tags["stage.chunk"] == f"failed: {run.info.run_id}"
    assert parent.data.tags["stage.compare"] == "skipped"  # no earlier compare run to point at


def test_a_resumed_run_moves_under_the_execution_that_finishes_it(project, monkeypatch):
    monkeypatch.setattr(runs, "execution_key", lambda: "400-4.0")
    with runs.stage_run("train_baseline", {"seed": 1}) as run:
        pass
    client = mlflow.MlflowClient()
    old = parent_of(client, run.info.run_id).info.run_id
    client.update_run(old, status="RUNNING")  # as a killed execution leaves it
    monkeypatch.setattr(runs, "execution_key", lambda: "500-5.0")
    with runs.stage_run("train_baseline", {"seed": 1}, run_id=run.info.run_id):
        pass
    new = parent_of(client, run.info.run_id)
    assert new.info.run_id != old and new.data.tags["stage.train_baseline"] == f"ran: {run.info.run_id}"
    assert client.get_run(old).info.status == "KILLED"


def test_stage_params_name_only_what_each_stage_reads(project):
    from poetry_rnn.params import load_params, stage_params

    p = load_params()
    baseline, attention = stage_params("train_baseline", p), stage_params("train_attention", p)
    assert "model.heads" not in baseline and "model.baseline_hidden" not in attention
    assert stage_params("evaluate", p) == {"seed": p.seed, **attention, "model.baseline_hidden": p.model.baseline_hidden}
    assert "seed" not in baseline  # train.seed: retrain on the same split
    assert baseline["train.seed"] == p.train.seed and attention["model.heads"] == p.model.heads
    assert stage_params("chunk", p) == {"seed": p.seed, "chunk.window": p.chunk.window,
                                        "chunk.stride": p.chunk.stride, "chunk.split": p.chunk.split}
    assert runs._logged_params("chunk") == stage_params("chunk", p)  # what a skipped stage's lookup hashes


def test_concurrent_first_use_creates_the_store_once(clean_env, tmp_path):
    import subprocess
    import sys

    code = "from poetry_rnn.services import store; print(store.setup())"
    env = {**os.environ, "DVC_ROOT": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1


def test_log_epochs_logs_each_epoch_once_across_a_resume(clean_env, monkeypatch, tmp_path):
    """A run killed after epoch 3's checkpoint but before its report resumes with the checkpoint's history:
    epoch 3 is logged then, epochs 1-2 are not logged again."""
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    rows = [{"epoch": e, "train_loss": 1.0 / e, "val_cosine": 0.1 * e, "window": 10} for e in range(1, 5)]
    with runs.stage_run("train_baseline", {"seed": 1}) as run:
        metrics.log_setup(run.info.run_id, {"window": 10, "val_sample_windows": 3})
        metrics.log_epochs(run.info.run_id, rows[:2], constants=("window",))  # reported before the kill
    with runs.stage_run("train_baseline", {"seed": 1}, run_id=run.info.run_id):
        metrics.log_setup(run.info.run_id, {"window": 10, "val_sample_windows": 4})  # as after a code change
        metrics.log_epochs(run.info.run_id, rows[:3], constants=("window",))  # catches up with its checkpoint ...
        metrics.log_epochs(run.info.run_id, rows[3:], constants=("window",))  # ... and goes on
    client = mlflow.MlflowClient()
    history = client.get_metric_history(run.info.run_id, "val_cosine")
    assert sorted(m.step for m in history) == [1, 2, 3, 4]
    got = client.get_run(run.info.run_id).data
    assert set(got.metrics) == {"train_loss", "val_cosine"}  # the constant window is no metric ...
    assert got.params == {"seed": "1", "window": "10", "val_sample_windows": "3"}  # ... but a param, kept as first logged


def files_under(folder) -> dict:
    """Every file under the folder, with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_copied_repo_logs_its_artifacts_inside_itself(clean_env, monkeypatch, tmp_path):
    """A repo copied with its mlflow.db after a run logged artifacts: in the copy, a new run and the copied run
    resumed (as an interrupted training resumes) log under the copy; the original's mlartifacts gets nothing."""
    import shutil
    import subprocess
    import sys

    original, copy = tmp_path / "original", tmp_path / "copy"
    original.mkdir()
    monkeypatch.setenv("DVC_ROOT", str(original))
    monkeypatch.chdir(original)
    with runs.stage_run("chunk", {"seed": 1}) as first:
        metrics.finish_stage("chunk", {"x": 1.0})
    before = files_under(original / "mlartifacts")
    assert before  # the details file
    shutil.copytree(original, copy)

    # A new process in the copy, as a stage DVC runs there (MLflow caches a run's artifact location in-process).
    code = ("import sys; from poetry_rnn.services import metrics, runs\n"
            "for run_id, x in ((sys.argv[1], 3.0), (None, 2.0)):\n"
            "    with runs.stage_run('chunk', {'seed': 2}, run_id=run_id) as run:\n"
            "        metrics.finish_stage('chunk', {'x': x})\n"
            "    print(run.info.run_id)")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    ids = subprocess.run([sys.executable, "-c", code, first.info.run_id], cwd=copy, env={**env, "DVC_ROOT": str(copy)},
                         capture_output=True, text=True, check=True).stdout.split()

    assert files_under(original / "mlartifacts") == before
    inside = (copy / "mlartifacts").as_uri()
    client = mlflow.MlflowClient(f"sqlite:///{copy / 'mlflow.db'}")
    assert client.get_experiment(first.info.experiment_id).artifact_location == inside
    for run_id in ids:
        assert client.get_run(run_id).info.artifact_uri.startswith(inside + "/")
        assert [f.path for f in client.list_artifacts(run_id)] == ["details.json"]
    assert len(files_under(copy / "mlartifacts")) == len(before) + 1  # the new run's; the resumed one's rewritten


def glove_project(folder):
    """params.yaml with a plain 16-d GloVe file beside it: all that download_glove, the smallest stage, reads."""
    import yaml

    from conftest import glove_lines

    folder.mkdir()
    (folder / "glove.16d.txt").write_text("\n".join(glove_lines(dim=16)) + "\n")
    params = yaml.safe_load(open(os.path.join(ROOT, "params.yaml")))
    params["glove"].update(url="glove.16d.txt", dim=16)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    return folder


def run_stage(folder, uri: str):
    """download_glove as DVC runs it, logging to `uri`; its exit status, stderr and seconds taken."""
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_HTTP_", "DVC_"))}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "poetry_rnn.stages.download_glove"], cwd=folder,
                          env={**env, "MLFLOW_TRACKING_URI": uri}, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr, time.monotonic() - start


def test_a_stage_fails_fast_and_clearly_when_the_tracking_server_does_not_answer(clean_env, tmp_path):
    from poetry_rnn.services.team import free_port

    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    status, stderr, seconds = run_stage(glove_project(tmp_path / "project"), uri)
    assert status == 2 and "Traceback" not in stderr, stderr
    assert stderr.startswith(f"error: the MLflow tracking server {uri} (MLFLOW_TRACKING_URI) does not answer"), stderr
    assert "unset it" in stderr and len(stderr.strip().splitlines()) == 1
    assert seconds < 30
    assert not (tmp_path / "project/data").exists()  # failed before the stage's work


def test_a_stage_logs_to_a_tracking_server_that_answers(clean_env, tmp_path):
    from poetry_rnn.services import team

    server = team.MlflowServer(f"sqlite:///{tmp_path / 'server.db'}", str(tmp_path / "artifacts"), team.free_port(),
                               tmp_path / "server.log", team.server_env())
    server.start()
    try:
        status, stderr, _ = run_stage(glove_project(tmp_path / "project"), server.url)
    finally:
        server.stop()
    assert status == 0, stderr
    assert not (tmp_path / "project/mlflow.db").exists()
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'server.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("poetry-rnn").experiment_id])
    assert run.data.tags["stage"] == "download_glove" and run.info.status == "FINISHED"
    assert any((tmp_path / "artifacts").rglob("details.json"))  # logged through the server's artifact proxy


def test_mlflow_gives_up_on_a_server_that_went_away_within_seconds(clean_env, monkeypatch):
    """After the check, a server that stops answering fails MLflow's next request in seconds, not minutes."""
    import time

    from mlflow.exceptions import MlflowException

    from poetry_rnn.services.team import free_port

    for name in store.HTTP_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "77")  # the user's own setting
    store.mlflow_env()
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"
    client = mlflow.MlflowClient(f"http://127.0.0.1:{free_port()}")
    start = time.monotonic()
    with pytest.raises(MlflowException):
        client.get_experiment_by_name(store.EXPERIMENT)
    assert time.monotonic() - start < 20  # MLflow's own defaults retry for 4.5 minutes


@pytest.mark.parametrize("nproc", [1, 2])
def test_a_training_stage_checks_the_tracking_server_before_its_work(clean_env, tmp_path, nproc):
    """Before reading GloVe and the chunks (absent here: a stage that read them first would fail on them), and
    before starting data-parallel workers, whose launcher would wrap the error in its own report."""
    import time

    import yaml

    from poetry_rnn.services.team import free_port

    folder = glove_project(tmp_path / "project")
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["train"]["nproc"] = nproc
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    uri = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_HTTP_", "DVC_"))}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "poetry_rnn.stages.train_baseline"], cwd=folder,
                          env={**env, "MLFLOW_TRACKING_URI": uri}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"error: the MLflow tracking server {uri} (MLFLOW_TRACKING_URI) does not answer")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # no launcher report
    assert time.monotonic() - start < 30


def test_dvc_repro_stops_at_the_first_stage_when_the_tracking_server_does_not_answer(clean_env, tmp_path):
    import time

    from http_server import serve_directory
    from poetry_rnn.services.team import free_port
    from project import make_inputs, make_project

    uri = f"http://127.0.0.1:{free_port()}"
    make_inputs(tmp_path / "served")
    with serve_directory(tmp_path / "served") as url:
        project = make_project(tmp_path / "project", url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_HTTP_", "DVC_"))}
        env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"
        start = time.monotonic()
        proc = subprocess.run(["dvc", "repro"], cwd=project, env={**env, "MLFLOW_TRACKING_URI": uri},
                              capture_output=True, text=True, timeout=300)
        seconds = time.monotonic() - start
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out, out
    assert f"error: the MLflow tracking server {uri} (MLFLOW_TRACKING_URI) does not answer" in out, out
    assert "failed to reproduce 'download_glove'" in out, out  # the first stage that logs, before its download
    assert not (project / "data/glove").exists() and not (project / "data/downloads").exists()
    assert seconds < 30, out
