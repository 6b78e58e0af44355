"""Scores on held-out poems, each token once: token cosine, and nearest-word accuracy overall, on content words
and by frequency band; paired bootstrap intervals over poems; for models and trivial references alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

from poetry_rnn.inputs.chunking import Chunks
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.training.model import Autoencoder
from poetry_rnn.scoring.names import BITS, SCORES
from poetry_rnn.scoring.words import RANK_BANDS, Candidates, content_words, rank_band

# Maps a batch of input vectors (B, T, D) and its mask (B, T) to reconstructions (B, T, D).
Reconstructor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

RESAMPLES, LEVEL = 1000, 0.95
BATCH = 256  # windows scored (and encoded) at once


@dataclass
class Tokens:
    """What is known of each scored token before any model runs, in scoring order (windows in order, then
    positions)."""

    poem: np.ndarray  # (n,) the token's poem, as an index 0..P-1 over the split's poems
    content: np.ndarray  # (n,) bool: not punctuation, not among the commonest training types
    band: np.ndarray  # (n,) index into RANK_BANDS


def poem_ids(chunks: Chunks) -> np.ndarray:
    """The split's poems (their ids in the corpus), in the order Tokens.poem indexes them."""
    return np.unique(chunks.poem[chunks.score.any(1)])


def scored_tokens(chunks: Chunks, candidates: Candidates, words: list[str]) -> Tokens:
    """The split's tokens, each once, with their poem, content flag and frequency band."""
    rows = chunks.ids[chunks.score].astype(np.int64)
    poem = np.repeat(chunks.poem, chunks.score.sum(1))  # row-major order, like ids[score]
    ranks = candidates.rank(rows)
    return Tokens(np.searchsorted(poem_ids(chunks), poem), content_words(rows, ranks, words), rank_band(ranks))


def sample_windows(chunks: Chunks, n: int, seed: int) -> Chunks:
    """A fixed, seeded sample of n windows, in their order (all of them when there are no more than n): each of
    its tokens is scored where the split scores it, so its scores estimate the split's."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(chunks))[:n])
    return Chunks(chunks.ids[pick], chunks.mask[pick], chunks.poem[pick], chunks.score[pick])


@dataclass
class TokenScores:
    """One reconstructor's result on each scored token, in the order of Tokens."""

    cosine: np.ndarray  # (n,) float64
    hit: np.ndarray  # (n,) bool: the nearest candidate word of the reconstruction is the original word
    cosine_by_position: list[float]  # mean cosine at each window position, over every window (overlaps too)


@torch.no_grad()
def score_tokens(reconstruct: Reconstructor, data: Windows, vocab: Vocab, candidates: Candidates,
                 batch_size: int = BATCH, device: torch.device = torch.device("cpu")) -> TokenScores:
    """Reconstruct every window; score each token once, from the window where it sits farthest from an edge.
    Windows, vectors and the nearest-word search live on `device`."""
    T = data.ids.shape[1]
    table, data, candidates = vocab.table.to(device), data.to(device), candidates.to(device)
    cosines, hits = [], []
    pos_sum = torch.zeros(T, dtype=torch.float64, device=device)
    pos_n = torch.zeros(T, dtype=torch.float64, device=device)
    for ids, mask, score in data.batches(batch_size):
        x = table[ids]  # (B, T, D)
        y = reconstruct(x, mask).to(device)  # (B, T, D)
        cos = F.cosine_similarity(y, x, dim=-1, eps=1e-8) * mask  # (B, T), 0 on padding
        pos_sum += cos.sum(0).double()
        pos_n += mask.sum(0).double()
        cosines.append(cos[score].double().cpu())
        hits.append(candidates.nearest(y[score]) == vocab.glove_rows(ids[score]))
    by_position = (pos_sum / pos_n.clamp(min=1)).tolist()
    return TokenScores(torch.cat(cosines).numpy(), torch.cat(hits).numpy(), [round(c, 6) for c in by_position])


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def summarize(s: TokenScores, tokens: Tokens) -> dict:
    """The scores of one reconstructor: each a mean over tokens, content words and frequency bands apart."""
    return {
        "content_word_accuracy": _mean(s.hit[tokens.content]),
        "nearest_word_accuracy": _mean(s.hit),
        "test_cosine": _mean(s.cosine),
        "test_cosine_median": float(np.median(s.cosine)),
        "accuracy_by_rank": {band: _mean(s.hit[tokens.band == i]) for i, band in enumerate(RANK_BANDS)},
        "tokens": len(s.hit),
        "content_tokens": int(tokens.content.sum()),
        "tokens_by_rank": {band: int((tokens.band == i).sum()) for i, band in enumerate(RANK_BANDS)},
        "cosine_by_position": s.cosine_by_position,
    }


def _poem_sums(s: TokenScores, tokens: Tokens, poems: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per poem, the numerator and denominator of each score: every score is a ratio of sums over tokens."""

    def per_poem(values):
        return np.bincount(tokens.poem, weights=values.astype(np.float64), minlength=poems)

    everyone = np.ones(len(s.hit))
    return {
        "content_word_accuracy": (per_poem(s.hit & tokens.content), per_poem(tokens.content)),
        "nearest_word_accuracy": (per_poem(s.hit), per_poem(everyone)),
        "test_cosine": (per_poem(s.cosine), per_poem(everyone)),
    }


def poem_table(scores: dict[str, TokenScores], tokens: Tokens, poems: np.ndarray) -> pd.DataFrame:
    """Per reconstructor and poem (`poems`: their ids, from poem_ids), each score's numerator and denominator
    (columns <score>_num, <score>_den): what a bootstrap over poems and training seeds (bootstrap_runs) reads back."""
    frames = []
    for name, s in scores.items():
        sums = _poem_sums(s, tokens, len(poems))
        frames.append(pd.DataFrame({"model": name, "poem": poems, **{f"{key}_{part}": v for key, pair in sums.items()
                                                                   for part, v in zip(("num", "den"), pair)}}))
    return pd.concat(frames, ignore_index=True)


def _number(value: float) -> float | None:
    """A float for JSON, None where a score is undefined (no content token at all)."""
    return None if np.isnan(value) else float(value)


def _interval(samples: np.ndarray) -> list[float | None]:
    """The central LEVEL percentile interval of bootstrap samples (resamples with no content token left out)."""
    if np.isnan(samples).all():
        return [None, None]
    tail = 100 * (1 - LEVEL) / 2
    return [float(v) for v in np.nanpercentile(samples, [tail, 100 - tail])]


def bootstrap(scores: dict[str, TokenScores], tokens: Tokens, pairs: list[tuple[str, str]],
              seed: int, resamples: int = RESAMPLES) -> tuple[dict, dict]:
    """A paired bootstrap over poems: every reconstructor is scored on the same resampled poems, so the
    interval of a difference carries only the uncertainty of which poems happen to be in the split.
    Returns ({name: {score: [lo, hi]}}, {"a_vs_b": {score: {"mean": a - b, "ci": [lo, hi]}}})."""
    poems = int(tokens.poem.max()) + 1
    sums = {name: {key: (num[None], den[None]) for key, (num, den) in _poem_sums(s, tokens, poems).items()}
            for name, s in scores.items()}
    _, ci, differences = bootstrap_runs(sums, pairs, seed, resamples)
    return ci, differences


def bootstrap_runs(sums: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], pairs: list[tuple[str, str]],
                   seed: int, resamples: int = RESAMPLES) -> tuple[dict, dict, dict]:
    """The paired bootstrap over poems, and over training runs when there are several (one per train.seed, all on
    the same test poems): each resample draws the poems with replacement, then the runs, the same draws for every
    model, so an interval carries both which poems are in the split and which seeds were trained. A score is the
    mean over runs of each run's score (a ratio of sums over poems). `sums`: {name: {score: (numerators,
    denominators)}}, each (runs, poems), the runs in the same order for every name. Returns ({name: {score: each
    run's score (runs,)}}, {name: {score: [lo, hi]}}, {"a_vs_b": {score: {"mean": a - b, "ci": [lo, hi]}}})."""
    runs, poems = next(iter(next(iter(sums.values())).values()))[0].shape
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(poems, np.full(poems, 1 / poems), size=resamples).astype(np.float64)  # (R, P)
    drawn = rng.multinomial(runs, np.full(runs, 1 / runs), size=resamples).astype(np.float64)  # (R, runs)
    per_run, samples = {}, {}
    for name, scores in sums.items():
        per_run[name], samples[name] = {}, {}
        for key, (num, den) in scores.items():
            with np.errstate(invalid="ignore", divide="ignore"):
                per_run[name][key] = num.sum(1) / den.sum(1)  # (runs,), nan where a run has no such token
                ratios = (weights @ num.T) / (weights @ den.T)  # (R, runs): each run on the resampled poems
            samples[name][key] = (np.where(drawn > 0, ratios, 0.0) * drawn).sum(1) / runs  # undrawn: 0, even if nan
    ci = {name: {key: _interval(v) for key, v in samples[name].items()} for name in sums}
    differences = {
        f"{a}_vs_{b}": {key: {"mean": _number(np.mean(per_run[a][key] - per_run[b][key])),
                              "ci": _interval(samples[a][key] - samples[b][key])} for key in SCORES}
        for a, b in pairs
    }
    return per_run, ci, differences


def model_reconstructor(model: Autoencoder, device: torch.device = torch.device("cpu")) -> Reconstructor:
    """A trained model on `device`, decoding from the bottleneck alone (no teacher forcing); answers on the
    device of its input."""
    model.eval().to(device)
    return lambda x, mask: model(x.to(device), mask.to(device)).to(x.device)


@torch.no_grad()
def code_range(model: Autoencoder, train: Windows, vocab: Vocab, seed: int, max_windows: int = 8000) -> torch.Tensor:
    """(2, Z) the smallest and largest value of each number of z over (a seeded sample of) the training windows'
    codes: the range a uniform quantizer of z spans, fitted on training codes only."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(train))[:max_windows])
    z = encode_all(model, Windows(train.ids[pick], train.mask[pick], train.score[pick]), vocab)
    return torch.stack([z.amin(0), z.amax(0)])


def rounded(z: torch.Tensor, span: torch.Tensor, bits: int = BITS) -> torch.Tensor:
    """z (N, Z) rounded to `bits` bits per number: each number mapped to the nearest of 2^bits evenly spaced levels
    over its training range `span` (2, Z) (values outside it clipped to its ends)."""
    lo, hi = span.to(z.device)
    step = (hi - lo).clamp(min=1e-12) / (2**bits - 1)
    return lo + ((z - lo) / step).round().clamp(0, 2**bits - 1) * step


def code_decoder(model: Autoencoder, codes: torch.Tensor, batch_size: int = BATCH,
                 device: torch.device = torch.device("cpu")) -> Reconstructor:
    """The model decoding `codes` (N, Z), one per window of the windows score_tokens walks with the same batch_size
    (encode_all's codes of them, perhaps rounded): the windows are encoded once for every reconstruction read from
    their codes, the same batches giving the same floats as encoding each batch again. Each call decodes the next
    batch; it walks the windows once."""
    model.eval().to(device)
    batches = iter(codes.split(batch_size))

    def reconstruct(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        z = next(batches, None)
        if z is None or len(z) != len(x):
            raise ValueError("code_decoder: these are not the windows of its codes, in order and in batches of "
                             f"{batch_size}")
        return model.decode(z.to(device), x.shape[1]).to(x.device)

    return reconstruct


def mean_vector_reconstructor(train: Windows, vocab: Vocab) -> Reconstructor:
    """Reference: predict the mean training token vector at every position."""
    mean = train.mean_vector(vocab)  # (D,)
    return lambda x, mask: mean.to(x.device).expand_as(x)


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
        flat_x = (x * mask[..., None]).flatten(1).cpu().numpy()
        return torch.from_numpy(pca.inverse_transform(pca.transform(flat_x)).astype(np.float32)).view_as(x).to(x.device)

    return reconstruct, k


@torch.no_grad()
def encode_all(model: Autoencoder, data: Windows, vocab: Vocab, batch_size: int = BATCH) -> torch.Tensor:
    """Bottleneck vectors of every window, (N, Z), on the CPU; computed on the model's device."""
    model.eval()
    device = model.offset.device
    table, data = vocab.table.to(device), data.to(device)
    return torch.cat([model.encode(table[ids], mask).cpu() for ids, mask, _ in data.batches(batch_size)])


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
def sample_reconstructions(models: dict[str, Reconstructor], data: Windows, vocab: Vocab, candidates: Candidates,
                           words: list[str], n: int = 3, seed: int = 0) -> list[dict]:
    """For n test windows: the original words, and the nearest candidate word of each model's reconstruction."""
    pick = np.random.default_rng(seed).choice(len(data), size=min(n, len(data)), replace=False)
    samples = []
    for i in sorted(pick.tolist()):
        ids, mask = data.ids[i : i + 1], data.mask[i : i + 1]
        x = vocab.table[ids]
        columns = {"original": [words[int(r)] for r in vocab.glove_rows(ids[mask])]}
        for name, reconstruct in models.items():
            columns[name] = [words[int(r)] for r in candidates.nearest(reconstruct(x, mask)[mask])]
        samples.append({"window": i, "columns": columns})
    return samples
