"""Stage 7: both architectures side by side, against the references: markdown, CSV and figures."""

import json
import shutil

import pandas as pd

from poetry_rnn import plots
from poetry_rnn.atomic import atomic_path
from poetry_rnn.comparison import comparison_table, render_markdown, verdict
from poetry_rnn.errors import cli
from poetry_rnn.paths import metrics_file, stage_dir
from poetry_rnn.tracking import finish_stage, stage_run

STAGE = "compare"
MODELS = {"baseline": "train_baseline", "attention": "train_attention"}


@cli
def main() -> None:
    with stage_run(STAGE, {"models": ",".join(MODELS)}):
        evaluation = json.loads(metrics_file("evaluate").read_text())
        training = {name: json.loads(metrics_file(stage).read_text()) for name, stage in MODELS.items()}
        histories = {name: pd.read_csv(stage_dir(stage) / "history.csv").to_dict("records") for name, stage in MODELS.items()}
        table = comparison_table(evaluation, training)
        samples = (stage_dir("evaluate") / "figures" / "samples.md").read_text()
        with atomic_path(stage_dir(STAGE)) as out:
            out.mkdir()
            for figure in (stage_dir("evaluate") / "figures").glob("*.png"):
                shutil.copy2(figure, out / figure.name)  # the report stands alone, in MLflow too
            plots.score_bars(table.set_index("model")[["test_cosine", "nearest_word_accuracy"]].to_dict("index"),
                             ["test_cosine", "nearest_word_accuracy"], out / "scores.png")
            plots.training_curves(histories, out / "training_curves.png")
            table.to_csv(out / "comparison.csv", index=False)
            (out / "comparison.md").write_text(render_markdown(table, evaluation, samples))
        finish_stage(STAGE, verdict(evaluation), [stage_dir(STAGE)])


if __name__ == "__main__":
    main()
