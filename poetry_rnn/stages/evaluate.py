"""Stage 6: score both models on the test poems, each token once, decoding from the bottleneck alone, beside
references, with paired bootstrap intervals; score them on the validation poems too, for the champion."""

import sys

import pandas as pd
import torch

from poetry_rnn.training import distributed
from poetry_rnn.scoring import plots
from poetry_rnn.atomic import atomic_path, write_json
from poetry_rnn.inputs.chunking import load_chunks, load_vocabulary
from poetry_rnn.scoring.comparison import headline
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.errors import entry_point
from poetry_rnn.scoring.names import BITS, SCORES, TEST_SCORES
from poetry_rnn.scoring.scores import (
    RESAMPLES, LEVEL, bootstrap, bottleneck_stats, code_decoder, code_range, encode_all, mean_vector_reconstructor,
    model_reconstructor, pca_reconstructor, poem_ids, poem_table, rounded, sample_reconstructions, score_tokens,
    scored_tokens, summarize,
)
from poetry_rnn.inputs.glove import load_glove
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.architectures import ARCHITECTURES, pairs as architecture_pairs
from poetry_rnn.paths import CHUNKS, GLOVE, best_checkpoint, stage_dir
from poetry_rnn.stages.training import fingerprint
from poetry_rnn.services.metrics import finish_stage, log_test_scores, percent
from poetry_rnn.services.runs import log_to_pipeline, stage_run, training_run_id
from poetry_rnn.training.engine import load_model, pick_device
from poetry_rnn.scoring.words import Candidates

STAGE = "evaluate"
# Keys (at any depth) of the evaluation that describe what was scored, not how well: logged as MLflow params
SETUP = ("tokens", "content_tokens", "tokens_by_rank", "parameters", "components", "bootstrap", "vocabulary")
VALIDATION = {"content_word_accuracy": "val_content_word_accuracy", "nearest_word_accuracy": "val_nearest_word_accuracy",
              "test_cosine": "val_cosine"}


@entry_point
def main() -> None:
    p = load_params()
    print(distributed.share_cores(), file=sys.stderr)
    with stage_run(STAGE, stage_params(STAGE, p)):
        glove = load_glove(GLOVE)
        train_c, val_c, test_c = (load_chunks(CHUNKS, s) for s in ("train", "val", "test"))
        candidates = Candidates.from_rows(load_vocabulary(CHUNKS)[0], glove.vectors)
        vocab = Vocab.from_chunks(glove.vectors, train_c, val_c, test_c)  # input vectors, not search candidates
        train, val, test = (Windows.from_chunks(c, vocab) for c in (train_c, val_c, test_c))
        models = {name: load_model(best_checkpoint(a.stage), fingerprint(a.stage, p)) for name, a in ARCHITECTURES.items()}
        pca, k = pca_reconstructor(train, vocab, p.model.bottleneck, p.seed)
        device = pick_device(p.train.device)
        reconstructors = {name: model_reconstructor(m, device) for name, m in models.items()}
        references = {"mean_vector": mean_vector_reconstructor(train, vocab), "pca": pca}
        # The test windows encoded once per model: its reconstructions, its code rounded to BITS bits per number (over
        # ranges fitted on training codes) and its bottleneck statistics all read these codes
        codes = {name: encode_all(m, test, vocab) for name, m in models.items()}
        decoded = {name: code_decoder(m, codes[name], device=device) for name, m in models.items()}
        quantized = {f"{name}_{BITS}bit": code_decoder(m, rounded(codes[name], code_range(m, train, vocab, p.seed)),
                                                       device=device) for name, m in models.items()}

        tokens = scored_tokens(test_c, candidates, glove.words)
        scores = {name: score_tokens(r, test, vocab, candidates, device=device)
                  for name, r in (decoded | references | quantized).items()}
        results = {name: summarize(s, tokens) for name, s in scores.items()}
        pairs = architecture_pairs() + [(m, r) for m in models for r in references]
        ci, differences = bootstrap(scores, tokens, pairs + [(f"{m}_{BITS}bit", m) for m in models], seed=p.seed)
        for name in results:
            results[name]["ci"] = ci[name]
        for name in models:  # the rounded code's content-word accuracy beside the model's, and what rounding costs
            q, key = f"{name}_{BITS}bit", "content_word_accuracy"
            results[name]["quantized"] = {"bits": BITS, key: results[q][key], "ci": results[q]["ci"][key],
                                          "difference": differences.pop(f"{q}_vs_{name}")[key]}
            del results[q]
        val_tokens = scored_tokens(val_c, candidates, glove.words)
        for name, r in reconstructors.items():
            val_scores = summarize(score_tokens(r, val, vocab, candidates, device=device), val_tokens)
            results[name]["validation"] = {v: val_scores[k] for k, v in VALIDATION.items()}
        for name in models:
            results[name]["bottleneck"] = bottleneck_stats(codes[name])
            results[name]["parameters"] = models[name].num_parameters()
        results["pca"]["components"] = k

        out = stage_dir(STAGE)
        figures = out / "figures"
        curves = {n: s.cosine_by_position for n, s in scores.items() if n in models}
        curves |= {f"reference_{n}": scores[n].cosine_by_position for n in references}
        with atomic_path(out / "cosine_by_position.csv") as tmp:
            pd.DataFrame({"position": range(1, test.ids.shape[1] + 1), **curves}).to_csv(tmp, index=False)
        with atomic_path(out / "poem_scores.csv") as tmp:  # what a group of training seeds is judged on
            poem_table({m: scores[m] for m in models}, tokens, poem_ids(test_c)).to_csv(tmp, index=False)
        with atomic_path(figures) as tmp:
            tmp.mkdir()
            plots.cosine_by_position(curves, tmp / "cosine_by_position.png")
            plots.bottleneck_map({n: (z.numpy(), test_c.poem) for n, z in codes.items()}, tmp / "bottleneck_map.png")
            attending = next((n for n, m in models.items() if m.cfg.heads > 0), None)  # the first with attention
            if attending is not None:
                with torch.no_grad():
                    _, weights = models[attending].decoder(codes[attending][:1].to(device))  # (1, heads, T, S), free running
                plots.attention_map(weights[0].cpu().numpy(), tmp / "attention.png")
            samples = sample_reconstructions(reconstructors, test, vocab, candidates, glove.words, n=3, seed=p.seed)
            write_json(tmp / "samples.json", samples)
        for name, a in ARCHITECTURES.items():  # test scores on the training runs too, for the UI's Compare view
            log_test_scores(training_run_id(a.stage), {k: results[name][k] for k in TEST_SCORES})
        # and the headline scores on the pipeline's run, so the runs table compares pipelines one row each
        named = {**{m: m for m in models}, **{r: f"reference.{r}" for r in references}}
        log_to_pipeline(percent({named[n]: {k: results[n][k] for k in SCORES} for n in named}))
        evaluation = {
            **{name: results[name] for name in models},
            "reference": {name: results[name] for name in references},
            "differences": differences,
            "bootstrap": {"unit": "test poem", "poems": int(tokens.poem.max()) + 1, "resamples": RESAMPLES,
                          "level": LEVEL, "seed": p.seed},
            "vocabulary": len(candidates.rows),
        }
        finish_stage(STAGE, evaluation, [out / "cosine_by_position.csv", out / "poem_scores.csv", figures],
                     headline=headline(evaluation), setup=SETUP)


if __name__ == "__main__":
    main()
