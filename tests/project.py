"""A throwaway copy of this project in a git repo, with tiny inputs served over HTTP, and the commands and
MLflow look-ups the end-to-end tests share."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import yaml

from conftest import WORDS, glove_lines, poem_text
from poetry_rnn.inputs.chunking import make_chunks, save_chunks, save_vocabulary, training_vocabulary
from poetry_rnn.inputs.glove import convert_glove
from poetry_rnn.services import runs

ROOT = Path(__file__).resolve().parents[1]
STAGES = list(runs.STAGES)  # every stage but the bookkeeping one, in order, one training stage per architecture


RUN_TIMEOUT = 1800  # s: a command of the tiny projects takes minutes at most; a hung one fails its test, not the suite


def run(cmd: list[str], cwd: Path, *, timeout: float = RUN_TIMEOUT, **extra_env: str) -> str:
    """Run a command with the test's Python environment first on PATH (and `extra_env`, e.g. a team server's
    MLFLOW_TRACKING_URI); fail with its output, or after `timeout` seconds with what it printed so far."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DVC_ROOT", None)
    env.update(extra_env)
    # Its own process group, so that a timeout kills what it started too: a child left holding the pipes (a DVC
    # queue worker, a stage) would otherwise keep communicate() waiting after the command itself is killed.
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise AssertionError(f"{' '.join(cmd)} did not finish in {timeout:.0f} s:\n{stdout}{stderr}") from None
    out = stdout + stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{out}"
    return out


def stages_ran(output: str) -> list[str]:
    """The stages DVC says it ran, in order."""
    return re.findall(r"Running stage '(\w+)'", output)


# Rarer words beside the fixture's common ones: more than 100 word types, so that content words exist.
RARE = [f"word{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(150)]
GLOVE_WORDS = [*WORDS, *RARE]


def make_inputs(folder: Path) -> None:
    """A zipped 16-d GloVe file and a zip of one-poem-per-file .txt with front matter."""
    folder.mkdir()
    with zipfile.ZipFile(folder / "glove.tiny.zip", "w") as z:
        z.writestr("glove.tiny.16d.txt", "\n".join(glove_lines(GLOVE_WORDS, dim=16)) + "\n")
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(folder / "poems.zip", "w") as z:
        for i in range(30):
            text = poem_text(rng, lines=int(rng.integers(4, 14))) + "\n" + " ".join(rng.choice(RARE, size=12))
            z.writestr(f"poems/poem-{i:02d}.txt", f"---\ntitle: Poem {i}\nauthor: Test\n---\n{text}\n")


def make_project(dest: Path, base_url: str) -> Path:
    """The project's files (tracked, and new ones git does not ignore) in a fresh git repo, with params pointing
    at the served inputs."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["glove"].update(url=f"{base_url}/glove.tiny.zip", file="glove.tiny.16d.txt", dim=16)
    params["poems"]["source"] = f"{base_url}/poems.zip"
    params["chunk"].update(window=50, stride=40)  # long enough for a curriculum phase below it
    params["model"].update(hidden=16, bottleneck=4, heads=2, line=25)  # two lines of 25 tokens, 2 numbers each
    params["train"].update(epochs=3, batch_size=8, curriculum=[{"window": 20, "epochs": 1}])
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "t@example.com"],
                ["git", "config", "user.name", "Test"], ["git", "add", "-A"], ["git", "commit", "-qm", "project"]):
        subprocess.run(cmd, cwd=dest, check=True)
    return dest


def mlflow_runs(project: Path):
    """The client, the experiment and every run of the project's store."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    exp = client.get_experiment_by_name("poetry-rnn")
    return client, exp, client.search_runs([exp.experiment_id], max_results=1000)


def stage_runs(runs: list) -> list:
    """The runs of stages (children), without the pipeline parents."""
    return [r for r in runs if "stage" in r.data.tags]


def pipeline_runs(runs: list) -> list:
    """The parent runs, one per pipeline execution."""
    return [r for r in runs if r.data.tags.get("kind") == "pipeline"]


def children(runs: list, parent) -> list:
    """The stage runs under one parent run."""
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]


def make_training_project(dest: Path, model: dict | None = None, **train) -> Path:
    """params.yaml (with these train params, and model params over the tiny ones), a GloVe folder and chunks: what
    a training stage needs."""
    dest.mkdir()
    src = dest / "glove.txt"
    src.write_text("\n".join(glove_lines(dim=16)) + "\n")
    convert_glove(src, "", 16, dest / "data/glove")
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("val", 10)):
        poems = [rng.integers(0, 40, size=rng.integers(20, 120)).astype(np.int32) for _ in range(n)]
        (dest / "data/chunks").mkdir(parents=True, exist_ok=True)
        chunks = make_chunks(poems, list(range(n)), 20, 16)
        save_chunks(chunks, dest / f"data/chunks/{split}.npz")
        if split == "train":
            save_vocabulary(*training_vocabulary(chunks), dest / "data/chunks/vocabulary.npz")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["glove"]["dim"] = 16
    params["chunk"].update(window=20, stride=16)
    # 4 lines of 5 tokens, a number each
    params["model"].update(hidden=32, bottleneck=4, heads=2, line=5, **(model or {}))
    params["train"].update(curriculum=[{"window": 10, "epochs": 1}], **train)
    params["train"]["teacher_forcing"].update(start=1.0, end=0.2)
    (dest / "params.yaml").write_text(yaml.safe_dump(params))
    return dest


@contextlib.contextmanager
def team_stack(bucket: str = "poetry-rnn") -> Iterator:
    """The team services (poetry_rnn.team.local_team) with a throwaway S3 identity in the environment, or a skip
    saying which one cannot start here; MLFLOW_S3_ENDPOINT_URL is set for DVC and boto3 in the test."""
    from poetry_rnn.services import team
    from poetry_rnn.errors import PoetryRnnError

    # Not under tmp_path: as root, PostgreSQL runs as the postgres user, who cannot enter pytest's private folders.
    folder = Path(tempfile.mkdtemp(prefix="poetry-rnn-team-"))
    folder.chmod(0o755)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "team-member")  # the test's own throwaway S3 identity
        env.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-anywhere-else")
        services = team.local_team(folder, bucket)
        try:
            started = services.__enter__()
        except PoetryRnnError as err:
            shutil.rmtree(folder, ignore_errors=True)
            pytest.skip(f"the team services cannot start on this machine: {err}")
        env.setenv("MLFLOW_S3_ENDPOINT_URL", started.s3_endpoint)
        try:
            yield started
        finally:
            started.s3.stop(grace=0)  # its data is deleted next: no need for SeaweedFS's 20 s graceful stop
            services.__exit__(None, None, None)
            shutil.rmtree(folder, ignore_errors=True)
