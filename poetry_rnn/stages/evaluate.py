"""Stage 6: score both models on the test poems, decoding from the bottleneck alone, beside references."""

import pandas as pd

from poetry_rnn import plots
from poetry_rnn.atomic import atomic_path
from poetry_rnn.chunking import load_chunks
from poetry_rnn.dataset import Vocab, Windows
from poetry_rnn.errors import cli
from poetry_rnn.evaluate import mean_vector_reconstructor, model_reconstructor, pca_reconstructor, score
from poetry_rnn.glove import load_glove
from poetry_rnn.params import load_params
from poetry_rnn.paths import CHUNKS, GLOVE, stage_dir
from poetry_rnn.tracking import finish_stage, stage_run
from poetry_rnn.train import load_model

STAGE = "evaluate"
MODELS = {"baseline": "train_baseline", "attention": "train_attention"}


@cli
def main() -> None:
    p = load_params()
    with stage_run(STAGE, {"seed": p.seed}):
        glove = load_glove(GLOVE)
        train_c, val_c, test_c = (load_chunks(CHUNKS, s) for s in ("train", "val", "test"))
        vocab = Vocab.from_chunks(glove.vectors, train_c, val_c, test_c)  # nearest words over the corpus vocabulary
        train, test = Windows.from_chunks(train_c, vocab), Windows.from_chunks(test_c, vocab)
        models = {name: load_model(stage_dir(stage) / "checkpoints" / "best.pt") for name, stage in MODELS.items()}
        pca, k = pca_reconstructor(train, vocab, models["baseline"].cfg.bottleneck, p.seed)
        scores = {name: score(model_reconstructor(m), test, vocab) for name, m in models.items()}
        refs = {"mean_vector": score(mean_vector_reconstructor(train, vocab), test, vocab), "pca": score(pca, test, vocab)}
        refs["pca"]["components"] = k

        curves = {n: s.pop("cosine_by_position") for n, s in scores.items()}
        curves |= {f"reference_{n}": s.pop("cosine_by_position") for n, s in refs.items()}
        out = stage_dir(STAGE)
        with atomic_path(out / "cosine_by_position.csv") as tmp:
            pd.DataFrame({"position": range(1, test.ids.shape[1] + 1), **curves}).to_csv(tmp, index=False)
        plots.cosine_by_position(curves, out / "cosine_by_position.png")
        finish_stage(STAGE, {**scores, "reference": refs}, [out / "cosine_by_position.csv", out / "cosine_by_position.png"])


if __name__ == "__main__":
    main()
