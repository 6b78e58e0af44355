"""Evaluation's references and scoring work from token ids, counts and batches: on 1M tokens of 300-d vectors
(1.2 GB were each token's vector built at once) a stage process stays far below that, freed batches included."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import resource
import numpy as np, torch
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.scoring.scores import mean_vector_reconstructor, pca_reconstructor, score_tokens
from poetry_rnn.errors import return_freed_memory
from poetry_rnn.scoring.words import Candidates

return_freed_memory()  # as every stage does, through entry_point
n, T, D, V = 100_000, 10, 300, 5_000  # 1M tokens
g = torch.Generator().manual_seed(0)
vocab = Vocab(np.arange(V), torch.randn(V, D, generator=g))
ids = torch.randint(0, V, (n, T), generator=g)
mask = torch.ones(n, T, dtype=torch.bool)
windows = Windows(ids, mask, mask)
candidates = Candidates.from_rows(np.arange(200), vocab.table.numpy())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
mean = mean_vector_reconstructor(windows, vocab)
pca, k = pca_reconstructor(windows, vocab, 16, seed=0, max_windows=2_000)
scores = score_tokens(mean, windows, vocab, candidates, batch_size=1024)
assert len(scores.cosine) == n * T
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_references_and_scoring_never_hold_a_vector_per_token():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    growth = int(out.split()[-1])
    per_token_vectors = 100_000 * 10 * 300 * 4
    assert growth < per_token_vectors / 4, f"peak RSS grew by {growth / 2**20:.0f} MiB while scoring 1M tokens"
