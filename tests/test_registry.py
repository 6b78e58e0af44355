"""Only MLflow's "does not exist" means "no model": a registry that fails (a server error, a refused login), behind a
real MLflow server reached through a proxy that fails its registry requests, fails the compare stage and the CLI's
champion look-up with one message naming the server, instead of leaving a stale `champion` or reporting no model."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from http_server import proxy
from poetry_rnn import cli
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.services import registry, runs, team
from test_cli import project, register  # noqa: F401  (fixture)

GET_MODEL = "/api/2.0/mlflow/registered-models/get"  # what registry.registered_model asks


@pytest.fixture
def server(tmp_path):
    """A real `mlflow server` over its own store, and a proxy to it whose failing paths a test sets:
    (the server's URL, the proxy's URL, {path prefix: status})."""
    mlflow_server = team.MlflowServer(f"sqlite:///{tmp_path / 'server.db'}", str(tmp_path / "artifacts"),
                                      team.free_port(), tmp_path / "server.log", team.server_env())
    mlflow_server.start()
    failing: dict[str, int] = {}
    try:
        with proxy(mlflow_server.url, failing) as url:
            yield mlflow_server.url, url, failing
    finally:
        mlflow_server.stop()


def champions(client) -> set[str]:
    """The registered models that carry `champion`."""
    registered = {m.name for m in client.search_registered_models()}
    return {m for m in cli.MODELS if m in registered and registry.CHAMPION in client.get_registered_model(m).aliases}


def test_a_registry_that_fails_fails_the_compare_stage_instead_of_keeping_a_stale_champion(project, server,  # noqa: F811
                                                                                           monkeypatch):
    import mlflow

    direct, proxied, failing = server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", direct)
    register("poetry-rnn-baseline", heads=0)
    register("poetry-rnn-attention", heads=2)
    registry.crown_champion("baseline", {"baseline": None, "attention": None})  # an earlier compare's winner
    client = mlflow.MlflowClient(direct)
    assert champions(client) == {"poetry-rnn-baseline"}

    failing[GET_MODEL] = 403  # a login proxy that refuses the registry
    monkeypatch.setenv("MLFLOW_TRACKING_URI", proxied)
    with pytest.raises(PoetryRnnError) as err:
        with runs.stage_run("compare", {}) as run:  # as the compare stage runs it
            registry.crown_champion("attention", {"baseline": None, "attention": None})
    message = str(err.value)
    assert message.startswith(f"logging to MLflow at {proxied} failed: ") and "403" in message, message
    assert "rerun (`dvc repro`)" in message and "\n" not in message
    assert client.get_run(run.info.run_id).info.status == "FAILED"

    failing.clear()  # the registry answers again: the rerun moves the alias
    with runs.stage_run("compare", {}):
        registry.crown_champion("attention", {"baseline": None, "attention": None})
    assert champions(client) == {"poetry-rnn-attention"}


def test_the_champion_look_up_tells_a_server_error_from_no_champion(project, server, monkeypatch):  # noqa: F811
    _, proxied, failing = server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", proxied)
    result = CliRunner().invoke(cli.main, ["reconstruct", "the sea"])  # nothing registered: "does not exist"
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no registered model carries the alias 'champion'"), result.stderr

    failing[GET_MODEL] = 500  # the server's database fails
    result = CliRunner().invoke(cli.main, ["reconstruct", "the sea"])
    assert result.exit_code == 2 and "no registered model carries" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"error: looking up the alias 'champion' in MLflow at {proxied} failed: "
                                    f"a request to {GET_MODEL} failed: too many 500 error responses"), result.stderr
    assert "run the command again" in result.stderr and len(result.stderr.strip().splitlines()) == 1
