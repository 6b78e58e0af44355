"""Figures: cosine by position, training curves, and the architecture comparison."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

from poetry_rnn.atomic import atomic_path  # noqa: E402


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=Path(path).suffix.lstrip("."))
    plt.close(fig)


def cosine_by_position(curves: dict[str, list[float]], path: Path) -> None:
    """One line per model or reference: mean test cosine at each window position."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in curves.items():
        style = "--" if name.startswith("reference") else "-"
        ax.plot(range(1, len(values) + 1), values, style, label=name)
    ax.set(xlabel="position in window", ylabel="mean cosine (test)", title="Reconstruction by position")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def training_curves(histories: dict[str, list[dict]], path: Path) -> None:
    """Training loss and validation cosine per epoch, one line per model."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, rows in histories.items():
        epochs = [r["epoch"] for r in rows]
        ax1.plot(epochs, [r["train_loss"] for r in rows], label=name)
        ax2.plot(epochs, [r["val_cosine"] for r in rows], label=name)
    ax1.set(xlabel="epoch", ylabel="train loss", title="Training loss")
    ax2.set(xlabel="epoch", ylabel="val cosine", title="Validation cosine (no teacher forcing)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    _save(fig, path)


def score_bars(scores: dict[str, dict[str, float]], keys: list[str], path: Path) -> None:
    """Grouped bars: each model and reference on each score."""
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4))
    for ax, key in zip(axes if len(keys) > 1 else [axes], keys):
        names = list(scores)
        values = [scores[n][key] for n in names]
        bars = ax.bar(names, values, color=["C0" if not n.startswith("reference") else "C7" for n in names])
        ax.bar_label(bars, fmt="%.3f")
        ax.set(title=key, ylim=(min(0, min(values)), max(values) * 1.15 or 1))
        plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    _save(fig, path)
