"""`poetry-rnn`: the MLflow UI over the project's store, recent runs as a table, seed groups with their spread,
and reconstruct a text with a registered model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from poetry_rnn.services import registry, store, view
from poetry_rnn.errors import PoetryRnnError, entry_point
from poetry_rnn.architectures import ARCHITECTURES
from poetry_rnn.paths import GLOVE

ARCHITECTURE_NAMES = tuple(reversed(ARCHITECTURES))  # attention first
MODELS = tuple(registry.registered_name(m) for m in ARCHITECTURE_NAMES)
RUN_PARAMS = ("model.heads", "model.cell", "model.bottleneck")
RUN_METRICS = ("content_word_accuracy_pct", "nearest_word_accuracy_pct", "test_cosine_pct", "best_val_cosine")


def require_store() -> str:
    """The tracking URI, refusing an embedded store that does not exist yet or a server that does not answer."""
    uri = store.tracking_uri()
    store.check_server(uri)
    db = store.sqlite_file(uri)
    if db is not None and not db.is_file():
        raise PoetryRnnError(f"no MLflow store at {db}: run the pipeline first (`dvc repro`), "
                             "from the project root")
    return uri


PIPED_WIDTH = 160  # columns when the output is no terminal and COLUMNS is unset: a file or a pager, not a window


def console() -> Console:
    """The console every table prints to: as wide as COLUMNS, else the terminal, else PIPED_WIDTH."""
    wide = Console()
    if wide.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return wide
    return Console(width=PIPED_WIDTH)


@click.group()
def main() -> None:
    """poetry-rnn: look at the pipeline's MLflow runs and use its registered models."""
    store.mlflow_env()


@main.command()
@click.option("--port", default=5000, show_default=True, help="port on 127.0.0.1")
@entry_point
def ui(port: int) -> None:
    """The MLflow UI on 127.0.0.1 over the project's store, or, with MLFLOW_TRACKING_URI a team server's URL, that
    server's UI; prints the URL of the runs page with the key params and scores as columns."""
    from poetry_rnn.services import team

    uri = require_store()
    team_server = store.team_server(uri)
    try:
        exp_id = store.setup()
        view.save_runs_view(exp_id)
    except store.tracking_errors() as err:
        raise store.tracking_failure(err, "opening the experiment in", store.RERUN_COMMAND) from None
    base = uri if team_server else f"http://127.0.0.1:{port}"
    click.echo(f"the runs with their params and scores: {view.runs_page_url(base, exp_id)}")
    if team_server:  # the team's server already serves the UI
        return
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job workers: starts in seconds
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    click.echo(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
    ui_server = team.ManagedProcess(cmd, None, team.healthy(f"http://127.0.0.1:{port}"), "the MLflow UI", env=env)
    sys.exit(ui_server.serve())


def pipeline_scores(run) -> tuple[str | None, dict[str, float]]:
    """A pipeline run's model and its scores under the stage runs' names: the evaluate stage logs each model's on
    the pipeline as `<model>.<score>`; the row shows its champion's (compare's tag), else the first architecture's
    that has them."""
    tags, metrics = run.data.tags, run.data.metrics
    model = tags.get("champion") or next((m for m in ARCHITECTURE_NAMES if f"{m}.{RUN_METRICS[0]}" in metrics), None)
    return model, {k.removeprefix(f"{model}."): v for k, v in metrics.items() if k.startswith(f"{model}.")}


def run_row(run) -> list[str]:
    """One table row: name (its DVC experiment's part), stage (for a pipeline, the model whose scores it shows),
    status, start time, key params and scores ('' when absent)."""
    from datetime import datetime

    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    started = datetime.fromtimestamp(run.info.start_time / 1000).strftime("%Y-%m-%d %H:%M")
    stage = tags.get("stage", "")
    if tags.get("kind") in ("pipeline", "seed_group"):  # a group's run holds its means under the pipelines' names
        model, metrics = pipeline_scores(run)
        kind = tags["kind"].replace("_", " ")
        stage = f"{kind} ({model})" if model else kind
    name = run.info.run_name or ""
    short = name.removesuffix(f"/{stage}") if stage and name != stage else name  # the stage has its column
    return [short, stage, run.info.status, started,
            *(params.get(k, "") for k in RUN_PARAMS),
            *(f"{metrics[k]:.{2 if k.endswith('_pct') else 4}f}" if k in metrics else "" for k in RUN_METRICS)]


@main.command()
@click.option("-n", "--limit", default=20, show_default=True, help="how many runs, newest first")
@click.option("--stage", default=None, help="only runs of this stage, e.g. train_attention")
@entry_point
def runs(limit: int, stage: str | None) -> None:
    """Recent runs with their key params and scores, as a table."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=require_store())
    exp = experiment(client)
    where = f"tags.stage = '{stage}'" if stage else ""
    found = client.search_runs([exp.experiment_id], where, order_by=["start_time DESC"], max_results=limit)
    rows = [run_row(run) for run in found]
    # Eleven columns in a terminal of 100: borders only under the header, two spaces between columns, headers
    # wrap at spaces; rich narrows the widest columns first, so a long run name or stage folds onto more lines
    # while status, params and scores stay whole (below ~90 columns they fold too: folded, never cut).
    table = Table(title=f"{len(found)} most recent runs of {store.EXPERIMENT}", box=box.SIMPLE_HEAD,
                  collapse_padding=True, show_edge=False, pad_edge=False)
    headers = ("run", "stage", "status", "started", *(k.removeprefix("model.") for k in RUN_PARAMS),
               *(k.replace("_pct", " %").replace("_", " ") for k in RUN_METRICS))
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i >= 4 + len(RUN_PARAMS) else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console().print(table)


def experiment(client):
    """The project's experiment in the store, refusing a store without it."""
    exp = client.get_experiment_by_name(store.EXPERIMENT)
    if exp is None:
        raise PoetryRnnError(f"the store holds no experiment {store.EXPERIMENT!r}: run the pipeline first (`dvc repro`)")
    return exp


def text_table(frame, title: str | None = None) -> Table:
    """A table of text (a DataFrame of strings) for the console: headers wrap, cells fold, never cut."""
    table = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, show_edge=False, pad_edge=False)
    for i, column in enumerate(frame.columns):
        table.add_column(str(column), justify="left" if i == 0 else "right", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*map(str, row))
    return table


@main.command()
@click.option("--group", "only", default=None, help="only this seed group (its id: the runs' tag seed_group)")
@click.option("--min-seeds", default=2, show_default=True, type=click.IntRange(min=2),
              help="groups of at least this many evaluated seeds")
@click.option("--markdown", is_flag=True, help="the tables as markdown, to paste into a page (docs/results.md)")
@entry_point
def seeds(only: str | None, min_seeds: int, markdown: bool) -> None:
    """The pipelines that differ only in train.seed, as seed groups: per model the mean over seeds with a 95% interval
    over seeds and test poems and the spread between seeds; per pair of architectures the difference with its
    interval and verdict. Each group's figures go to MLflow too: the tag seed_group on its runs, and a run of its
    own (tag kind = seed_group) with the summary."""
    import mlflow

    from poetry_rnn.scoring.comparison import seed_lines, seed_note, seed_tables
    from poetry_rnn.scoring.seeds import summary
    from poetry_rnn.services import seed_groups

    client = mlflow.MlflowClient(tracking_uri=require_store())
    exp_id = experiment(client).experiment_id
    try:
        found = seed_groups.groups(seed_groups.pipelines(client, exp_id), min_seeds)
        if only is not None:
            found = {g: members for g, members in found.items() if g == only}
        if not found:
            raise PoetryRnnError(
                (f"no seed group {only} of {min_seeds} or more evaluated seeds in the store: `poetry-rnn seeds` lists "
                 "them" if only else f"no {min_seeds} evaluated pipelines in the store differ only in train.seed") +
                ": train seeds of the same settings with `dvc exp run --queue -S 'train.seed=range(1,6)'`, then "
                "`dvc queue start`")
        apart = seed_groups.apart(found)
        out = console()
        for group, members in found.items():
            tables, missing = seed_groups.tables(client, members)
            if missing:
                click.echo(f"seed group {group}: train.seed {', '.join(str(p.seed) for p in missing)} left out: its "
                           "evaluation has no per-poem scores (poem_scores.csv, from an older version); rerun it "
                           f"(`dvc exp run -S train.seed=N`) to count it", err=True)
            members = [p for p in members if p.seed in tables]
            if len(members) < min_seeds:
                continue
            figures = summary(tables, int(members[0].params["seed"]))
            heading = (f"seed group {group}: {len(members)} seeds, commit {members[0].commit[:7]}, pipelines "
                       f"{', '.join(p.name for p in members)}" +
                       (f"; set apart by {', '.join(f'{k}={v}' for k, v in apart[group].items())}" if apart[group] else ""))
            shown = seed_tables(figures)
            text = "\n\n".join([f"### {heading}", seed_note(figures), *(t.to_markdown(index=False) for t in shown),
                                 "\n".join(f"- {line}" for line in seed_lines(figures))])
            run_id = seed_groups.publish(client, exp_id, group, members, figures, text)
            if markdown:
                click.echo(text + "\n")
                continue
            out.print(heading, style="bold")
            out.print(seed_note(figures))
            for table in shown:  # the verdicts in words too in the markdown, the group's run and the compare report
                out.print(text_table(table))
            out.print(f"MLflow: the group's run {run_id} (tag seed_group = {group}, on each of its runs too)\n")
    except store.tracking_errors() as err:
        raise store.tracking_failure(err, "reading the seed groups from", store.RERUN_COMMAND) from None


def champion_model(client, alias: str) -> str:
    """The registered model that carries `alias` (the compare stage puts `champion` on the winner); a registry that
    fails is reported as such, never as no model."""
    try:
        name = registry.carrying(client, MODELS, alias)
    except store.tracking_errors() as err:
        raise store.tracking_failure(err, f"looking up the alias {alias!r} in", store.RERUN_COMMAND) from None
    if name is None:
        raise PoetryRnnError(f"no registered model carries the alias {alias!r} (looked at {', '.join(MODELS)}): "
                             "run the pipeline through its compare stage (`dvc repro`)")
    return name


def load_registered(model: str | None, alias: str):
    """mlflow.pytorch.load_model of models:/<model>@<alias>, with a clear error when it is not there."""
    import mlflow
    import mlflow.pytorch
    from mlflow.exceptions import MlflowException

    uri = require_store()
    mlflow.set_tracking_uri(uri)
    model = model or champion_model(mlflow.MlflowClient(uri), alias)
    try:
        return model, mlflow.pytorch.load_model(f"models:/{model}@{alias}", map_location="cpu").eval()
    except MlflowException as err:
        raise PoetryRnnError(f"cannot load models:/{model}@{alias} from {uri}: {err.message}") from None


def known_tokens(text: str, glove) -> tuple[list[str], list[str]]:
    """The text's tokens that GloVe knows, and those it does not."""
    from poetry_rnn.inputs.tokenize import tokenize

    tokens = tokenize(text)
    return [t for t in tokens if t in glove.index], [t for t in tokens if t not in glove.index]


@main.command()
@click.argument("text")
@click.option("--model", default=None, help="registered model; default: the one with the alias")
@click.option("--alias", default="champion", show_default=True)
@click.option("--glove", "glove_dir", default=str(GLOVE), show_default=True, type=click.Path(path_type=Path),
              help="the GloVe folder the stages wrote")
@entry_point
def reconstruct(text: str, model: str | None, alias: str, glove_dir: Path) -> None:
    """Encode and decode TEXT with a registered model; print each word beside the nearest word of its reconstruction,
    searched among the model's training vocabulary (the candidates the evaluation searches)."""
    import torch
    import torch.nn.functional as F

    from poetry_rnn.inputs.glove import load_glove
    from poetry_rnn.scoring.words import Candidates

    glove = load_glove(glove_dir)
    words, unknown = known_tokens(text, glove)
    if unknown:
        click.echo(f"dropped {len(unknown)} word(s) GloVe does not know: {' '.join(unknown)}", err=True)
    if not words:
        raise PoetryRnnError("no word of the text is in the GloVe vocabulary: nothing to reconstruct")
    name, net = load_registered(model, alias)
    x = torch.from_numpy(glove.vectors[[glove.index[w] for w in words]].astype("float32"))  # (n, D)
    rows = net.vocab.numpy()
    if not len(rows):
        raise PoetryRnnError(f"models:/{name}@{alias} carries no training vocabulary (an older version registered it): "
                             "retrain it with `dvc repro`")
    if rows.max() >= len(glove.words):
        raise PoetryRnnError(f"models:/{name}@{alias} was trained with other GloVe vectors than {glove_dir} "
                             f"({len(glove.words)} words): point --glove at the folder it was trained with")
    T = net.cfg.window  # a longer text goes through in consecutive windows, each squeezed on its own
    with torch.no_grad():
        y = torch.cat([net(x[i : i + T][None])[0] for i in range(0, len(x), T)])  # (n, D)
    nearest = [glove.words[int(r)] for r in Candidates.from_rows(rows, glove.vectors).nearest(y)]
    cosine = F.cosine_similarity(x, y, dim=-1).tolist()
    windows = -(-len(words) // T)
    table = Table(title=f"models:/{name}@{alias}: {len(words)} words, {windows} window(s) of up to {T}, each through a "
                        f"{net.cfg.bottleneck}-number bottleneck ({net.cfg.bottleneck / T:.3g} numbers per token)")
    for column in ("position", "original", "reconstruction (nearest training word)", "cosine"):
        table.add_column(column, justify="right" if column in ("position", "cosine") else "left")
    for t, (word, rebuilt, cos) in enumerate(zip(words, nearest, cosine), 1):
        table.add_row(str(t), word, rebuilt, f"{cos:.3f}")
    console().print(table)


@main.command()
@click.argument("book", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--drama", type=click.Choice(["keep", "skip"]), default="keep", show_default=True,
              help="verse plays: keep their scenes as poems or skip them (as poems.drama)")
@click.option("--skipped", "only_skipped", is_flag=True, help="only the sections that are not kept")
@entry_point
def split(book: Path, drama: str, only_skipped: bool) -> None:
    """How preprocess reads a Project Gutenberg BOOK (.txt): each section of its body with its line range, verdict,
    title and tokens, then the share of the body kept; check it before training."""
    from poetry_rnn.inputs.corpus import Account, account_book, decode
    from poetry_rnn.inputs.gutenberg import is_gutenberg, read_book
    from poetry_rnn.inputs.layout import describe_layout

    text = decode(book.read_bytes(), {"decoded_latin1": 0})
    if not is_gutenberg(text):
        raise PoetryRnnError(f"{book} has no Project Gutenberg START or END marker: it is read as one poem, "
                             "there is nothing to split")
    reading = read_book(text, book.name, drama, refuse=False)
    table = Table(title=f"{book.name}: {len(reading.poems)} poems in {len(reading.sections)} sections")
    for column in ("lines", "verdict", "skipped as", "title (or first words)", "tokens", "kept"):
        table.add_column(column, justify="right" if column in ("lines", "tokens", "kept") else "left")
    for s in reading.sections:
        if not (only_skipped and s.reason == "poem"):
            poem = s.reason == "poem"
            table.add_row(f"{s.first}-{s.last}", s.verdict, "" if poem else s.reason, s.title or s.words,
                          f"{s.tokens:,}", f"{s.kept:,}" if poem else "")
    console().print(table)
    account = Account()
    account_book(reading, book.name, account)
    kept = reading.body_tokens - sum(account.skipped.values())
    skipped = ", ".join(f"{reason} {n:,}" for reason, n in account.skipped.most_common() if n)
    click.echo(f"{book.name}: {describe_layout(reading.layout)}")
    click.echo(f"{book.name}: {len(reading.poems)} poems, {kept:,} of {reading.body_tokens:,} body tokens kept "
               f"({kept / max(reading.body_tokens, 1):.1%}); skipped {skipped or 'nothing'}")
    if not reading.poems:
        click.echo(f"{book.name}: no verse found: preprocess refuses this book")


@main.command()
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", default="frontier.png", show_default=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the figure; a CSV of the points is written beside it")
@click.option("--exp", "names", multiple=True, help="only these experiments (repeat it); default: all")
@click.option("--commits", default=1, show_default=True,
              help="experiments of the last N commits on HEAD's first-parent line, -1 for all; default: HEAD's own")
@entry_point
def frontier(repo: Path, out: Path, names: tuple[str, ...], commits: int) -> None:
    """The compression frontier across the repo's DVC experiments: content-word accuracy, nearest-word accuracy
    and cosine against numbers per token (bottleneck / window), both models and PCA, with 95% intervals."""
    from poetry_rnn.scoring import plots
    from poetry_rnn.atomic import atomic_path
    from poetry_rnn.scoring.names import SCORES
    from poetry_rnn.scoring.frontier import experiment_evaluations, frontier_table

    found = experiment_evaluations(repo, commits)
    table = frontier_table([f for f in found if f[0] in names] if names else found)
    plots.frontier(table, out, SCORES)
    with atomic_path(out.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False)
    shown = Table(title=f"compression frontier: {table['experiment'].nunique()} experiments -> {out}")
    for column in ("experiment", "series", "window", "numbers per token", *SCORES):
        shown.add_column(column, justify="left" if column in ("experiment", "series") else "right")
    for r in table.itertuples():
        shown.add_row(r.experiment, r.series, str(r.window), f"{r.numbers_per_token:.3g}",
                      *(f"{getattr(r, k):.4f} [{getattr(r, k + '_lo'):.4f}, {getattr(r, k + '_hi'):.4f}]" for k in SCORES))
    console().print(shown)


@main.command()
@click.option("--backend-store-uri", envvar="POETRY_RNN_BACKEND_STORE_URI", required=True,
              help="the runs' database, e.g. postgresql+psycopg://mlflow@db-host/mlflow [env POETRY_RNN_BACKEND_STORE_URI]")
@click.option("--artifacts-destination", envvar="POETRY_RNN_ARTIFACTS_DESTINATION", required=True,
              help="where the server puts artifacts, e.g. s3://bucket/mlartifacts [env POETRY_RNN_ARTIFACTS_DESTINATION]")
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 to serve the lab's network")
@click.option("--port", default=5000, show_default=True)
@entry_point
def server(backend_store_uri: str, artifacts_destination: str, host: str, port: int) -> None:
    """The team's MLflow tracking server: runs in the database, artifacts proxied to the bucket (credentials:
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and MLFLOW_S3_ENDPOINT_URL from the environment). Team members set
    MLFLOW_TRACKING_URI to its URL."""
    from poetry_rnn.services import team

    cmd = team.mlflow_server_command(backend_store_uri, artifacts_destination, host, port)
    click.echo(f"MLflow tracking server on http://{host}:{port}: export MLFLOW_TRACKING_URI=http://{host}:{port}", err=True)
    local = team.HOST if host in ("0.0.0.0", "::") else host  # where this machine reaches it
    tracking_server = team.ManagedProcess(cmd, None, team.healthy(f"http://{local}:{port}"),
                                          "the MLflow tracking server", env=team.server_env())
    sys.exit(tracking_server.serve())


@main.command("local-team")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", default=5000, show_default=True, help="the MLflow server's port on 127.0.0.1")
@click.option("--bucket", default="poetry-rnn", show_default=True)
@entry_point
def local_team(folder: Path, port: int, bucket: str) -> None:
    """A team setup on this machine, to try it: PostgreSQL, a SeaweedFS S3 server and the MLflow server on
    127.0.0.1, their data in FOLDER (outside the repo). The S3 credentials are AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY from the environment. Runs until Ctrl-C, SIGTERM or SIGHUP, which stop all three."""
    import time

    from poetry_rnn.services import team

    with team.local_team(folder, bucket, port) as services:
        exports = " ".join(f"{k}={v}" for k, v in services.env().items())
        click.echo(f"PostgreSQL: {services.database}\nS3: {services.s3_endpoint} (bucket {bucket})\n"
                   f"MLflow: {services.tracking_uri}\n\nIn each clone of the repo:\n  export {exports}\n"
                   f"  dvc remote add -d team s3://{bucket}/dvc\n"
                   f"  dvc remote modify team endpointurl {services.s3_endpoint}\n\nCtrl-C stops them.", err=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
