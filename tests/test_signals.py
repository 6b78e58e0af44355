"""What the `poetry-rnn` command starts ends with it: `ui`, `server` and `local-team` stop every process they started,
workers included, and free the port, on SIGTERM and SIGHUP as on Ctrl-C; and a stage stopped by SIGTERM leaves its
MLflow run KILLED, as its pipeline's parent run says. Each signal goes to the command's own process only, not to its
group (as `kill PID` or a supervisor sends it; a closed terminal's SIGHUP reaches the foreground process)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from poetry_rnn.services import team

PYTHON_CLI = [sys.executable, "-m", "poetry_rnn.cli"]


def running(pid: int) -> bool:
    """The process exists and is not a zombie (this container's init may never reap orphans)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port: a new server could bind it."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT leftovers do not count
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for(check, seconds: float, what) -> None:
    """Wait until check() holds; fail saying `what` (a string, or a function giving it then) did not happen."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what() if callable(what) else what} within {seconds} s")
        time.sleep(0.1)


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", **extra}


def stop_and_check(cli: subprocess.Popen, sig: int, port: int, log: Path, seconds: float = 10) -> None:
    """Send `sig` to the command alone; every process it started must be gone, and the port free, within
    `seconds`. Whatever outlives it is killed afterwards, so a failing test leaves nothing behind."""
    family = [p.pid for p in psutil.Process(cli.pid).children(recursive=True)]
    assert family, "the command started no process"
    try:
        os.kill(cli.pid, sig)
        status = cli.wait(timeout=seconds + 30)
        wait_for(lambda: not any(running(pid) for pid in family), seconds,
                 lambda: f"processes {[pid for pid in family if running(pid)]} outlived the command "
                         f"({log.read_text()[-2000:]})")
        wait_for(lambda: port_free(port), 5, f"port {port} was not freed")
        assert status == (130 if sig == signal.SIGINT else 128 + sig), log.read_text()[-2000:]
    finally:
        for pid in family:
            if running(pid):
                psutil.Process(pid).kill()
        if cli.poll() is None:
            cli.kill()


def default_sigint() -> None:
    """SIGINT as in a terminal: a test run in the background of a shell inherits it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], cwd: Path, log: Path, **env: str) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(PYTHON_CLI + args, cwd=cwd, env=environment(**env), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, preexec_fn=default_sigint)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_ui_stops_its_mlflow_server_and_workers_and_frees_the_port(tmp_path, sig):
    subprocess.run([sys.executable, "-c", "from poetry_rnn.services import store; store.setup()"], cwd=tmp_path,
                   env=environment(), check=True)  # the repo's store, as a pipeline leaves it
    port, log = team.free_port(), tmp_path / "ui.log"
    cli = start(["ui", "--port", str(port)], tmp_path, log)
    wait_for(team.healthy(f"http://127.0.0.1:{port}"), 90, f"the UI did not answer ({log})")
    stop_and_check(cli, sig, port, log)


def test_server_stops_its_workers_and_frees_the_port_on_sigterm(tmp_path):
    port, log = team.free_port(), tmp_path / "server.log"
    cli = start(["server", "--backend-store-uri", f"sqlite:///{tmp_path / 'team.db'}", "--artifacts-destination",
                 str(tmp_path / "artifacts"), "--port", str(port)], tmp_path, log)
    wait_for(team.healthy(f"http://127.0.0.1:{port}"), 90, f"the server did not answer ({log})")
    stop_and_check(cli, signal.SIGTERM, port, log)


def test_local_team_stops_postgres_s3_and_the_mlflow_server_on_sigterm():
    pytest.importorskip("psycopg")
    try:
        team.postgres_bin()
    except Exception as err:  # noqa: BLE001 - the reason is the skip's
        pytest.skip(str(err))
    if not (shutil.which("weed") or (Path(sys.executable).parent / "weed").is_file()):
        pytest.skip("SeaweedFS's weed is not installed")
    # Not under tmp_path: as root, PostgreSQL runs as the postgres user, who cannot enter pytest's private folders.
    folder = Path(tempfile.mkdtemp(prefix="poetry-rnn-signals-"))
    folder.chmod(0o755)
    port, log = team.free_port(), folder / "local-team.log"
    try:
        cli = start(["local-team", str(folder / "services"), "--port", str(port)], folder, log,
                    AWS_ACCESS_KEY_ID="team-member", AWS_SECRET_ACCESS_KEY="not-a-secret-anywhere-else")
        wait_for(lambda: "Ctrl-C stops them." in log.read_text() or cli.poll() is not None, 180, "local-team started")
        if cli.poll() is not None:
            pytest.skip(f"the team services cannot start on this machine: {log.read_text()[-2000:]}")
        # SeaweedFS takes its 20 s grace to stop; the MLflow server, stopped first, frees the port at once
        stop_and_check(cli, signal.SIGTERM, port, log, seconds=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_stage_stopped_by_sigterm_leaves_its_run_killed_and_its_pipeline_says_so(tmp_path):
    from http_server import Knobs, serve_directory
    from project import make_inputs, make_project, mlflow_runs, pipeline_runs

    make_inputs(tmp_path / "served")
    knobs = Knobs(hold=threading.Event())  # the GloVe download stalls: the stage is at work when stopped
    with serve_directory(tmp_path / "served", knobs) as url:
        project = make_project(tmp_path / "project", url)
        dvc = subprocess.Popen(["dvc", "repro", "download_glove"], cwd=project, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: knobs.requests or dvc.poll() is not None, 120, "the stage asked for GloVe")
            assert dvc.poll() is None, dvc.stdout.read()
            (stage,) = [p for p in psutil.Process(dvc.pid).children(recursive=True)
                        if "poetry_rnn.stages.download_glove" in p.cmdline()]
            os.kill(stage.pid, signal.SIGTERM)
            out = dvc.communicate(timeout=120)[0]
        finally:
            knobs.hold.set()
            if dvc.poll() is None:
                dvc.kill()
    assert dvc.returncode != 0 and "stopped by SIGTERM" in out, out
    _, _, found = mlflow_runs(project)
    (parent,) = pipeline_runs(found)
    (run,) = [r for r in found if r.data.tags.get("stage") == "download_glove"]
    assert run.info.status == "KILLED"
    assert parent.info.status == "KILLED" and parent.data.tags["stage.download_glove"] == f"killed: {run.info.run_id}"
