"""Shared fixtures: quiet DVC/MLflow, and small generated GloVe files and poems."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# The tests' models are tiny: one thread each is faster, and parallel stages (dvc queue -j 2) and
# subprocesses do not fight over the cores. Inherited by every stage the tests start.
os.environ.setdefault("OMP_NUM_THREADS", "1")

WORDS = (
    "the a and of to in i my is it that was with as for but not be by on at all his her this "
    "sea sky sun moon star night day light dark love heart soul death life time god rose red "
    "white green blue bird song wind rain snow tree flower grass field hill house door window "
    "come go see know think feel dream sleep wake sing fly die live fall rise stand walk "
    ", . ; : ! ? - -- ' \" 's n't 'll"
).split()


def glove_lines(words=WORDS, dim: int = 8, seed: int = 0) -> list[str]:
    """GloVe text-format lines with random vectors."""
    rng = np.random.default_rng(seed)
    return [w + " " + " ".join(f"{v:.5f}" for v in rng.normal(size=dim)) for w in words]


def poem_text(rng: np.random.Generator, lines: int = 6) -> str:
    """A small poem from the fixture vocabulary (plus the odd unknown word)."""
    vocab = [w for w in WORDS if w.isalpha()] + ["zyzzyva"]
    return "\n".join(" ".join(rng.choice(vocab, size=rng.integers(3, 8))) + rng.choice([",", ".", "!", ""]) for _ in range(lines))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
