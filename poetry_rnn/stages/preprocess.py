"""Stage 2: read the poem corpus, tokenize it for GloVe and map tokens to GloVe ids."""

import sys

from poetry_rnn.atomic import atomic_path
from poetry_rnn.corpus import read_corpus
from poetry_rnn.download import fetch
from poetry_rnn.errors import entry_point
from poetry_rnn.glove import load_glove
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.paths import CORPUS, DOWNLOADS, GLOVE
from poetry_rnn.tokenized import encode_poems, numeric_stats, save_corpus, summary_line
from poetry_rnn.tracking import finish_stage, stage_run

STAGE = "preprocess"


@entry_point
def main() -> None:
    p = load_params()
    with stage_run(STAGE, stage_params(STAGE, p)):
        source = fetch(p.poems.source, DOWNLOADS, p.poems.sha256)
        corpus = read_corpus(source)
        tokenized, stats = encode_poems(corpus.poems, load_glove(GLOVE).index)
        with atomic_path(CORPUS) as out:
            save_corpus(tokenized, out)
        print(f"{STAGE}: {summary_line(corpus.stats, stats)}", file=sys.stderr)
        finish_stage(STAGE, numeric_stats({**stats, "source": corpus.stats}), [CORPUS / "poems.csv"])


if __name__ == "__main__":
    main()
