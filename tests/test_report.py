"""The HTML comparison report stands alone and is rendered from the data: table, verdicts, embedded figures,
sample tables."""

import re

import pandas as pd

from poetry_rnn.scoring import plots
from poetry_rnn.scoring.report import render_html

SAMPLES = [{"window": 3, "columns": {"original": ["the", "sea"], "baseline": ["a<b", "sea"]}}]


def test_report_embeds_every_figure_and_needs_no_other_file(tmp_path):
    plots.training_curves({"baseline": [{"epoch": 1, "train_loss": 1.0, "val_cosine": 0.1}]}, tmp_path / "curves.png")
    table = pd.DataFrame([{"model": "baseline", "test cosine [95% CI]": "0.2500 [0.2400, 0.2600]"}])
    seeds = ("Means over 2 training runs <i>", [pd.DataFrame([{"model": "baseline", "spread": "0.10 pt"}])],
             ["attention beats baseline"])
    html = render_html(table, "Intervals: 95% paired bootstrap.", ["Champion: baseline <b>"],
                       {"Training curves": tmp_path / "curves.png", "Missing": tmp_path / "absent.png"}, SAMPLES, seeds)
    sources = re.findall(r'src="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<h3>Training curves</h3>" in html and "Missing" not in html
    assert "<td>0.2500 [0.2400, 0.2600]</td>" in html and "<li>Champion: baseline &lt;b&gt;</li>" in html
    assert "<h2>Across training seeds</h2>\n<p>Means over 2 training runs &lt;i&gt;</p>" in html
    assert "<td>0.10 pt</td>" in html and "<li>attention beats baseline</li>" in html
    assert "<h3>Test window 3</h3>" in html and "<td><code>a&lt;b</code></td>" in html  # escaped
    assert re.search(r"<tr><td>2</td><td><code>sea</code></td><td><code>sea</code></td></tr>", html)
