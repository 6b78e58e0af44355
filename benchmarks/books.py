"""How the Gutenberg reader reads each book of a folder: poems, share of the body kept, skipped by reason.

    python benchmarks/books.py /work/shared/data/poems/pg12242-dickinson-three-series.txt \
        /work/shared/data/poems/gutenberg/          # books or folders of books (.txt)

One line per book, as `poetry-rnn split` sums it up, with the lines of its poems that still hold a printed book's
marks (a line number at the right margin, a footnote mark, a bare section number), and a markdown table of the same
figures (the table in docs/inputs.md). Checks that the accounting sums exactly (tokens + sum(skipped) ==
body_tokens) for each book.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.inputs.corpus import Account, account_book, decode
from poetry_rnn.inputs.gutenberg import read_book


# A printed book's marks, not words of its poems: "mulberries,      10", "Halloween^1", "sea [12]", a line "  12".
MARKS = re.compile(r"\S\s{3,}\d+$|\^\d|\[\d+\]|^\s*\d{1,3}\.?\s*$")


def books(paths: list[Path]) -> list[Path]:
    """The .txt books among paths, folders opened, in name order."""
    found = []
    for path in paths:
        found += sorted(path.glob("*.txt")) if path.is_dir() else [path]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args()
    rows = []
    for path in books(args.paths):
        started = time.perf_counter()
        try:
            reading = read_book(decode(path.read_bytes(), {"decoded_latin1": 0}), path.name)
        except PoetryRnnError as error:
            print(f"{path.name}: refused: {error}")
            rows.append(f"| {path.stem} | refused | | | | |")
            continue
        account = Account()
        account_book(reading, path.name, account)
        kept = sum(section.kept for section in reading.sections)
        assert kept + sum(account.skipped.values()) == reading.body_tokens, path.name
        skipped = ", ".join(f"{reason} {n:,}" for reason, n in account.skipped.most_common() if n)
        share = kept / max(reading.body_tokens, 1)
        marks = sum(bool(MARKS.search(line)) for _, text in reading.poems for line in text.split("\n"))
        print(f"{path.name}: {len(reading.poems)} poems, {share:.1%} of {reading.body_tokens:,} kept, {marks} lines "
              f"with marks ({time.perf_counter() - started:.1f}s); skipped {skipped}")
        rows.append(f"| {path.stem} | {len(reading.poems)} | {reading.body_tokens:,} | {share:.1%} | {marks} | "
                    f"{skipped} |")
    print("\n| book | poems | body tokens | kept | lines with marks | skipped |\n|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
