"""The comparison as one standalone HTML page: table, verdict, figures (embedded) and sample reconstructions."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup, escape

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
<ul>{% for line in verdict %}<li>{{ line }}</li>{% endfor %}</ul>
<h2>Figures</h2>
{% for caption, uri in figures %}<figure><figcaption><h3>{{ caption }}</h3></figcaption>
<img src="{{ uri }}" alt="{{ caption }}"></figure>
{% endfor %}
{% if samples %}<h2>Sample reconstructions (nearest corpus word of each reconstructed vector)</h2>
{{ samples }}{% endif %}
</body></html>
"""


def data_uri(png: Path) -> str:
    """A PNG as a data: URI, so the page needs no file beside it."""
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def inline_markdown(text: str) -> Markup:
    """Escaped text with the markdown the reports use: **bold** and `code`."""
    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    return Markup(re.sub(r"`(.+?)`", r"<code>\1</code>", html))


def markdown_tables(markdown: str) -> Markup:
    """The samples markdown (### headings and pipe tables) as HTML."""
    out, rows = [], []

    def flush() -> None:
        if rows:
            head, body = rows[0], [r for r in rows[1:] if not set("".join(r)) <= set("-: ")]
            out.append("<table><tr>" + "".join(f"<th>{inline_markdown(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{inline_markdown(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</table>")
            rows.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        flush()
        if line.startswith("### "):
            out.append(f"<h3>{inline_markdown(line[4:])}</h3>")
        elif line.strip():
            out.append(f"<p>{inline_markdown(line)}</p>")
    flush()
    return Markup("\n".join(out))


def render_html(table: pd.DataFrame, verdict_lines: list[str], figures: dict[str, Path], samples: str = "") -> str:
    """The page: the comparison table, the verdict, each existing figure embedded, the samples as tables."""
    shown = table.map(lambda v: "" if pd.isna(v) else f"{v:.4f}" if isinstance(v, float) else str(v))
    return Environment(autoescape=True).from_string(TEMPLATE).render(
        title="Architecture comparison (test split, no teacher forcing)",
        table=Markup(shown.to_html(index=False, border=0)),
        verdict=[inline_markdown(line) for line in verdict_lines],
        figures=[(caption, data_uri(png)) for caption, png in figures.items() if Path(png).is_file()],
        samples=markdown_tables(samples),
    )
