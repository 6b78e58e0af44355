"""The comparison as one standalone HTML page, rendered from the data: table, verdicts, the same across training
seeds, figures (embedded) and sample reconstructions."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
 table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
 th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
 th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
 img { max-width: 100%; border: 1px solid #eee; } code { font-size: 0.95em; }
</style></head><body>
<h1>{{ title }}</h1>
{{ table }}
<p>{{ note }}</p>
<h2>Verdicts</h2>
<ul>{% for line in verdict %}<li>{{ line }}</li>{% endfor %}</ul>
<h2>Across training seeds</h2>
<p>{{ seed_note }}</p>
{% for shown in seed_tables %}{{ shown }}
{% endfor %}{% if seed_verdict %}<ul>{% for line in seed_verdict %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
<h2>Figures</h2>
{% for caption, uri in figures %}<figure><figcaption><h3>{{ caption }}</h3></figcaption>
<img src="{{ uri }}" alt="{{ caption }}"></figure>
{% endfor %}
{% if samples %}<h2>Sample reconstructions (nearest training word of each reconstructed vector)</h2>
{% for sample in samples %}<h3>Test window {{ sample.window }}</h3>
<table><tr><th>position</th>{% for name in sample.columns %}<th>{{ name }}</th>{% endfor %}</tr>
{% for t in range(sample.columns.original | length) %}<tr><td>{{ t + 1 }}</td>{% for words in sample.columns.values() %}<td><code>{{ words[t] }}</code></td>{% endfor %}</tr>
{% endfor %}</table>
{% endfor %}{% endif %}
</body></html>
"""


def data_uri(png: Path) -> str:
    """A PNG as a data: URI, so the page needs no file beside it."""
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def render_html(table: pd.DataFrame, note: str, verdict_lines: list[str], figures: dict[str, Path],
                samples: list[dict], seeds: tuple[str, list[pd.DataFrame], list[str]]) -> str:
    """The page: the comparison table (as text), the verdicts, the section on training seeds
    (comparison.across_seeds), each existing figure embedded, the samples."""
    seed_note, seed_tables, seed_verdict = seeds
    return Environment(autoescape=True).from_string(TEMPLATE).render(
        title="Architecture comparison (test poems, each token once, no teacher forcing)",
        table=Markup(table.to_html(index=False, border=0)),  # pandas escapes the cells
        note=note,
        verdict=verdict_lines,
        seed_note=seed_note,
        seed_tables=[Markup(shown.to_html(index=False, border=0)) for shown in seed_tables],
        seed_verdict=seed_verdict,
        figures=[(caption, data_uri(png)) for caption, png in figures.items() if Path(png).is_file()],
        samples=samples,
    )
