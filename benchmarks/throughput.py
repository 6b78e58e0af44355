"""Training throughput of the training step itself, beside a matmul-bound anchor, and evaluation time, for every model.

    python benchmarks/throughput.py                 # synthetic windows of chunk.window tokens, params.yaml's model
    python benchmarks/throughput.py --window 50     # synthetic 50-token windows (lines of model.line tokens)
    python benchmarks/throughput.py --real          # the windows in data/chunks (after `dvc repro chunk`)

Times engine.TrainStep, the step train() runs (the batch as train.batch_size lines; params.yaml's loss with the word
loss and its hard negatives; gradient health, clipping, AdamW; bf16 autocast on CUDA), in each decoding mode, on
every device present (the CPU and each CUDA device), and prints its tokens per second beside the matmul-bound
anchor measured just before it: the tokens per second the step would reach if each of its FLOPs (counted on the CPU)
ran as fast as a large matrix product does on that device. The share of the anchor is what to compare across
machines and loads; absolute figures carry whatever else the machine is running. Also the time to score the windows
(free-running decode, cosine and nearest-word search), and each device's ratio to the CPU from the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from poetry_rnn.architectures import ARCHITECTURES, model_config
from poetry_rnn.params import load_params
from poetry_rnn.scoring.scores import model_reconstructor, score_tokens
from poetry_rnn.scoring.words import Candidates
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.training.engine import TrainStep, autocast
from poetry_rnn.training.model import Autoencoder, AutoencoderConfig

WARMUP = 2  # untimed steps before the timed ones; the first is also the one whose FLOPs are counted
MODES = (("fed z + position (fused)", False, 1.0),  # (label, model.feed_previous, teacher-forcing ratio)
         ("teacher forcing 1.0 (fused)", True, 1.0),
         ("scheduled sampling (per-step loop)", True, 0.5))


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


def make_step(p, name: str, feed_previous: bool, data: Windows, vocab: Vocab, device: torch.device) -> TrainStep:
    """A fresh model of architecture `name` for the windows (seeded), centred as train() starts one, and train()'s
    step for it with params.yaml's training."""
    torch.manual_seed(0)
    cfg = AutoencoderConfig(input_dim=vocab.table.shape[1], window=data.ids.shape[1],
                            **{**model_config(p, name), "feed_previous": feed_previous})
    model = Autoencoder(cfg)
    model.offset.copy_(data.mean_vector(vocab))
    return TrainStep(model, vocab, p.train, device)


def step_batches(step: TrainStep, data: Windows, seed: int):
    """The windows of each training step as train() draws them (train.seed's order), epoch after epoch: any number
    of steps runs on any number of windows."""
    shuffle = torch.Generator().manual_seed(seed)
    while True:
        yield from step.batches(data, shuffle)


def matmul_flops(device: torch.device, n: int = 1024, seconds: float = 0.25) -> float:
    """FLOP/s of n x n matrix products on `device` in the step's precision (under the same autocast)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    reps, elapsed = 1, 0.0
    with autocast(device):
        a @ b  # warm-up
        while elapsed < seconds:
            reps *= 2
            sync(device)
            start = time.perf_counter()
            for _ in range(reps):
                a @ b
            sync(device)
            elapsed = time.perf_counter() - start
    return 2 * n**3 * reps / elapsed


def step_throughput(step: TrainStep, data: Windows, seed: int, ratio: float, steps: int) -> tuple[float, float]:
    """Tokens per second of `steps` training steps at a teacher-forcing ratio (1.0: fused call; below: per-step
    loop) after the warm-up, and the FLOPs per token of the first warm-up step (torch's count: on the CPU it sees
    the RNNs' matrix products, not inside cuDNN's)."""
    batches = step_batches(step, data.to(step.device), seed)
    with FlopCounterMode(display=False) as counter:
        ids, mask, _ = next(batches)
        step(ids, mask, ratio)
    flops = counter.get_total_flops() / int(mask.sum())
    for _ in range(WARMUP - 1):
        ids, mask, _ = next(batches)
        step(ids, mask, ratio)
    sync(step.device)
    tokens, start = 0, time.perf_counter()
    for _ in range(steps):
        ids, mask, _ = next(batches)
        tokens = tokens + step(ids, mask, ratio)[1]  # on the device, as in training: no step waits on the host
    sync(step.device)
    return int(tokens) / (time.perf_counter() - start), flops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", action="store_true", help="use data/chunks instead of synthetic windows")
    ap.add_argument("--window", type=int, help="tokens per synthetic window (default chunk.window)")
    ap.add_argument("--windows", type=int, default=2000, help="windows the steps cycle over, and scored")
    ap.add_argument("--batches", type=int, default=10, help="timed training steps per measurement")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    if args.real and args.window:
        ap.error("--window sets synthetic windows; --real trains on data/chunks' own")
    torch.set_num_threads(args.threads)
    p = load_params()
    if args.real:
        data, vocab = real(args.windows)
    else:
        data, vocab = synthetic(args.windows, args.window or p.chunk.window, p.glove.dim)
    window, dim = data.ids.shape[1], vocab.table.shape[1]
    candidates = Candidates(np.asarray(vocab.rows, np.int64), torch.nn.functional.normalize(vocab.table, dim=-1))
    devices = [torch.device("cpu")] + [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    loss = p.train.loss
    print(f"{'data/chunks' if args.real else 'synthetic'}: {len(data)} windows of {window} tokens, {dim}-d vectors; "
          f"cell {p.model.cell}, hidden {p.model.hidden}, bottleneck {p.model.bottleneck}, lines of {p.model.line}; "
          f"{args.threads} CPU threads, torch {torch.__version__}")
    print(f"step: train.batch_size {p.train.batch_size} lines a step (windows below), loss with word weight "
          f"{loss.word_weight} and {loss.neighbours} hard negatives, gradient health, clip {p.train.clip}, AdamW; "
          f"{args.batches} timed steps after {WARMUP}")
    print("devices: " + ", ".join(torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu" for d in devices))
    print(f"{'device':<7} {'model':<10} {'decoder':<35} {'windows':>7} {'train tok/s':>11} {'matmul-bound':>12} "
          f"{'of bound':>8} {'vs loop':>7} {'vs cpu':>7} {'eval s':>7}")
    on_cpu = {}  # (model, mode) -> (tokens per second, FLOPs per token) on the CPU
    for device in devices:
        for name in ARCHITECTURES:
            rows = []
            for label, feed, ratio in MODES:
                step = make_step(p, name, feed, data, vocab, device)
                if len(data) < step.windows:
                    ap.error(f"--windows {len(data)} is less than one step's {step.windows} windows")
                bound = matmul_flops(device)  # just before the step: the same load on the machine
                tps, flops = step_throughput(step, data, p.train.seed, ratio, args.batches)
                flops = on_cpu.setdefault((name, label), (tps, flops))[1]  # the CPU's count sees every product
                sync(device)
                start = time.perf_counter()  # free running: a per-step loop when fed its outputs
                score_tokens(model_reconstructor(step.model, device), data, vocab, candidates, device=device)
                sync(device)
                rows.append((label, step.windows, tps, bound / flops, time.perf_counter() - start))
            loop = rows[-1][2]
            for label, windows, tps, anchor, seconds in rows:
                print(f"{device.type:<7} {name:<10} {label:<35} {windows:>7} {tps:>11,.0f} {anchor:>12,.0f} "
                      f"{tps / anchor:>8.0%} {tps / loop:>6.1f}x {tps / on_cpu[name, label][0]:>6.1f}x {seconds:>7.2f}")


if __name__ == "__main__":
    main()
