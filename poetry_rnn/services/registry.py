"""The model registry: each architecture's registered model, and the alias `champion` on the better one."""

from __future__ import annotations

from poetry_rnn.services.store import not_found

CHAMPION = "champion"  # registry alias on the better architecture


def registered_name(model: str) -> str:
    """The registry name of an architecture's final model: poetry-rnn-baseline, poetry-rnn-attention."""
    return f"poetry-rnn-{model}"


def registered_model(client, name: str):
    """The registered model `name` (with its aliases), None when the registry has no model of that name; any other
    failure of the registry (a server error, a refused login) raises."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as err:
        if not_found(err):
            return None
        raise


def carrying(client, names: tuple[str, ...], alias: str) -> str | None:
    """The first of the registered models `names` on which `alias` is set; None when none carries it."""
    for name in names:
        model = registered_model(client, name)
        if model is not None and alias in model.aliases:
            return name
    return None


def crown_champion(winner: str, run_ids: dict[str, str | None]) -> None:
    """Point `champion` at the winner's version from its training run `run_ids[winner]` (else its newest
    version) and take it off the others, so `models:/poetry-rnn-<winner>@champion` is the better model. A registry
    that fails raises (the stage fails), so a stale alias never stays on the loser unnoticed."""
    import sys

    import mlflow

    client = mlflow.MlflowClient()
    for model, run_id in run_ids.items():
        name = registered_name(model)
        registered = registered_model(client, name)
        if registered is None:
            versions, aliases = [], {}
        else:
            versions, aliases = client.search_model_versions(f"name = '{name}'"), registered.aliases
        if model != winner:
            if CHAMPION in aliases:
                client.delete_registered_model_alias(name, CHAMPION)
            continue
        ours = [v for v in versions if v.run_id == run_id] or versions
        if not ours:  # e.g. training restored from DVC's cache into an empty store: nothing was registered
            print(f"no version of {name} in the registry; alias {CHAMPION} not set", file=sys.stderr)
            continue
        client.set_registered_model_alias(name, CHAMPION, str(max(int(v.version) for v in ours)))
