"""The architecture comparison: one table of models and references, and a plain verdict."""

from __future__ import annotations

import pandas as pd

from poetry_rnn.paths import ARCHITECTURES

MODELS = tuple(ARCHITECTURES)  # baseline, attention
SCORES = ("test_cosine", "nearest_word_accuracy")


def comparison_table(evaluation: dict, training: dict[str, dict]) -> pd.DataFrame:
    """One row per model and reference: test scores, size and training cost."""
    rows = []
    for name in MODELS:
        t = training[name]
        rows.append({"model": name, **{k: evaluation[name][k] for k in SCORES}, "parameters": t["parameters"],
                     "train_seconds": t["train_seconds"], "epochs": t["epochs"], "best_epoch": t["best_epoch"]})
    for name, ref in evaluation["reference"].items():
        rows.append({"model": f"reference: {name}", **{k: ref[k] for k in SCORES}})
    table = pd.DataFrame(rows)
    for col in ("parameters", "epochs", "best_epoch"):
        table[col] = table[col].astype("Int64")  # blank, not NaN, for the references
    return table


def verdict(evaluation: dict) -> dict:
    """Margins that say whether each model learned more than the best trivial reference."""
    out: dict[str, object] = {}
    for key in SCORES:
        best_ref = max(ref[key] for ref in evaluation["reference"].values())
        for name in MODELS:
            out[f"{name}_minus_best_reference.{key}"] = round(evaluation[name][key] - best_ref, 6)
        out[f"attention_minus_baseline.{key}"] = round(evaluation["attention"][key] - evaluation["baseline"][key], 6)
    out["winner"] = max(MODELS, key=lambda n: (evaluation[n]["nearest_word_accuracy"], evaluation[n]["test_cosine"]))
    return out


def verdict_lines(evaluation: dict) -> list[str]:
    """The verdict in words (markdown): each model against the best reference, then the winner."""
    v = verdict(evaluation)
    lines = []
    for name in MODELS:
        margins = [v[f"{name}_minus_best_reference.{k}"] for k in SCORES]
        if all(m > 0 for m in margins):
            lines.append(f"**{name}** beats the best reference (mean vector, PCA of the bottleneck's size) on both scores.")
        else:
            lines.append(f"**{name}** does NOT beat the best reference (margins: "
                         + ", ".join(f"{k} {m:+.4f}" for k, m in zip(SCORES, margins)) + ").")
    lines.append(f"Winner: **{v['winner']}** (by nearest-word accuracy, then test cosine).")
    return lines


def render_markdown(table: pd.DataFrame, evaluation: dict, samples: str = "") -> str:
    """The report: the table, a plain verdict on each model against the references, figures and samples."""
    shown = table.map(lambda v: "" if pd.isna(v) else f"{v:.4f}" if isinstance(v, float) else str(v))
    lines = ["# Architecture comparison (test split, no teacher forcing)", "", shown.to_markdown(index=False), ""]
    lines += [f"- {line}" for line in verdict_lines(evaluation)]
    lines += ["", "## Figures", ""]
    for title, png in FIGURES.items():
        lines += [f"### {title}", "", f"![{title}]({png})", ""]
    if samples:
        lines += ["## Sample reconstructions (nearest corpus word of each reconstructed vector)", "", samples]
    return "\n".join(lines) + "\n"


FIGURES = {
    "Test scores": "scores.png",
    "Training curves": "training_curves.png",
    "Cosine by position": "cosine_by_position.png",
    "Bottleneck map": "bottleneck_map.png",
    "Attention weights (attention model, one test window)": "attention.png",
}
