"""Where a model fails to bring words back: the encoder, the decoder, or free-running decoding.

    dvc repro chunk      # on the corpus to measure (e.g. the large benchmark at chunk.window 50)
    python benchmarks/diagnose.py --windows 8000 --epochs 4 --line 0 --batch-size 128 --feed-previous  # one line
    python benchmarks/diagnose.py --checkpoint stages/train_attention/checkpoints/best.pt   # a trained model

Two measurements on the validation poems (never test), each token once, per window position:
- teacher-forced against free-running accuracy of the same model (only a model whose decoder is fed the vector of
  the step before, model.feed_previous): a decoder that is right when fed the truth and wrong on its own outputs
  fails at free running, not at compression;
- a decoder-only test: the decoder frozen, each validation window's code optimised directly (Adam on the
  bottleneck's numbers, the training loss, starting from the mean code: nothing of the window), then decoded free
  running. If those codes bring the words back and the encoder's do not, the encoder is what fails; if neither
  does, the decoder is.
Prints content-word and nearest-word accuracy for each reading, overall and by position band.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from candidates import merged, sample
from poetry_rnn.inputs.chunking import load_chunks, load_vocabulary
from poetry_rnn.architectures import model_config
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.scoring.scores import code_decoder, score_tokens, scored_tokens
from poetry_rnn.inputs.glove import load_glove
from poetry_rnn.training.model import Autoencoder, AutoencoderConfig
from poetry_rnn.params import load_params
from poetry_rnn.paths import CHUNKS, GLOVE
from poetry_rnn.training.engine import load_model, masked_loss, train
from poetry_rnn.scoring.words import Candidates


def accuracy_by_position(hit: np.ndarray, content: np.ndarray, position: np.ndarray, bands: int = 5) -> list[str]:
    """Content-word accuracy in `bands` equal bands of window positions, as printable percentages."""
    edges = np.linspace(0, position.max() + 1, bands + 1).astype(int)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        keep = content & (position >= lo) & (position < hi)
        out.append(f"{lo + 1}-{hi}: {100 * hit[keep].mean():5.1f}%" if keep.any() else f"{lo + 1}-{hi}: -")
    return out


def optimised_codes(model: Autoencoder, data: Windows, vocab: Vocab, loss_cfg, steps: int, lr: float,
                    batch_size: int = 256) -> torch.Tensor:
    """Each window's code found by gradient descent through the frozen decoder, from the mean code: (N, Z)."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    unit_table = F.normalize(vocab.table, dim=-1)
    with torch.no_grad():
        start = torch.cat([model.encode(vocab.table[ids], mask) for ids, mask, _ in data.batches(batch_size)]).mean(0)
    codes = []
    for ids, mask, _ in data.batches(batch_size):
        x = vocab.table[ids]
        z = start.expand(len(ids), -1).clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        for _ in range(steps):
            y = model.decode(z, x.shape[1])
            loss = masked_loss(y, x, mask, loss_cfg, ids, unit_table)
            opt.zero_grad()
            loss.backward()
            opt.step()
        codes.append(z.detach())
    return torch.cat(codes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", help="a trained model's checkpoint; without it, a model is trained here")
    ap.add_argument("--windows", type=int, default=8000, help="training windows to train on (without --checkpoint)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--line", type=int, help="model.line of the model trained here (default: params.yaml's)")
    ap.add_argument("--heads", type=int, default=0, help="0: the baseline decoder")
    ap.add_argument("--feed-previous", action="store_true", help="train a decoder fed the vector of the step before")
    ap.add_argument("--batch-size", type=int, help="train.batch_size of the model trained here (default: params.yaml's)")
    ap.add_argument("--val-windows", type=int, default=1000, help="validation windows to optimise codes for")
    ap.add_argument("--steps", type=int, default=200, help="Adam steps per batch of codes")
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()
    p = load_params()
    glove = load_glove(GLOVE)
    train_c, val_c = load_chunks(CHUNKS, "train"), load_chunks(CHUNKS, "val")
    vocab = Vocab.from_chunks(glove.vectors, train_c, val_c)
    rows, _ = load_vocabulary(CHUNKS)
    candidates = Candidates.from_rows(rows, glove.vectors)
    loss_cfg = p.train.loss
    if args.checkpoint:
        model = load_model(Path(args.checkpoint))
        trained = f"checkpoint {args.checkpoint}"
    else:
        train_c = sample(train_c, args.windows, p.seed)  # the windows benchmarks/candidates.py trains on
        tp = type(p.train).model_validate(merged(p.train.model_dump(), {"epochs": args.epochs, "batch_size":
                                                                        args.batch_size or p.train.batch_size}))
        torch.manual_seed(tp.seed)
        model_params = {**model_config(p, "attention"), "heads": args.heads, "feed_previous": args.feed_previous}
        cfg = AutoencoderConfig(input_dim=glove.dim, window=train_c.ids.shape[1], vocab_size=len(rows),
                                **{**model_params, "line": p.model.line if args.line is None else args.line})
        model = Autoencoder(cfg)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            train(model, Windows.from_chunks(train_c, vocab), Windows.from_chunks(val_c, vocab), vocab, tp, Path(tmp),
                  torch.device("cpu"))
        trained = f"trained here on {len(train_c.ids)} windows, {args.epochs} epochs, {time.perf_counter() - start:.0f} s"
    model.eval()
    cfg = model.cfg
    print(f"window {cfg.window}, line {cfg.line_length} ({cfg.lines} lines), bottleneck {cfg.bottleneck}, hidden "
          f"{cfg.hidden}, heads {cfg.heads}, feed_previous {cfg.feed_previous}: {trained}", flush=True)

    val_c = type(val_c)(*(a[: args.val_windows] for a in (val_c.ids, val_c.mask, val_c.poem, val_c.score)))
    val = Windows.from_chunks(val_c, vocab)
    tokens = scored_tokens(val_c, candidates, glove.words)
    position = np.nonzero(val_c.score)[1]  # each scored token's window position, in scoring order
    print(f"{len(val)} validation windows, {int(tokens.content.sum())} content words", flush=True)

    def report(name: str, reconstruct) -> None:
        s = score_tokens(reconstruct, val, vocab, candidates)
        print(f"{name:38s} content {100 * s.hit[tokens.content].mean():6.2f}%  nearest {100 * s.hit.mean():6.2f}%  "
              f"by position: {', '.join(accuracy_by_position(s.hit, tokens.content, position))}", flush=True)

    report("encoder's code, free running", lambda x, mask: model(x, mask))
    if cfg.feed_previous:
        report("encoder's code, teacher-forced", lambda x, mask: model.teacher_forced(x, mask, 1.0))
    start = time.perf_counter()
    codes = optimised_codes(model, val, vocab, loss_cfg, args.steps, args.lr)
    seconds = time.perf_counter() - start
    report(f"optimised code ({args.steps} steps), free running", code_decoder(model, codes))
    print(f"(codes optimised in {seconds:.0f} s)")


if __name__ == "__main__":
    main()
