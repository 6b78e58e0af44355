"""Where every stage reads and writes, relative to the project root; dvc.yaml names the same paths."""

import os
from pathlib import Path

INPUTS = Path("data/inputs")  # fingerprints of local input files: what makes them DVC deps
DOWNLOADS = Path("data/downloads")  # fetched files and .part files; kept across runs so downloads resume
GLOVE = Path("data/glove")  # vocab.txt + vectors.npy (memory-mapped)
CORPUS = Path("data/corpus")  # tokenized poems: poems.csv + token ids
CHUNKS = Path("data/chunks")  # train/val/test .npz windows
METRICS = Path("metrics")
BEST, LAST = "best.pt", "last.pt"  # a training stage's checkpoints: the best on validation, and the last epoch's


def stage_dir(stage: str) -> Path:
    """A stage's other outputs: checkpoints, plots, reports."""
    return Path("stages") / stage


def metrics_file(stage: str) -> Path:
    """A stage's headline: the few numbers a user compares, the columns of `dvc exp show` (dvc.yaml `metrics:`)."""
    return METRICS / f"{stage}.json"


def details_file(stage: str) -> Path:
    """Everything a stage measured, as plain JSON (a DVC out, not a metric); MLflow logs the same figures."""
    return stage_dir(stage) / "details.json"


def user_root() -> Path:
    """The user's repo: DVC_ROOT under DVC (also for --queue/--temp copies, which run elsewhere), else the working
    directory. Relative input paths and the local MLflow store live there."""
    return Path(os.environ.get("DVC_ROOT") or Path.cwd()).resolve()


def checkpoints(stage: str) -> Path:
    """A training stage's checkpoint folder (persistent: an interrupted run resumes from it)."""
    return stage_dir(stage) / "checkpoints"


def best_checkpoint(stage: str) -> Path:
    """The checkpoint a training stage keeps for evaluation: its best epoch on validation."""
    return checkpoints(stage) / BEST


def history_file(stage: str) -> Path:
    """A training stage's per-epoch metrics."""
    return stage_dir(stage) / "history.csv"
