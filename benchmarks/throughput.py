"""Training throughput and evaluation time of both models, and the per-step decoder loop against a fused call.

    python benchmarks/throughput.py                 # synthetic windows, default params.yaml model
    python benchmarks/throughput.py --real          # the windows in data/chunks (after `dvc repro chunk`)

Prints tokens per second for a training step (forward, backward with params.yaml's loss, AdamW; bf16 autocast
on CUDA, as train() runs it) in each decoding mode, and the time to score the evaluation set, on every device
present (the CPU and each CUDA device), with each device's ratio to the CPU measured in the same run. Figures
vary with the machine; compare them on the same one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from poetry_rnn.architectures import ARCHITECTURES, model_config
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.scoring.scores import model_reconstructor, score_tokens
from poetry_rnn.training.model import Autoencoder, AutoencoderConfig
from poetry_rnn.params import load_params
from poetry_rnn.training.engine import autocast, masked_loss
from poetry_rnn.scoring.words import Candidates


def synthetic(n: int, window: int, dim: int, vocab_size: int = 5000) -> tuple[Windows, Vocab]:
    """Random windows over a random vocabulary: speed does not depend on what the vectors mean."""
    g = torch.Generator().manual_seed(0)
    vocab = Vocab(np.arange(vocab_size), torch.randn(vocab_size, dim, generator=g))
    mask = torch.ones(n, window, dtype=torch.bool)
    return Windows(torch.randint(0, vocab_size, (n, window), generator=g), mask, mask), vocab


def real(n: int) -> tuple[Windows, Vocab]:
    """The first n training windows of data/chunks, with their GloVe vectors."""
    from poetry_rnn.inputs.chunking import load_chunks
    from poetry_rnn.inputs.glove import load_glove
    from poetry_rnn.paths import CHUNKS, GLOVE

    chunks = load_chunks(CHUNKS, "train")
    vocab = Vocab.from_chunks(load_glove(GLOVE).vectors, chunks)
    w = Windows.from_chunks(chunks, vocab)
    return Windows(w.ids[:n], w.mask[:n], w.score[:n]), vocab


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_tokens_per_second(model: Autoencoder, data: Windows, vocab: Vocab, batch: int, ratio: float, batches: int,
                            device: torch.device) -> float:
    """Tokens per second of full training steps at a teacher-forcing ratio (1.0: fused call; below: per-step loop)."""
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    cfg, coins = load_params().train.loss, torch.Generator().manual_seed(0)
    table, data = vocab.table.to(device), data.to(device)
    unit_table = torch.nn.functional.normalize(table, dim=-1)  # the word loss's candidates, as in train()
    it = data.batches(batch, torch.Generator().manual_seed(0))
    tokens, elapsed = 0, 0.0
    for i in range(batches + 2):  # the first two are warm-up
        ids, mask, _ = next(it)
        x = table[ids]
        sync(device)
        start = time.perf_counter()
        with autocast(device):
            y, _ = model.decoder(model.encode(x, mask), target=x, teacher_forcing=ratio, generator=coins)
        loss = masked_loss(y.float(), x, mask, cfg, ids, unit_table)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync(device)
        if i >= 2:
            elapsed += time.perf_counter() - start
            tokens += int(mask.sum())
    return tokens / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", action="store_true", help="use data/chunks instead of synthetic windows")
    ap.add_argument("--windows", type=int, default=2000, help="windows to train on and to evaluate")
    ap.add_argument("--batches", type=int, default=10, help="timed training batches per measurement")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    p = load_params()
    data, vocab = real(args.windows) if args.real else synthetic(args.windows, p.chunk.window, p.glove.dim)
    window, dim = data.ids.shape[1], vocab.table.shape[1]
    candidates = Candidates(np.asarray(vocab.rows, np.int64), torch.nn.functional.normalize(vocab.table, dim=-1))
    devices = [torch.device("cpu")] + [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    print(f"{'synthetic' if not args.real else 'data/chunks'}: {len(data)} windows of {window} tokens, {dim}-d vectors, "
          f"cell {p.model.cell}, hidden {p.model.hidden}, bottleneck {p.model.bottleneck}, batch {p.train.batch_size}, "
          f"{args.threads} CPU threads, torch {torch.__version__}")
    print("devices: " + ", ".join(torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu" for d in devices))
    print(f"{'device':<8} {'model':<10} {'decoder':<34} {'train tok/s':>12} {'vs loop':>8} {'vs cpu':>8} {'eval s':>8}")
    on_cpu = {}
    for device in devices:
        for name in ARCHITECTURES:
            rows = []
            for label, feed, ratio in (("fed z + position (fused)", False, 1.0),
                                       ("teacher forcing 1.0 (fused)", True, 1.0),
                                       ("scheduled sampling (per-step loop)", True, 0.5)):
                torch.manual_seed(0)
                cfg = AutoencoderConfig(input_dim=dim, window=window, **{**model_config(p, name), "feed_previous": feed})
                model = Autoencoder(cfg)
                tps = train_tokens_per_second(model, data, vocab, p.train.batch_size, ratio, args.batches, device)
                sync(device)
                start = time.perf_counter()  # free running: a per-step loop when fed its outputs
                score_tokens(model_reconstructor(model, device), data, vocab, candidates, device=device)
                sync(device)
                rows.append((label, tps, time.perf_counter() - start))
            loop = rows[-1][1]
            for label, tps, seconds in rows:
                base = on_cpu.setdefault((name, label), tps)
                print(f"{device.type:<8} {name:<10} {label:<34} {tps:>12,.0f} {tps / loop:>7.1f}x {tps / base:>7.1f}x "
                      f"{seconds:>8.2f}")


if __name__ == "__main__":
    main()
