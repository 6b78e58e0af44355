"""Scores on held-out windows: token cosine and nearest-word accuracy, for models and trivial references."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

from poetry_rnn.dataset import Vocab, Windows
from poetry_rnn.model import Autoencoder

# Maps a batch of input vectors (B, T, D) and its mask (B, T) to reconstructions (B, T, D).
Reconstructor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def nearest_ids(vectors: torch.Tensor, unit: torch.Tensor, rows: int = 2048) -> torch.Tensor:
    """Index of the nearest (cosine) row of `unit` (V, D), unit-normalised, for each of (n, D) vectors;
    in blocks, so n x V similarities never sit in memory at once."""
    vectors = F.normalize(vectors, dim=-1)
    return torch.cat([(vectors[i : i + rows] @ unit.T).argmax(-1) for i in range(0, len(vectors), rows)])


@torch.no_grad()
def score(reconstruct: Reconstructor, data: Windows, vocab: Vocab, batch_size: int = 256) -> dict:
    """Mean and median token cosine, cosine by position and nearest-word accuracy over real tokens."""
    unit = F.normalize(vocab.table, dim=-1)  # (V, D)
    T = data.ids.shape[1]
    cos_all, hits = [], 0
    pos_sum, pos_n = torch.zeros(T, dtype=torch.float64), torch.zeros(T, dtype=torch.float64)
    for ids, mask in data.batches(batch_size):
        x = vocab.table[ids]  # (B, T, D)
        y = reconstruct(x, mask)  # (B, T, D)
        cos = F.cosine_similarity(y, x, dim=-1, eps=1e-8) * mask  # (B, T), 0 on padding
        pos_sum += cos.sum(0).double()
        pos_n += mask.sum(0).double()
        cos_all.append(cos[mask])
        hits += int((nearest_ids(y[mask], unit) == ids[mask]).sum())
    cos_all = torch.cat(cos_all)
    by_position = (pos_sum / pos_n.clamp(min=1)).tolist()
    return {
        "test_cosine": float(cos_all.mean()),
        "test_cosine_median": float(cos_all.median()),
        "nearest_word_accuracy": hits / len(cos_all),
        "tokens": len(cos_all),
        "cosine_by_position": [round(c, 6) for c in by_position],
    }


def model_reconstructor(model: Autoencoder, device: torch.device = torch.device("cpu")) -> Reconstructor:
    """A trained model, decoding from the bottleneck alone (no teacher forcing)."""
    model.eval().to(device)
    return lambda x, mask: model(x.to(device), mask.to(device)).cpu()


def mean_vector_reconstructor(train: Windows, vocab: Vocab) -> Reconstructor:
    """Reference: predict the mean training token vector at every position."""
    mean = vocab.table[train.ids[train.mask]].mean(0)  # (D,)
    return lambda x, mask: mean.expand_as(x)


def pca_reconstructor(
    train: Windows, vocab: Vocab, components: int, seed: int, max_windows: int = 8000
) -> tuple[Reconstructor, int]:
    """Reference: PCA of whole windows (T * D values) with as many components as the bottleneck; returns it and k."""
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.permutation(len(train))[:max_windows])  # bounded memory on large corpora
    ids, mask = train.ids[pick], train.mask[pick]
    flat = (vocab.table[ids] * mask[..., None]).flatten(1).numpy()  # (N, T * D), padding zeroed
    k = min(components, *flat.shape)
    pca = PCA(n_components=k, svd_solver="randomized", random_state=seed).fit(flat)

    def reconstruct(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        flat_x = (x * mask[..., None]).flatten(1).numpy()
        return torch.from_numpy(pca.inverse_transform(pca.transform(flat_x)).astype(np.float32)).view_as(x)

    return reconstruct, k


@torch.no_grad()
def encode_all(model: Autoencoder, data: Windows, vocab: Vocab, batch_size: int = 256) -> torch.Tensor:
    """Bottleneck vectors of every window, (N, Z)."""
    model.eval()
    return torch.cat([model.encode(vocab.table[ids], mask) for ids, mask in data.batches(batch_size)])


def bottleneck_stats(z: torch.Tensor) -> dict:
    """How the code is used: mean norm, per-dimension spread, active and effective dimensions."""
    std = z.std(0)  # (Z,)
    eig = torch.linalg.eigvalsh(torch.cov(z.T)).clamp(min=0)  # variance along principal axes
    return {
        "mean_norm": float(z.norm(dim=1).mean()),
        "mean_dim_std": float(std.mean()),
        "active_dims": int((std > 0.1 * std.max()).sum()),  # dims with at least a tenth of the widest spread
        "effective_dims": float(eig.sum() ** 2 / (eig**2).sum().clamp(min=1e-12)),  # participation ratio
    }


@torch.no_grad()
def nearest_words(vectors: torch.Tensor, vocab: Vocab, words: list[str]) -> list[str]:
    """The corpus word whose vector is nearest (by cosine) to each of (n, D) vectors."""
    idx = nearest_ids(vectors, F.normalize(vocab.table, dim=-1))
    return [words[int(vocab.rows[i])] for i in idx]


@torch.no_grad()
def sample_reconstructions(models: dict[str, Autoencoder], data: Windows, vocab: Vocab, words: list[str],
                           n: int = 3, seed: int = 0) -> str:
    """Markdown: for n test windows, the original words beside the nearest words of each reconstruction."""
    pick = np.random.default_rng(seed).choice(len(data), size=min(n, len(data)), replace=False)
    parts = []
    for i in sorted(pick.tolist()):
        ids, mask = data.ids[i : i + 1], data.mask[i : i + 1]
        x = vocab.table[ids]
        columns = {"original": nearest_words(x[mask], vocab, words)}
        for name, model in models.items():
            columns[name] = nearest_words(model.eval()(x, mask)[mask], vocab, words)
        header = "| position | " + " | ".join(columns) + " |"
        rows = [f"| {t + 1} | " + " | ".join(f"`{c[t]}`" for c in columns.values()) + " |" for t in range(int(mask.sum()))]
        parts.append("\n".join([f"### Test window {i}", "", header, "|" + "---|" * (len(columns) + 1), *rows, ""]))
    return "\n".join(parts)
