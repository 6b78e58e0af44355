"""Stage 3: cut poems into overlapping windows and split them train/val/test by poem."""

from poetry_rnn.atomic import atomic_path
from poetry_rnn.inputs.chunking import (
    SPLITS,
    VOCABULARY,
    make_chunks,
    save_chunks,
    save_vocabulary,
    split_poems,
    training_vocabulary,
)
from poetry_rnn.errors import entry_point
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.paths import CHUNKS, CORPUS
from poetry_rnn.inputs.tokenized import load_corpus
from poetry_rnn.services.metrics import finish_stage
from poetry_rnn.services.runs import stage_run

STAGE = "chunk"


@entry_point
def main() -> None:
    p = load_params()
    with stage_run(STAGE, stage_params(STAGE, p)):
        corpus = load_corpus(CORPUS)
        tokens = corpus.poem_tokens()
        splits = split_poems(list(corpus.poems["poem_id"]), p.chunk.split, p.seed, list(corpus.poems["group"]))
        metrics = {"near_duplicate_groups": corpus.near_duplicate_counts()["near_duplicate_groups"]}
        with atomic_path(CHUNKS) as out:
            out.mkdir()
            for split in SPLITS:
                chunks = make_chunks([tokens[i] for i in splits[split]], splits[split], p.chunk.window, p.chunk.stride)
                save_chunks(chunks, out / f"{split}.npz")
                metrics[split] = {"poems": len(splits[split]), "windows": len(chunks), "tokens": int(chunks.score.sum())}
                if split == "train":
                    rows, counts = training_vocabulary(chunks)
                    save_vocabulary(rows, counts, out / VOCABULARY)
                    metrics["vocabulary"] = len(rows)
        finish_stage(STAGE, metrics)


if __name__ == "__main__":
    main()
