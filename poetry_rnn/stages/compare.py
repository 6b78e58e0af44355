"""Stage 7: the architectures side by side, against the references, with intervals, and across the training seeds
of the same settings that the store holds: markdown, HTML, CSV and figures; the registry alias `champion` on the
model with the better validation scores."""

import json
import shutil

import pandas as pd

from poetry_rnn.scoring import plots
from poetry_rnn.atomic import atomic_path
from poetry_rnn.scoring.comparison import (
    FIGURES, across_seeds, bootstrap_note, comparison_table, render_markdown, shown_table, verdict, verdict_lines,
)
from poetry_rnn.scoring.seeds import summary as seed_summary
from poetry_rnn.scoring.names import SCORES
from poetry_rnn.errors import entry_point
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.architectures import ARCHITECTURES
from poetry_rnn.paths import details_file, history_file, stage_dir
from poetry_rnn.scoring.report import render_html
from poetry_rnn.services.metrics import finish_stage
from poetry_rnn.services.registry import crown_champion
from poetry_rnn.services.runs import log_to_pipeline, stage_run, training_run_id
from poetry_rnn.services.seed_groups import POEM_SCORES, with_other_seeds

STAGE = "compare"


@entry_point
def main() -> None:
    p = load_params()
    with stage_run(STAGE, stage_params(STAGE, p)):
        evaluation = json.loads(details_file("evaluate").read_text())
        training = {name: json.loads(details_file(a.stage).read_text()) for name, a in ARCHITECTURES.items()}
        histories = {name: pd.read_csv(history_file(a.stage)).to_dict("records") for name, a in ARCHITECTURES.items()}
        table = comparison_table(evaluation, training)
        samples = json.loads((stage_dir("evaluate") / "figures" / "samples.json").read_text())
        # this seed beside the others of the same settings in the store: one seed is said to be one
        seeds = with_other_seeds(pd.read_csv(stage_dir("evaluate") / POEM_SCORES), p.train.seed)
        spread = seed_summary(seeds, evaluation["bootstrap"]["seed"]) if len(seeds) > 1 else None
        section = across_seeds(spread, p.train.seed)
        with atomic_path(stage_dir(STAGE)) as out:
            out.mkdir()
            for figure in (stage_dir("evaluate") / "figures").glob("*.png"):
                shutil.copy2(figure, out / figure.name)  # the report stands alone, in MLflow too
            plots.score_bars(table.set_index("model"), list(SCORES), out / "scores.png")
            plots.training_curves(histories, out / "training_curves.png")
            table.to_csv(out / "comparison.csv", index=False)
            (out / "comparison.md").write_text(render_markdown(table, evaluation, samples, section))
            figures = {title: out / png for title, png in FIGURES.items()}
            (out / "report.html").write_text(render_html(shown_table(table), bootstrap_note(evaluation),
                                                         verdict_lines(evaluation), figures, samples, section))
        outcome = {**verdict(evaluation), "seeds": spread or {"seeds": [p.train.seed]}}
        finish_stage(STAGE, outcome, [stage_dir(STAGE)], headline={"champion": outcome["champion"]},
                     setup=("poems", "resamples", "level", "bootstrap_seed"))
        log_to_pipeline(tags={"champion": outcome["champion"]})
        crown_champion(outcome["champion"], {m: training_run_id(a.stage) for m, a in ARCHITECTURES.items()})


if __name__ == "__main__":
    main()
