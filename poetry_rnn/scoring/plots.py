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


def score_bars(table, keys: list[str], path: Path) -> None:
    """Grouped bars: each model and reference on each score, with its interval (columns <key>_lo, <key>_hi)."""
    import numpy as np

    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        names = list(table.index)
        values = table[key].astype(float).fillna(0).to_numpy()
        errors = np.abs(np.stack([table[f"{key}_lo"], table[f"{key}_hi"]]).astype(float) - values)
        colors = ["C0" if not n.startswith("reference") else "C7" for n in names]
        bars = ax.bar(names, values, yerr=np.nan_to_num(errors), capsize=4, color=colors)
        ax.bar_label(bars, fmt="%.4f", padding=2)
        top = np.nanmax(np.append(table[f"{key}_hi"].astype(float).to_numpy(), values))
        ax.set(title=f"{key} (95% CI)", ylim=(min(0, values.min()), top * 1.2 or 1))
        plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    _save(fig, path)


def bottleneck_map(codes: dict[str, tuple], path: Path, top: int = 10) -> None:
    """2-D PCA of each model's test bottleneck vectors, coloured by poem (the `top` poems with most windows)."""
    import numpy as np
    from sklearn.decomposition import PCA

    fig, axes = plt.subplots(1, len(codes), figsize=(6 * len(codes), 5), squeeze=False)
    for ax, (name, (z, poem)) in zip(axes[0], codes.items()):
        xy = PCA(n_components=2).fit_transform(z)
        ids, counts = np.unique(poem, return_counts=True)
        shown = ids[np.argsort(-counts)[:top]]
        rest = ~np.isin(poem, shown)
        ax.scatter(xy[rest, 0], xy[rest, 1], s=6, c="lightgrey", label="other poems")
        for k, pid in enumerate(shown):
            sel = poem == pid
            ax.scatter(xy[sel, 0], xy[sel, 1], s=14, color=plt.cm.tab10(k % 10), label=f"poem {pid}")
        ax.set(title=f"{name}: bottleneck of test windows (PCA 2-D)", xlabel="PC 1", ylabel="PC 2")
    axes[0][-1].legend(fontsize=7, loc="best")
    _save(fig, path)


def attention_map(weights, path: Path) -> None:
    """Attention of each head for one window: rows are decoder positions, columns the memory slots made from z."""
    heads = weights.shape[0]
    fig, axes = plt.subplots(1, heads, figsize=(4 * heads, 4), squeeze=False)
    for h, ax in enumerate(axes[0]):
        im = ax.imshow(weights[h], aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set(title=f"head {h + 1}", xlabel="memory slot")
    axes[0][0].set_ylabel("decoder position")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    _save(fig, path)


def frontier(table, path: Path, scores: tuple[str, ...]) -> None:
    """Each score against numbers per token (log scale), one line per model (or PCA) and window, with 95% intervals;
    the x axis labelled at the measured points. A window's series share a marker, a model's a colour."""
    import numpy as np

    fig, axes = plt.subplots(1, len(scores), figsize=(5.5 * len(scores), 4.6), squeeze=False)
    names = list(dict.fromkeys(table["series"]))
    windows = sorted(set(table["window"]))
    ticks = sorted(set(table["numbers_per_token"]))
    for ax, key in zip(axes[0], scores):
        for (series, window), rows in table.groupby(["series", "window"], sort=False):
            rows = rows.sort_values("numbers_per_token")
            x, y = rows["numbers_per_token"].to_numpy(), rows[key].astype(float).to_numpy()
            errors = np.abs(np.stack([rows[f"{key}_lo"], rows[f"{key}_hi"]]).astype(float) - y)
            label = "PCA (as many components)" if series == "pca" else series
            ax.errorbar(x, y, yerr=np.nan_to_num(errors), fmt=("--" if series == "pca" else "-") + "osD^v"[
                windows.index(window) % 5], capsize=3, color=f"C{names.index(series)}",
                label=f"{label}, window {window}" if len(windows) > 1 else label)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set(xlabel="numbers per token (bottleneck / window)", ylabel=key, title=f"{key} (95% CI)")
        ax.grid(alpha=0.3)
    # Below the panels, not inside one: with a few windows the legend would cover measured points.
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labels), 4),
               fontsize="small", frameon=False)
    _save(fig, path)
