"""A seed group's figures: pipelines that differ only in train.seed, read from each one's per-poem scores
(stages/evaluate/poem_scores.csv), summed up per model (the mean over seeds, its interval over seeds and test poems,
the spread between seeds) and per pair of architectures (the difference, its interval and verdict)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.scoring.comparison import judge, model_pairs, models
from poetry_rnn.scoring.names import SCORES
from poetry_rnn.scoring.scores import LEVEL, RESAMPLES, bootstrap_runs


def run_sums(tables: dict[int, pd.DataFrame]) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per model every table scores (registry order) and score: (numerators, denominators), each (seeds, poems), the
    seeds in the order of `tables` and the poems in one order; tables of other test poems are refused, since the
    bootstrap pairs the seeds on the same poems."""
    first, *_ = tables.values()
    poems = np.sort(first["poem"].unique())
    scored = models({name: None for name in set.intersection(*(set(t["model"]) for t in tables.values()))})
    sums: dict[str, dict] = {name: {key: ([], []) for key in SCORES} for name in scored}
    for seed, table in tables.items():
        if not np.array_equal(np.sort(table["poem"].unique()), poems):
            raise PoetryRnnError(
                f"the runs of train.seed {seed} and {next(iter(tables))} were evaluated on other test poems, though they "
                "differ only in train.seed: the data changed between them (another poems.source's content?); "
                "rerun them on the same data")
        for name in scored:
            rows = table[table["model"] == name].set_index("poem").loc[poems]
            for key in SCORES:
                sums[name][key][0].append(rows[f"{key}_num"].to_numpy(np.float64))
                sums[name][key][1].append(rows[f"{key}_den"].to_numpy(np.float64))
    return {name: {key: (np.stack(num), np.stack(den)) for key, (num, den) in by_key.items()}
            for name, by_key in sums.items()}


def _number(value) -> float | None:
    """A float for JSON, None where undefined."""
    return None if value is None or np.isnan(value) else float(value)


def _spread(values: np.ndarray) -> dict:
    """How a figure moves from seed to seed: each seed's value, their standard deviation (n - 1), min and max."""
    defined = values[~np.isnan(values)]
    return {"by_seed": [_number(v) for v in values],
            "sd": _number(defined.std(ddof=1)) if len(defined) > 1 else None,
            "min": _number(defined.min()) if len(defined) else None,
            "max": _number(defined.max()) if len(defined) else None}


def summary(tables: dict[int, pd.DataFrame], seed: int, resamples: int = RESAMPLES) -> dict:
    """A seed group's figures from its per-poem tables ({train.seed: table}): per model and score the mean over seeds
    with its interval (scores.bootstrap_runs: poems, then seeds) and the spread between seeds; the same for each
    pair of architectures' difference, with its verdict. `seed` seeds the bootstrap (the group's `seed`)."""
    tables = dict(sorted(tables.items()))
    sums = run_sums(tables)
    pairs = model_pairs(sums)
    per_run, ci, differences = bootstrap_runs(sums, pairs, seed, resamples)
    out = {"seeds": list(tables), "poems": next(iter(next(iter(sums.values())).values()))[0].shape[1],
           "resamples": resamples, "level": LEVEL, "bootstrap_seed": seed, "models": {}, "differences": {}}
    for name in sums:
        out["models"][name] = {key: {"mean": _number(np.mean(per_run[name][key])), "ci": ci[name][key],
                                     **_spread(per_run[name][key])} for key in SCORES}
    for a, b in pairs:
        d = differences[f"{a}_vs_{b}"]
        out["differences"][f"{a}_vs_{b}"] = {key: {**d[key], "verdict": judge(d[key]["ci"]),
                                                   **_spread(per_run[a][key] - per_run[b][key])} for key in SCORES}
    return out
