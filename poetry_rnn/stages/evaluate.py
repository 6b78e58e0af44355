"""Stage 6: score both models on the test poems, decoding from the bottleneck alone, beside references."""

import pandas as pd
import torch

from poetry_rnn import plots
from poetry_rnn.atomic import atomic_path, write_text
from poetry_rnn.chunking import load_chunks
from poetry_rnn.dataset import Vocab, Windows
from poetry_rnn.errors import cli
from poetry_rnn.evaluate import (
    bottleneck_stats, encode_all, mean_vector_reconstructor, model_reconstructor, pca_reconstructor,
    sample_reconstructions, score,
)
from poetry_rnn.glove import load_glove
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.paths import ARCHITECTURES, CHUNKS, GLOVE, stage_dir
from poetry_rnn.tracking import finish_stage, log_test_scores, stage_run, training_run_id
from poetry_rnn.train import load_model

STAGE = "evaluate"


@cli
def main() -> None:
    p = load_params()
    with stage_run(STAGE, stage_params(STAGE, p)):
        glove = load_glove(GLOVE)
        train_c, val_c, test_c = (load_chunks(CHUNKS, s) for s in ("train", "val", "test"))
        vocab = Vocab.from_chunks(glove.vectors, train_c, val_c, test_c)  # nearest words over the corpus vocabulary
        train, test = Windows.from_chunks(train_c, vocab), Windows.from_chunks(test_c, vocab)
        models = {name: load_model(stage_dir(stage) / "checkpoints" / "best.pt", stage_params(stage, p))
                  for name, stage in ARCHITECTURES.items()}
        pca, k = pca_reconstructor(train, vocab, models["baseline"].cfg.bottleneck, p.seed)

        scores = {name: score(model_reconstructor(m), test, vocab) for name, m in models.items()}
        codes = {name: encode_all(m, test, vocab) for name, m in models.items()}
        for name in models:
            scores[name]["bottleneck"] = bottleneck_stats(codes[name])
        refs = {"mean_vector": score(mean_vector_reconstructor(train, vocab), test, vocab), "pca": score(pca, test, vocab)}
        refs["pca"]["components"] = k

        out = stage_dir(STAGE)
        figures = out / "figures"
        curves = {n: s["cosine_by_position"] for n, s in scores.items()}
        curves |= {f"reference_{n}": s["cosine_by_position"] for n, s in refs.items()}
        with atomic_path(out / "cosine_by_position.csv") as tmp:
            pd.DataFrame({"position": range(1, test.ids.shape[1] + 1), **curves}).to_csv(tmp, index=False)
        with atomic_path(figures) as tmp:
            tmp.mkdir()
            plots.cosine_by_position(curves, tmp / "cosine_by_position.png")
            plots.bottleneck_map({n: (z.numpy(), test_c.poem) for n, z in codes.items()}, tmp / "bottleneck_map.png")
            attention = models["attention"]
            with torch.no_grad():
                _, weights = attention.decoder(codes["attention"][:1])  # (1, heads, T, S), free running
            plots.attention_map(weights[0].numpy(), tmp / "attention.png")
            write_text(tmp / "samples.md", sample_reconstructions(models, test, vocab, glove.words, n=3, seed=p.seed))
        for name, stage in ARCHITECTURES.items():  # test scores on the training runs too, for the UI's Compare view
            log_test_scores(training_run_id(stage_dir(stage)), scores[name])
        finish_stage(STAGE, {**scores, "reference": refs}, [out / "cosine_by_position.csv", figures])


if __name__ == "__main__":
    main()
