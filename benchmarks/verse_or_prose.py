"""Verse or prose: the Gutenberg reader's paragraph test against fixed thresholds and a small learned model, on
paragraphs of the shared books labelled by hand (benchmarks/verse_labels.txt).

    python benchmarks/verse_or_prose.py /work/shared/data/poems/pg12242-dickinson-three-series.txt \
        /work/shared/data/poems/gutenberg/

Every paragraph of two lines or more in a labelled book (but editorial notes in brackets, which the reader drops
before judging) is judged three ways:
- fixed thresholds, the reader before it measured books: prose when its lines (continuations joined to lines of 55
  characters or more) average 45 characters and three in ten go on in lowercase, or a lone line exceeds 140;
- measured rules, poetry_rnn.inputs.layout.is_prose: against the book's own wrap width;
- logistic regression (scikit-learn) on the same measured figures, trained on the other books (leave one book out),
  so that no book is judged by a model that saw it.
Prints, per book and overall, the lines misjudged each way (verse lines read as prose, which are lost, and prose
lines kept as verse), counted in lines since a misjudged long paragraph costs more than a short one.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from books import books  # this script's folder is first on sys.path
from poetry_rnn.inputs import layout
from poetry_rnn.inputs.corpus import decode
from poetry_rnn.inputs.gutenberg import END, START

LABELS = Path(__file__).with_name("verse_labels.txt")


@dataclass
class Paragraph:
    book: str
    first: int  # its first line in the file, from 1
    lines: list[str]
    prose: bool  # the label


def labels(path: Path = LABELS) -> dict[str, tuple[set[int], list[tuple[int, int]]]]:
    """Per book: the first lines of its prose paragraphs, and the line ranges left out of the comparison."""
    text = re.sub(r"#.*", "", path.read_text())
    found = {}
    for entry in re.split(r"\n(?=\S)", text.strip()):
        book, _, *words = entry.split()
        prose, neither = (words[: words.index("neither")], words[words.index("neither") + 1 :]) \
            if "neither" in words else (words, [])
        ranges = [tuple(map(int, w.split("-"))) if "-" in w else (int(w), int(w)) for w in neither]
        found[book] = ({int(w) for w in prose}, ranges)
    return found


def paragraphs(path: Path, prose: set[int], neither: list[tuple[int, int]]) -> tuple[list[Paragraph], layout.Layout]:
    """The labelled paragraphs of a book's body (runs of non-blank lines), and the book's measured layout."""
    text = decode(path.read_bytes(), {"decoded_latin1": 0})
    lines = text.split("\n")
    start = text[: START.search(text).end()].count("\n") + 1
    end = text[: END.search(text).start()].count("\n")
    runs, current, gap = [], [], 0
    for number in range(start, end + 1):
        line = lines[number].rstrip()
        if line.strip():
            current.append((number + 1, line))
            continue
        if current:
            runs.append((current, gap))
            current, gap = [], 0
        gap += 1
    measured = layout.measure([([line for _, line in run], gap, after)
                               for (run, gap), (_, after) in zip(runs, runs[1:] + [([], 99)])])
    found = []
    for run, _ in runs:
        first = run[0][0]
        text = "\n".join(line.strip() for _, line in run)
        editorial = text.startswith("[") and text.endswith("]")  # the reader drops these before judging
        if len(run) > 1 and not editorial and not any(lo <= first <= hi for lo, hi in neither):
            found.append(Paragraph(path.name, first, [line for _, line in run], first in prose))
    return found, measured


def fixed_thresholds(lines: list[str]) -> bool:
    """The reader's test before it measured books (poetry_rnn 0.x, inputs/gutenberg.py _unwrap and _is_prose)."""
    indent = len(lines[0]) - len(lines[0].lstrip())
    joined: list[str] = []
    for line in lines:
        if joined and len(line) - len(line.lstrip()) > indent and len(joined[-1]) >= 55:
            joined[-1] += " " + line.strip()
        else:
            joined.append(line.strip())
    lines = joined
    if len(lines) < 2:
        return len(lines) == 1 and len(lines[0]) > 140
    if len(lines[-1]) < 15 and len(lines) > 2 or len(lines[-1]) < 8:
        lines = lines[:-1]
        if len(lines) < 2:
            return False
    mean = sum(len(line) for line in lines[:-1]) / len(lines[:-1])
    lower = sum(1 for line in lines[1:] if line[:1].islower() or line[:1].isdigit()) / (len(lines) - 1)
    return mean >= 45 and lower >= 0.3


def features(lines: list[str], measured: layout.Layout) -> list[float]:
    """The measured figures of a paragraph, as the learned model sees them."""
    joined = layout.unwrap([layout.clean_line(line) for line in lines])
    width = measured.width or max(len(line) for line in joined)
    if len(joined) < 2:
        return [0.0, 0.5, len(joined[0]) / width, 0.0, 1.0]
    breaks = list(zip(joined, joined[1:]))
    lower = sum(nxt[:1].islower() for line, nxt in breaks if not line.endswith(layout._ENDS_SENTENCE))
    upper = sum(nxt[:1].isupper() for line, nxt in breaks if not line.endswith(layout._ENDS_SENTENCE))
    return [
        layout._fills(joined, measured.width),
        (lower + 1) / (lower + upper + 2),
        max(len(line) for line in joined[:-1]) / width,
        sum(not line.endswith(layout._ENDS_SENTENCE + (",", ";")) for line in joined) / len(joined),
        np.log(len(joined)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--labels", type=Path, default=LABELS, help="the hand labels (benchmarks/verse_labels.txt)")
    parser.add_argument("--show", choices=["fixed", "measured", "learned"], help="list the paragraphs it misjudges")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labelled = labels(args.labels)
    data = []  # (paragraph, layout)
    for path in books(args.paths):
        if path.name in labelled:
            found, measured = paragraphs(path, *labelled[path.name])
            data += [(p, measured) for p in found]
    x = np.array([features(p.lines, m) for p, m in data])
    y = np.array([p.prose for p, _ in data])
    weight = np.array([len(p.lines) for p, _ in data])
    names = sorted({p.book for p, _ in data})
    learned = np.zeros(len(data), dtype=bool)
    for name in names:
        held = np.array([p.book == name for p, _ in data])
        model = make_pipeline(StandardScaler(), LogisticRegression())
        model.fit(x[~held], y[~held], logisticregression__sample_weight=weight[~held])
        learned[held] = model.predict(x[held])
    verdicts = {
        "fixed thresholds": np.array([fixed_thresholds(p.lines) for p, _ in data]),
        "measured rules": np.array([layout.is_prose(p.lines, m) for p, m in data]),
        "logistic regression": learned,
    }
    if args.show:
        said = list(verdicts.values())[["fixed", "measured", "learned"].index(args.show)]
        for (p, _), s, truth in zip(data, said, y):
            if s != truth:
                print(f"{'verse read as prose' if s else 'prose kept as verse'}: {p.book} line {p.first}: "
                      + " / ".join(line.strip() for line in p.lines[:3]))
    print(f"{len(data)} paragraphs, {weight.sum():,} lines, {weight[y].sum():,} of them prose, in {len(names)} books")
    print("| book | prose lines | " + " | ".join(f"{k}: verse lost, prose kept" for k in verdicts) + " |")
    print("|---|---|" + "---|" * len(verdicts))
    for name in names + ["all"]:
        rows = np.array([name in ("all", p.book) for p, _ in data])
        cells = []
        for said in verdicts.values():
            lost = weight[rows & said & ~y].sum()
            kept = weight[rows & ~said & y].sum()
            cells.append(f"{lost:,}, {kept:,}")
        print(f"| {name.removesuffix('.txt')} | {weight[rows & y].sum():,} of {weight[rows].sum():,} | "
              + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
