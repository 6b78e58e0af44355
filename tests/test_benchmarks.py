"""Every script of benchmarks/ runs as its documentation says, at a tiny size, so none can rot unnoticed; none is
named like a module of the standard library or an installed package (a script's own folder comes first on
sys.path, so `benchmarks/queue.py` broke every `import queue` of the scripts beside it)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from http_server import serve_directory
from project import ROOT, make_inputs, make_project, make_training_project, run

BENCHMARKS = ROOT / "benchmarks"
# The tiny model and corpus of the end-to-end test's project (tests/project.py make_project), as -S overrides.
TINY = ["glove.dim=16", "chunk.window=50", "chunk.stride=40", "model.hidden=16", "model.bottleneck=4",
        "model.heads=2", "model.line=25", "train.epochs=1", "train.batch_size=8", "train.curriculum=[]"]


def workspace(tmp_path: Path) -> Path:
    """What `dvc repro chunk` leaves: params.yaml, data/glove and data/chunks."""
    return make_training_project(tmp_path / "workspace", epochs=2, batch_size=8)


def reproduced(tmp_path: Path, *stages: str) -> Path:
    """A copy of the project after `dvc repro STAGES` on the end-to-end test's tiny inputs (50-token windows)."""
    make_inputs(tmp_path / "served")
    with serve_directory(tmp_path / "served") as url:
        project = make_project(tmp_path / "project", url)
        run(["dvc", "repro", *stages], project)
    return project


def served_inputs(tmp_path: Path) -> Path:
    make_inputs(tmp_path / "inputs")
    return tmp_path / "inputs"


# Two small Gutenberg books, each of verse with one paragraph of prose, and their hand labels (the prose
# paragraph's first line, as benchmarks/verse_labels.txt numbers lines), for books.py and verse_or_prose.py.
VERSE = ("Because I could not stop for Death,\nHe kindly stopped for me;\nThe carriage held but just ourselves\n"
         "And Immortality.\n\nWe slowly drove, he knew no haste,\nAnd I had put away\nMy labor, and my leisure too,\n"
         "For his civility.")
PROSE = ("These poems were found among the papers of the author after her death, and are printed here as she left\n"
         "them, with no change but in the spelling of a few words, which the editors have thought it right to make\n"
         "plain to the reader of today, who will find the rest of the text as it was written in her own hand.")


def gutenberg_books(tmp: Path) -> Path:
    from test_gutenberg import book

    folder = tmp / "books"
    folder.mkdir()
    labels = []
    for name in ("pg1-first.txt", "pg2-second.txt"):
        text = book(f"POEMS\n\n\n{PROSE}\n\n\nI.\n\n{VERSE}\n\n\nII.\n\n{VERSE}\n")
        (folder / name).write_text(text)
        labels.append(f"{name} prose {text.split(chr(10)).index(PROSE.split(chr(10))[0]) + 1}")
    (tmp / "labels.txt").write_text("\n".join(labels) + "\n")
    return folder


def sets(settings: list[str]) -> list[str]:
    return [a for s in settings for a in ("-S", s)]


# Each script: how a test runs it (a function of tmp_path giving its arguments and working directory), at a size
# that takes seconds; the documented command line is the same but for the size.
RUNS = {
    "throughput.py": lambda tmp: (["--windows", "128", "--batches", "1"], ROOT),
    "glove.py": lambda tmp: (["--synthetic", "--words", "2000", "--repeat", "1"], tmp),
    "candidates.py": lambda tmp: (["--windows", "32", "--epochs", "2", "--only", "default",
                                   "--out", str(tmp / "candidates.jsonl")], reproduced(tmp, "chunk")),
    "diagnose.py": lambda tmp: (["--windows", "32", "--epochs", "2", "--val-windows", "8", "--steps", "2"],
                                workspace(tmp)),
    "near_duplicates.py": lambda tmp: ([], tmp),
    "evaluate.py": lambda tmp: (["--workspace", str(reproduced(tmp, "train_per_token", "train_baseline",
                                                               "train_attention")), "--against", "HEAD"], tmp),
    "nearest.py": lambda tmp: (["--tokens", "3000", "--candidates", "2000", "--dim", "16"], tmp),
    "memory.py": lambda tmp: ([str(served_inputs(tmp) / "poems.zip"), "--glove", str(tmp / "inputs/glove.tiny.zip"),
                               "--member", "glove.tiny.16d.txt", "--fraction", "1", *sets(TINY)], tmp),
    "books.py": lambda tmp: ([str(gutenberg_books(tmp))], tmp),
    "verse_or_prose.py": lambda tmp: ([str(gutenberg_books(tmp)), "--labels", str(tmp / "labels.txt")], tmp),
    "queued.py": lambda tmp: (["--poems", str(served_inputs(tmp) / "poems.zip"), "--glove",
                               str(tmp / "inputs/glove.tiny.zip"), "--file", "glove.tiny.16d.txt", *sets(TINY),
                               "--arms", "shared"], tmp),  # "unshared" differs by OMP_NUM_THREADS alone
}
SLOW = {"memory.py", "queued.py", "evaluate.py"}  # every stage of the pipeline, several times for queued.py


def test_every_benchmark_has_a_run_here():
    assert set(RUNS) == {p.name for p in BENCHMARKS.glob("*.py")}


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_no_benchmark_shadows_a_module(name):
    elsewhere = [p for p in sys.path if Path(p or ".").resolve() != BENCHMARKS]
    assert name not in sys.stdlib_module_names, f"benchmarks/{name}.py hides the standard library's {name}"
    assert importlib.machinery.PathFinder.find_spec(name, elsewhere) is None, \
        f"benchmarks/{name}.py hides the installed module {name}"


def test_every_benchmark_the_docs_name_exists():
    named = {m for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
             for m in re.findall(r"benchmarks/(\w+\.py)", page.read_text())}
    assert named and named <= set(RUNS), sorted(named - set(RUNS))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.e2e) if n in SLOW else n for n in sorted(RUNS)])
def test_benchmark_runs_at_a_tiny_size(name, tmp_path):
    args, cwd = RUNS[name](tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, f"benchmarks/{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert proc.stdout.strip(), f"benchmarks/{name} printed nothing"


@pytest.mark.parametrize("window", [10, 50])
def test_throughput_steps_on_the_windows_train_takes_in_a_step(window):
    """throughput.py's step is train()'s TrainStep with params.yaml's training, and its batches hold what one step of
    train() holds: train.batch_size lines of model.line tokens (256 lines of 5: 128 windows of 10, 26 of 50; per_token,
    a line per token, 26 of 10 and 6 of 50), in train.seed's order."""
    import torch

    from poetry_rnn.params import load_params
    from poetry_rnn.training.engine import TrainStep

    spec = importlib.util.spec_from_file_location("throughput", BENCHMARKS / "throughput.py")
    throughput = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(throughput)
    p = load_params(ROOT / "params.yaml")
    data, vocab = throughput.synthetic(300, window, 16)
    for name in ("per_token", "attention"):
        step = throughput.make_step(p, name, False, data, vocab, torch.device("cpu"))
        assert type(step) is TrainStep and step.cfg == p.train
        line = 1 if name == "per_token" else p.model.line
        lines = -(-window // line)
        ids, mask, _ = next(throughput.step_batches(step, data, p.train.seed))
        assert ids.shape == (-(-p.train.batch_size // lines), window)
        first, _, _ = next(data.batches(len(ids), torch.Generator().manual_seed(p.train.seed)))
        assert torch.equal(ids, first)
