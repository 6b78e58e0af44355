"""The architecture comparison: one table of models and references with intervals, verdicts read from the
intervals of the differences, the champion picked on validation scores, and the same across training seeds."""

from __future__ import annotations

import math

import pandas as pd

from poetry_rnn.architectures import ARCHITECTURES, pairs
from poetry_rnn.scoring.names import BITS, LABELS, QUANTIZED, SCORES, SHORT

ROUNDED = f"content_word_accuracy_{BITS}bit"  # the table's column of the rounded code's score
CHAMPION_BASIS = ("val_content_word_accuracy", "val_nearest_word_accuracy", "val_cosine")


def models(evaluation: dict) -> list[str]:
    """The registry's architectures the evaluation scored, in registry order (an evaluation from before an
    architecture joined the registry lacks it)."""
    return [name for name in ARCHITECTURES if name in evaluation]


def model_pairs(evaluation: dict) -> list[tuple[str, str]]:
    """The registry's pairs of architectures, both scored in the evaluation."""
    scored = set(models(evaluation))
    return [(a, b) for a, b in pairs() if a in scored and b in scored]


def headline(evaluation: dict) -> dict:
    """metrics/evaluate.json: each score of each model and reference, score first, so that `dvc exp show` leads
    with both models' content-word accuracy; the intervals are lists, which `dvc exp show` leaves out."""
    series = {**{name: evaluation[name] for name in models(evaluation)}, **evaluation["reference"]}
    out = {SHORT[key]: {name: result[key] for name, result in series.items()} for key in SCORES}
    out["ci"] = {SHORT[key]: {name: result["ci"][key] for name, result in series.items()} for key in SCORES}
    # the content-word accuracy of each model decoding from its z rounded to a few bits per number
    rounded = [name for name in models(evaluation) if "quantized" in evaluation[name]]
    if rounded:
        out[QUANTIZED] = {name: evaluation[name]["quantized"]["content_word_accuracy"] for name in rounded}
        out["ci"][QUANTIZED] = {name: evaluation[name]["quantized"]["ci"] for name in rounded}
    return out


def comparison_table(evaluation: dict, training: dict[str, dict]) -> pd.DataFrame:
    """One row per model and reference: each score with its interval (columns <score>, _lo, _hi), size and cost."""
    rows = []
    named = [(name, evaluation[name]) for name in models(evaluation)] + \
        [(f"reference: {n}", r) for n, r in evaluation["reference"].items()]
    for name, result in named:
        row = {"model": name}
        for key in SCORES:
            row[key] = result[key]
            row[f"{key}_lo"], row[f"{key}_hi"] = result["ci"][key]
        if name in ARCHITECTURES:
            t = training[name]
            row |= {"parameters": t["parameters"], "train_seconds": t["train_seconds"], "epochs": t["epochs"],
                    "best_epoch": t["best_epoch"], **evaluation[name]["validation"]}
            if "quantized" in result:  # the content-word accuracy decoding from z rounded to a few bits a number
                q = result["quantized"]
                row[ROUNDED], (row[f"{ROUNDED}_lo"], row[f"{ROUNDED}_hi"]) = q["content_word_accuracy"], q["ci"]
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("parameters", "epochs", "best_epoch"):
        table[col] = table[col].astype("Int64")  # blank, not NaN, for the references
    return table


def _value(key: str, v) -> str:
    """A score as the report prints it: accuracies in percent, cosines to four places."""
    if v is None or pd.isna(v):
        return "n/a"
    return f"{100 * v:.2f}%" if "accuracy" in key else f"{v:.4f}"


def _signed(key: str, d) -> str:
    """A difference: accuracies in percentage points, cosines to four places."""
    if d is None or pd.isna(d):
        return "n/a"
    return f"{100 * d:+.2f} pt" if "accuracy" in key else f"{d:+.4f}"


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as text: each score as `value [lo, hi]`, blanks where a reference has no such column."""
    out = pd.DataFrame({"model": table["model"]})
    for key in SCORES:
        out[f"{LABELS[key]} [95% CI]"] = [
            f"{_value(key, v)} [{_value(key, lo)}, {_value(key, hi)}]"
            for v, lo, hi in zip(table[key], table[f"{key}_lo"], table[f"{key}_hi"])]
    if ROUNDED in table:
        out[f"{LABELS['content_word_accuracy']}, z at {BITS} bits [95% CI]"] = [
            "" if pd.isna(v) else f"{_value(ROUNDED, v)} [{_value(ROUNDED, lo)}, {_value(ROUNDED, hi)}]"
            for v, lo, hi in zip(table[ROUNDED], table[f"{ROUNDED}_lo"], table[f"{ROUNDED}_hi"])]
    for col in ("parameters", "train_seconds", "epochs", "best_epoch", *CHAMPION_BASIS):
        out[col] = ["" if pd.isna(v) else _value(col, v) if col.startswith("val_") else str(v) for v in table[col]]
    return out


def judge(ci: list) -> str:
    """What an interval of a difference a - b says: 'beats' only when it lies above zero."""
    lo, hi = ci
    if lo is None:
        return "undefined"
    return "beats" if lo > 0 else "is beaten by" if hi < 0 else "no detectable difference"


def best_reference(evaluation: dict, key: str) -> str:
    """The reference with the better score on `key`."""
    refs = evaluation["reference"]
    return max(refs, key=lambda n: -1.0 if refs[n][key] is None else refs[n][key])


def verdict_pairs(evaluation: dict, key: str) -> list[tuple[str, str]]:
    """The comparisons a verdict on `key` rests on: the architectures against each other (the registry's pairs),
    each model against the best reference."""
    return model_pairs(evaluation) + [(m, best_reference(evaluation, key)) for m in models(evaluation)]


def champion(evaluation: dict) -> str:
    """The model with the better validation scores, compared in CHAMPION_BASIS order: test scores never pick it."""
    return max(models(evaluation), key=lambda n: tuple(evaluation[n]["validation"][k] or 0.0 for k in CHAMPION_BASIS))


def verdict(evaluation: dict) -> dict:
    """Per score: the architectures against each other, and each model against the best reference, as words and
    margins."""
    out: dict[str, dict] = {"verdict": {}, "difference": {}}
    for key in SCORES:
        for a, b in verdict_pairs(evaluation, key):
            d = evaluation["differences"][f"{a}_vs_{b}"][key]
            name = f"{a}_vs_{b}" if b in ARCHITECTURES else f"{a}_vs_best_reference"
            out["verdict"].setdefault(name, {})[key] = judge(d["ci"])
            out["difference"].setdefault(name, {})[key] = d["mean"]
    return {"champion": champion(evaluation), "champion_basis": "validation: " + ", then ".join(CHAMPION_BASIS), **out}


def verdict_lines(evaluation: dict) -> list[str]:
    """The verdicts in words, lead score first, each read from the 95% interval of a paired difference."""
    lines = []
    for key in SCORES:
        for a, b in verdict_pairs(evaluation, key):
            d = evaluation["differences"][f"{a}_vs_{b}"][key]
            lo, hi = d["ci"]
            word = judge(d["ci"])
            said = {"beats": f"{a} beats {b}", "is beaten by": f"{a} is beaten by {b}"}.get(word, word)
            ref = " (the best reference)" if b not in ARCHITECTURES else ""
            lines.append(f"{LABELS[key]}: {a} − {b}{ref} = {_signed(key, d['mean'])}, "
                         f"95% CI [{_signed(key, lo)}, {_signed(key, hi)}]: {said}.")
    key = "content_word_accuracy"
    for name in models(evaluation):
        if "quantized" in evaluation[name]:
            q = evaluation[name]["quantized"]
            d, (lo, hi) = q["difference"], q["ci"]
            lines.append(f"{LABELS[key]} of {name} decoding from z rounded to {q['bits']} bits per number: "
                         f"{_value(key, q[key])} [{_value(key, lo)}, {_value(key, hi)}]; rounding costs "
                         f"{_signed(key, -d['mean'])}, 95% CI [{_signed(key, -d['ci'][1])}, {_signed(key, -d['ci'][0])}].")
    win = champion(evaluation)
    basis = ", ".join(f"{k} {_value(k, evaluation[win]['validation'][k])}" for k in CHAMPION_BASIS)
    lines.append(f"Champion (the registry alias \"champion\"): {win}, on validation scores ({basis}); "
                 "test scores are only reported.")
    return lines


def samples_markdown(samples: list[dict]) -> str:
    """Sample reconstructions as markdown tables: position, the original words, each model's words."""
    parts = []
    for sample in samples:
        columns = sample["columns"]
        rows = [f"| {t + 1} | " + " | ".join(f"`{c[t]}`" for c in columns.values()) + " |"
                for t in range(len(columns["original"]))]
        header = "| position | " + " | ".join(columns) + " |"
        parts.append("\n".join([f"### Test window {sample['window']}", "", header, "|" + "---|" * (len(columns) + 1),
                                *rows, ""]))
    return "\n".join(parts)


def bootstrap_note(evaluation: dict) -> str:
    """How the intervals were made."""
    b = evaluation["bootstrap"]
    return (f"Intervals: {100 * b['level']:.0f}% paired bootstrap over the {b['poems']} test poems ({b['resamples']} "
            f"resamples, seed {b['seed']}). Every test token is scored once; nearest words are searched among the "
            f"{evaluation['vocabulary']} word types of the training split.")


def _spread(key: str, v) -> str:
    """A spread (a standard deviation): accuracies in percentage points, cosines to four places."""
    return "n/a" if v is None else f"{100 * v:.2f} pt" if "accuracy" in key else f"{v:.4f}"


def _interval(key: str, d: dict, signed: bool) -> str:
    """A figure with its interval, as the results pages print a difference: `+4.41 pt [+3.98, +4.86]`."""
    if not signed:
        return f"{_value(key, d['mean'])} [{_value(key, d['ci'][0])}, {_value(key, d['ci'][1])}]"
    ends = (_signed(key, v).removesuffix(" pt") for v in d["ci"])
    return f"{_signed(key, d['mean'])} [{', '.join(ends)}]"


def seed_tables(summary: dict) -> list[pd.DataFrame]:
    """A seed group's figures (seeds.summary) as text, a column per score: each model's mean over seeds [95% CI];
    each pair of architectures' difference [95% CI] and its verdict; how far each moves between seeds (standard
    deviation, and the seeds' range)."""
    n, scored = len(summary["seeds"]), summary["models"]
    pairs = [(f"{a} − {b}", summary["differences"][f"{a}_vs_{b}"]) for a, b in model_pairs(scored)]
    means = pd.DataFrame([{"model": name, **{f"{LABELS[k]}, mean of {n} seeds [95% CI]": _interval(k, s[k], False)
                                             for k in SCORES}} for name, s in scored.items()])
    differences = pd.DataFrame([{"difference": name, **{f"{LABELS[k]} [95% CI]": f"{_interval(k, d[k], True)}: "
                                                        f"{d[k]['verdict']}" for k in SCORES}} for name, d in pairs])

    def moves(k: str, s: dict, signed: bool) -> str:
        shown = (_signed(k, v).removesuffix(" pt") for v in (s["min"], s["max"])) if signed else \
            (_value(k, v) for v in (s["min"], s["max"]))
        return f"{_spread(k, s['sd'])} ({' to '.join(shown)})"

    spread = pd.DataFrame([{"between seeds: sd (range)": name, **{LABELS[k]: moves(k, s[k], signed) for k in SCORES}}
                           for rows, signed in ((scored.items(), False), (pairs, True)) for name, s in rows])
    return [means, differences, spread]


def seed_note(summary: dict) -> str:
    """How a seed group's figures were made."""
    n = len(summary["seeds"])
    return (f"Means over {n} training runs per model, train.seed {', '.join(map(str, summary['seeds']))}, each scored "
            f"on the same {summary['poems']} test poems. Intervals: {100 * summary['level']:.0f}% paired bootstrap over "
            f"seeds and test poems ({summary['resamples']} resamples, seed {summary['bootstrap_seed']}): each resample "
            "draws the poems with replacement, then the seeds, the same draws for every model, so an interval holds "
            "both another test split and another initialisation and batch order. Spread: the standard deviation of "
            f"the seeds' scores and their range. {n} seeds give {math.comb(2 * n - 1, n)} distinct draws of seeds: "
            "with fewer than five, the seeds' part of an interval is rough.")


def seed_lines(summary: dict) -> list[str]:
    """A seed group's verdicts in words, lead score first: each pair of architectures over seeds and poems."""
    n, poems, lines = len(summary["seeds"]), summary["poems"], []
    for key in SCORES:
        for a, b in model_pairs(summary["models"]):
            d = summary["differences"][f"{a}_vs_{b}"][key]
            said = {"beats": f"{a} beats {b}", "is beaten by": f"{a} is beaten by {b}"}.get(d["verdict"], d["verdict"])
            lines.append(f"{LABELS[key]}: {a} − {b} = {_signed(key, d['mean'])}, 95% CI over {n} seeds and {poems} "
                         f"test poems [{_signed(key, d['ci'][0])}, {_signed(key, d['ci'][1])}]: {said}; between seeds "
                         f"sd {_spread(key, d['sd'])} ({_signed(key, d['min'])} to {_signed(key, d['max'])}).")
    return lines


ONE_SEED = ("Every verdict above rests on one training run per model (train.seed {seed}): its intervals say how far a "
            "score would move with other test poems, not with another initialisation and batch order. Train the same "
            "settings with other seeds (`dvc exp run --queue -S 'train.seed=range(1,6)'`, then `dvc queue start`) and "
            "this report shows how far the scores move between them; `poetry-rnn seeds` prints it at any time.")


def across_seeds(summary: dict | None, seed: int) -> tuple[str, list[pd.DataFrame], list[str]]:
    """The report's section on training seeds: a seed group's note, tables and verdicts, or (summary None: this
    pipeline's settings have run with one seed only) the plain statement that every verdict rests on one seed."""
    if summary is None:
        return ONE_SEED.format(seed=seed), [], []
    return seed_note(summary), seed_tables(summary), seed_lines(summary)


def render_markdown(table: pd.DataFrame, evaluation: dict, samples: list[dict],
                    seeds: tuple[str, list[pd.DataFrame], list[str]]) -> str:
    """The report: the table with intervals, the verdicts, the same across training seeds (across_seeds), figures
    and samples."""
    lines = ["# Architecture comparison (test poems, each token once, no teacher forcing)", "",
             shown_table(table).to_markdown(index=False), "", bootstrap_note(evaluation), "", "## Verdicts", ""]
    lines += [f"- {line}" for line in verdict_lines(evaluation)]
    note, tables, seed_verdicts = seeds
    lines += ["", "## Across training seeds", "", note, ""]
    for shown in tables:
        lines += [shown.to_markdown(index=False), ""]
    lines += [f"- {line}" for line in seed_verdicts]
    lines += ["", "## Figures", ""]
    for title, png in FIGURES.items():
        lines += [f"### {title}", "", f"![{title}]({png})", ""]
    if samples:
        lines += ["## Sample reconstructions (nearest training word of each reconstructed vector)", "",
                  samples_markdown(samples)]
    return "\n".join(lines) + "\n"


FIGURES = {
    "Test scores with 95% intervals": "scores.png",
    "Training curves": "training_curves.png",
    "Cosine by position": "cosine_by_position.png",
    "Bottleneck map": "bottleneck_map.png",
    "Attention weights (attention model, one test window)": "attention.png",
}
