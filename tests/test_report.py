"""The HTML comparison report stands alone: table, verdict, embedded figures and sample tables."""

import re

import pandas as pd

from poetry_rnn import plots
from poetry_rnn.report import render_html

SAMPLES = "### Test window 3\n\n| position | original | baseline |\n|---|---|---|\n| 1 | `the` | `a<b` |\n"


def test_report_embeds_every_figure_and_needs_no_other_file(tmp_path):
    plots.training_curves({"baseline": [{"epoch": 1, "train_loss": 1.0, "val_cosine": 0.1}]}, tmp_path / "curves.png")
    table = pd.DataFrame([{"model": "baseline", "test_cosine": 0.25, "nearest_word_accuracy": 0.5}])
    html = render_html(table, ["Winner: **baseline**"], {"Training curves": tmp_path / "curves.png",
                                                         "Missing": tmp_path / "absent.png"}, SAMPLES)
    assert re.findall(r'src="([^"]*)"', html) and all(s.startswith("data:image/png;base64,")
                                                        for s in re.findall(r'src="([^"]*)"', html))
    assert "<h3>Training curves</h3>" in html and "Missing" not in html
    assert "<td>0.2500</td>" in html and "<li>Winner: <strong>baseline</strong></li>" in html
    assert "<h3>Test window 3</h3>" in html and "<td><code>a&lt;b</code></td>" in html  # escaped
    assert "---" not in html  # the markdown separator row is not a table row
