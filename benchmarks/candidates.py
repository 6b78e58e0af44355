"""Which model and loss bring content words back: each candidate trained on the same windows for the same
budget, scored on the validation poems (never test), decoding from the bottleneck alone.

    dvc repro chunk                                       # on the corpus to measure (e.g. the large benchmark)
    python benchmarks/candidates.py --windows 8000 --epochs 4 --only default,word

Every candidate is a set of overrides of params.yaml's model and train sections, plus an optional shorter
window (the chunk stage's 50-token windows cut into pieces) and nearest-word search. Prints one row per
candidate: validation content-word, nearest-word accuracy and cosine, parameters, numbers per token and
seconds, and appends it as JSON to --out. Figures are for comparing candidates with each other under a
small budget, not final scores: train the winner with `dvc repro` for those.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from poetry_rnn.inputs.chunking import Chunks, load_chunks, load_vocabulary
from poetry_rnn.architectures import model_config
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.scoring.scores import model_reconstructor, score_tokens, scored_tokens, summarize
from poetry_rnn.inputs.glove import load_glove
from poetry_rnn.training.model import Autoencoder, AutoencoderConfig
from poetry_rnn.params import load_params
from poetry_rnn.paths import CHUNKS, GLOVE
from poetry_rnn.training.engine import train
from poetry_rnn.scoring.words import Candidates


class CslsCandidates(Candidates):
    """Nearest words by CSLS (Conneau et al., 2018): 2 cos(y, w) - r(w), where r(w) is w's mean cosine to its k
    nearest model outputs, so a word near many outputs (a hub such as `,`) needs more to win. A decoding
    candidate measured here; it lost on validation to the plain cosine search the pipeline keeps."""

    hubness: torch.Tensor

    @classmethod
    @torch.no_grad()
    def from_outputs(cls, candidates: Candidates, outputs: torch.Tensor, k: int = 10, block: int = 512):
        """The candidates with r(w) measured on `outputs` (N, D), a model's reconstructions of training windows."""
        out = F.normalize(outputs.float(), dim=-1)
        self = cls(candidates.rows, candidates.unit)
        self.hubness = torch.cat([(self.unit[i : i + block] @ out.T).topk(min(k, len(out)), dim=-1).values.mean(-1)
                                  for i in range(0, len(self.unit), block)])
        return self

    def to(self, device: torch.device) -> CslsCandidates:
        return self

    @torch.no_grad()
    def nearest(self, vectors: torch.Tensor, block: int = 4096) -> torch.Tensor:
        idx = torch.cat([(2 * F.normalize(vectors[i : i + block].float(), dim=-1) @ self.unit.T - self.hubness).argmax(-1)
                         for i in range(0, len(vectors), block)])
        return torch.from_numpy(self.rows)[idx]


# What every candidate starts from, whatever params.yaml says: the defaults the table in docs/params.md was measured
# against (a 64-number bottleneck, the vector loss alone), on the chunk stage's 50-token windows.
BASE_MODEL = {"bottleneck": 64, "line": 0, "context": False}
BASE_TRAIN = {"loss": {"cosine_weight": 0.9, "word_weight": 0.0, "temperature": 0.1, "neighbours": 0}, "batch_size": 128}
WORD_T05 = {"loss": {"word_weight": 1.0, "temperature": 0.05}}
CHUNK_WINDOW = 50

# name -> (model overrides, train overrides, window or None for the chunk stage's)
CANDIDATES: dict[str, tuple[dict, dict, int | None]] = {
    "default": ({}, {}, None),
    "word": ({}, {"loss": {"word_weight": 1.0}}, None),
    "word-t05": ({}, {"loss": {"word_weight": 1.0, "temperature": 0.05}}, None),
    "word-only": ({}, {"loss": {"word_weight": 1.0, "cosine_weight": 1.0}}, None),
    "word-b256": ({"bottleneck": 256}, {"loss": {"word_weight": 1.0}}, None),
    # windows read as lines (model.line), each line's code its share of z; batch_size counts lines
    "line10-b256": ({"bottleneck": 256, "line": 10}, WORD_T05, None),
    "line5-b256": ({"bottleneck": 256, "line": 5}, {**WORD_T05, "batch_size": 256}, None),
    "line3-b256": ({"bottleneck": 256, "line": 3}, {**WORD_T05, "batch_size": 427}, None),
    "line5-b512": ({"bottleneck": 512, "line": 5}, {**WORD_T05, "batch_size": 256}, None),
    "word-w10-b128-t05-line5": ({"bottleneck": 128, "line": 5}, {**WORD_T05, "batch_size": 256}, 10),
    "word-w10": ({}, {"loss": {"word_weight": 1.0}}, 10),
    "word-w10-h256": ({"hidden": 256}, {"loss": {"word_weight": 1.0}}, 10),
    "default-w10": ({}, {}, 10),
    "word-w10-b128": ({"bottleneck": 128}, {"loss": {"word_weight": 1.0}}, 10),
    "word-w25-b256": ({"bottleneck": 256}, {"loss": {"word_weight": 1.0}}, 25),
    "word-w5-b64": ({}, {"loss": {"word_weight": 1.0}}, 5),
    "word-w10-b128-t05": ({"bottleneck": 128}, {"loss": {"word_weight": 1.0, "temperature": 0.05}}, 10),
    "word-w10-b48": ({"bottleneck": 48}, {"loss": {"word_weight": 1.0}}, 10),
    "word-w10-b128-ww3": ({"bottleneck": 128}, {"loss": {"word_weight": 3.0}}, 10),
}


def cut(chunks: Chunks, window: int) -> Chunks:
    """The windows cut into consecutive pieces of `window` tokens (the last piece padded); pieces with no
    token dropped. Each token keeps its scored-once flag, so every token is still scored exactly once."""
    t = chunks.ids.shape[1]
    pad = -t % window

    def pieces(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, pad))).reshape(-1, window)

    mask = pieces(chunks.mask)
    keep = mask.any(1)
    return Chunks(pieces(chunks.ids)[keep], mask[keep], np.repeat(chunks.poem, (t + pad) // window)[keep],
                  pieces(chunks.score)[keep])


def sample(chunks: Chunks, n: int, seed: int) -> Chunks:
    """n of the windows, drawn with the seed, in their order: the same windows for every candidate."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(chunks.ids))[:n])
    return Chunks(chunks.ids[pick], chunks.mask[pick], chunks.poem[pick], chunks.score[pick])


def merged(base: dict, overrides: dict) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) else value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=int, default=8000, help="training windows (of the chunk stage's) to train on")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--only", default=",".join(CANDIDATES), help="comma-separated candidate names")
    ap.add_argument("--out", default="candidates.jsonl")
    ap.add_argument("--csls", action=argparse.BooleanOptionalAction, default=True,
                    help="also score each candidate read back with CSLS")
    args = ap.parse_args()
    p = load_params()
    glove = load_glove(GLOVE)
    train_c, val_c = load_chunks(CHUNKS, "train"), load_chunks(CHUNKS, "val")
    if train_c.ids.shape[1] != CHUNK_WINDOW:
        raise SystemExit(f"{CHUNKS} holds {train_c.ids.shape[1]}-token windows; the candidates cut "
                         f"{CHUNK_WINDOW}-token ones: `dvc repro chunk` with chunk.window {CHUNK_WINDOW}, chunk.stride 40")
    train_c = sample(train_c, args.windows, p.seed)
    rows, _ = load_vocabulary(CHUNKS)
    candidates = Candidates.from_rows(rows, glove.vectors)
    vocab = Vocab.from_chunks(glove.vectors, train_c, val_c)
    val_tokens = scored_tokens(val_c, candidates, glove.words)
    print(f"{len(train_c.ids)} training windows, {len(val_c.ids)} validation windows, {int(val_tokens.content.sum())} "
          f"validation content words, {len(rows)} candidates", flush=True)
    for name in args.only.split(","):
        model_over, train_over, window = CANDIDATES[name]
        tr, va = (cut(c, window) if window else c for c in (train_c, val_c))
        mp = merged(merged(p.model.model_dump(), BASE_MODEL), model_over)
        tp = type(p.train).model_validate(
            merged(merged(p.train.model_dump(), BASE_TRAIN), {**train_over, "epochs": args.epochs}))
        torch.manual_seed(tp.seed)
        candidate = p.model_copy(update={"model": type(p.model).model_construct(**mp)})
        cfg = AutoencoderConfig(input_dim=glove.dim, window=tr.ids.shape[1], **model_config(candidate, "baseline"))
        model = Autoencoder(cfg)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            train(model, Windows.from_chunks(tr, vocab), Windows.from_chunks(va, vocab), vocab, tp, Path(tmp),
                  torch.device("cpu"))
        seconds = time.perf_counter() - start
        val = Windows.from_chunks(va, vocab)
        reconstruct = model_reconstructor(model)
        report(name, model_over, train_over, cfg, model, args, len(train_c.ids), seconds,
               summarize(score_tokens(reconstruct, val, vocab, candidates), val_tokens))
        if not args.csls:
            continue
        # The same model read back with CSLS: hubness measured on its outputs for 1,000 training windows.
        windows = Windows.from_chunks(tr, vocab)  # not `sample`: that name is this module's function
        ids, mask = windows.ids[:1000], windows.mask[:1000]
        with torch.no_grad():
            outputs = reconstruct(vocab.table[ids], mask)[mask]
        report(name + "+csls", model_over, train_over, cfg, model, args, len(train_c.ids), seconds,
               summarize(score_tokens(reconstruct, val, vocab, CslsCandidates.from_outputs(candidates, outputs)), val_tokens))


def report(name, model_over, train_over, cfg, model, args, training_windows, seconds, s) -> None:
    row = {"candidate": name, "model": model_over, "train": train_over, "window": cfg.window,
           "numbers_per_token": cfg.bottleneck / cfg.window, "parameters": model.num_parameters(),
           "epochs": args.epochs, "training_windows": training_windows, "seconds": round(seconds, 1),
           "val_content_word_accuracy": s["content_word_accuracy"],
           "val_nearest_word_accuracy": s["nearest_word_accuracy"], "val_cosine": s["test_cosine"],
           "val_accuracy_by_rank": s["accuracy_by_rank"]}
    print(f"{name:22s} content {100 * row['val_content_word_accuracy']:6.2f}%  nearest "
          f"{100 * row['val_nearest_word_accuracy']:6.2f}%  cosine {row['val_cosine']:.4f}  "
          f"{row['numbers_per_token']:.2f}/token  {seconds:.0f} s", flush=True)
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
