"""The one way services are started and stopped (poetry_rnn.services.team.ManagedProcess): real processes in their
own group, ready when a check says so, stopped as a whole group with SIGKILL after the grace period; and
PostgreSQL, the service that needs its own stop signal, stopped cleanly and started again on the same data."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.services import team

# A group leader and one child of it, each writing its pid to a file once its signal handling is set up; each
# exits on its own after a minute, so that a broken stop() fails its test instead of hanging it.
FAMILY = """
import os, signal, subprocess, sys, time
folder, ignore = sys.argv[1], sys.argv[2] == "ignore"
me = "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN if sys.argv[2] == 'ignore' else signal.SIG_DFL)"
if ignore:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", me + "; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)",
                          os.path.join(folder, "child"), sys.argv[2]])
while not os.path.exists(os.path.join(folder, "child")):
    time.sleep(0.05)
print("leader up", flush=True)
open(os.path.join(folder, "leader"), "w").write(str(os.getpid()))
time.sleep(60)
"""


def running(pid: int) -> bool:
    """The process exists and is not a zombie (this container's init may never reap orphans)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def family(tmp_path: Path, ignore_term: bool) -> team.ManagedProcess:
    ready = lambda: (tmp_path / "leader").exists()  # noqa: E731
    return team.ManagedProcess([sys.executable, "-c", FAMILY, str(tmp_path), "ignore" if ignore_term else "obey"],
                               tmp_path / "family.log", ready, "the family")


def pids(tmp_path: Path) -> list[int]:
    return [int((tmp_path / name).read_text()) for name in ("leader", "child")]


def test_stop_terms_the_whole_group_at_once(tmp_path):
    process = family(tmp_path, ignore_term=False)
    with process:
        members = pids(tmp_path)
        assert all(running(pid) for pid in members)
        start = time.monotonic()
    assert time.monotonic() - start < 10  # the child got SIGTERM too: no wait for the 20 s grace and SIGKILL
    assert not any(running(pid) for pid in members)
    assert "leader up" in (tmp_path / "family.log").read_text()


def test_stop_kills_a_group_that_ignores_sigterm_after_the_grace_period(tmp_path):
    process = family(tmp_path, ignore_term=True)
    process.start(timeout=60)
    members = pids(tmp_path)
    start = time.monotonic()
    process.stop(grace=2)
    assert 2 <= time.monotonic() - start < 30  # SIGKILLed after the grace period, not gone on their own
    assert not any(running(pid) for pid in members), "a process of the group outlived stop()"
    process.stop()  # stopped already: nothing to do


def test_stop_takes_a_process_that_already_exited(tmp_path):
    process = team.ManagedProcess([sys.executable, "-c", "print('ready')"], tmp_path / "quick.log",
                                  lambda: "ready" in (tmp_path / "quick.log").read_text(), "a quick one")
    process.start(timeout=60)
    process.proc.wait(timeout=30)  # exited and reaped: its group is gone
    process.stop(grace=1)
    assert process.proc is None


def test_a_process_that_exits_before_it_is_ready_fails_with_its_log(tmp_path):
    log = tmp_path / "bad.log"
    log.write_text("an earlier run's line\n")  # appended to, not replaced
    cmd = [sys.executable, "-c", "import sys; print('no such option: --frobnicate', flush=True); sys.exit(3)"]
    with pytest.raises(PoetryRnnError) as err:
        team.ManagedProcess(cmd, log, lambda: False, "the bad server").start(timeout=60)
    assert str(err.value).startswith("the bad server exited with status 3:\n")
    assert "an earlier run's line\nno such option: --frobnicate" in str(err.value)


def test_a_process_never_ready_fails_after_the_timeout_and_is_stopped(tmp_path):
    cmd = [sys.executable, "-c", FAMILY, str(tmp_path), "ignore"]
    process = team.ManagedProcess(cmd, tmp_path / "slow.log", lambda: False, "the slow server")
    with pytest.raises(PoetryRnnError) as err:
        process.start(timeout=3)
    assert str(err.value).startswith("the slow server was not ready within 3 s:\n")
    assert "leader up" in str(err.value)  # the log's tail
    assert not any(running(pid) for pid in pids(tmp_path))  # what it started, stopped (SIGKILL: it ignores SIGTERM)


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL, or a skip saying why it cannot start here."""
    pytest.importorskip("psycopg")
    # Not under tmp_path: as root, PostgreSQL runs as the postgres user, who cannot enter pytest's private folders.
    folder = Path(tempfile.mkdtemp(prefix="poetry-rnn-pg-"))
    folder.chmod(0o755)
    pg = team.Postgres(folder / "postgres", team.free_port())
    try:
        pg.start()
    except PoetryRnnError as err:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL cannot start on this machine: {err}")
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_stops_at_once_under_a_client_and_starts_again_cleanly_on_its_data(postgres):
    import psycopg

    dsn = f"host=127.0.0.1 port={postgres.port} user=postgres dbname=mlflow"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (1)")
    client = psycopg.connect(dsn)  # connected through the stop, as the MLflow server's pool is
    client.execute("SELECT 1")
    leader = postgres.process.proc.pid
    start = time.monotonic()
    postgres.stop()
    assert time.monotonic() - start < 10  # not a smart shutdown waiting on the client until the SIGKILL
    assert not running(leader)
    client.close()
    postgres.start()  # same port, same data
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT x FROM kept").fetchall() == [(1,)]
    log = (postgres.folder / "postgres.log").read_text()
    assert "database system is shut down" in log and "not properly shut down" not in log, log[-3000:]


def test_the_tests_command_runner_fails_a_hung_command_and_kills_what_it_started():
    """tests/project.py run(): a command past its timeout fails its test in time, even when a child it started
    holds the output pipes (as a DVC queue worker can), and leaves no process of its group behind."""
    from project import run

    with tempfile.TemporaryDirectory() as tmp:
        pid_file = Path(tmp) / "child"
        started = time.monotonic()
        with pytest.raises(AssertionError, match="(?s)did not finish in 2 s.*up"):
            run(["bash", "-c", f"echo up; sleep 60 & echo $! > {pid_file}; sleep 60"], Path(tmp), timeout=2)
        assert time.monotonic() - started < 20
        child = int(pid_file.read_text())
        while Path(f"/proc/{child}").exists() and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]:
            assert time.monotonic() - started < 20, "the command's child outlived it"
            time.sleep(0.1)
        assert "up" in run(["bash", "-c", "echo up"], Path(tmp))
