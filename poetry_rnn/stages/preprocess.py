"""Stage 2: read the poem sources, tokenize them for GloVe, map tokens to GloVe ids and group near-duplicates."""

import sys

from poetry_rnn.atomic import atomic_path
from poetry_rnn.inputs.corpus import read_sources, source_names
from poetry_rnn.inputs.download import fetch
from poetry_rnn.errors import entry_point
from poetry_rnn.inputs.glove import load_glove
from poetry_rnn.inputs.near_duplicates import near_duplicate_groups
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.paths import CORPUS, DOWNLOADS, GLOVE
from poetry_rnn.inputs.tokenized import encode_poems, numeric_stats, save_corpus, source_accounts, source_lines, summary_line
from poetry_rnn.services.metrics import finish_stage
from poetry_rnn.services.runs import stage_run

STAGE = "preprocess"


@entry_point
def main() -> None:
    p = load_params()
    with stage_run(STAGE, stage_params(STAGE, p)):
        names = source_names(p.poems.sources)
        paths = {name: fetch(src, DOWNLOADS, sha) for name, src, sha in zip(names, p.poems.sources, p.poems.checksums)}
        corpus = read_sources(paths, p.poems.fields, p.poems.drama)
        glove = load_glove(GLOVE)
        tokenized, stats = encode_poems(corpus.poems, glove.index)
        tokenized.poems["group"] = near_duplicate_groups(tokenized.poem_words(glove.words))
        stats |= tokenized.near_duplicate_counts()
        stats["sources"] = source_accounts(tokenized, corpus.accounts)
        with atomic_path(CORPUS) as out:
            save_corpus(tokenized, out)
        print(f"{STAGE}: {summary_line(corpus.stats, stats)}", file=sys.stderr)
        for line in source_lines(stats["sources"], corpus.accounts):
            print(f"{STAGE}: {line}", file=sys.stderr)
        finish_stage(STAGE, numeric_stats({**stats, "source": corpus.stats}), [CORPUS / "poems.csv"])


if __name__ == "__main__":
    main()
