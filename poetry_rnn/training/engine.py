"""The training engine both training stages use: masked losses, scheduled sampling, curriculum,
AdamW with cosine decay, gradient health, early stopping, and checkpoints that resume exactly."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from poetry_rnn.training import distributed
from poetry_rnn.atomic import atomic_path
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.training.model import Autoencoder, AutoencoderConfig
from poetry_rnn.params import LossParams, TrainParams
from poetry_rnn.paths import BEST, LAST

VANISHING, EXPLODING = 1e-7, 100.0  # per-tensor gradient norms reported as unhealthy


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row of metrics per epoch
    best_epoch: int = 0
    best_score: float = -float("inf")  # the best epoch's value of the selection column (train's `select`)
    best_val_cosine: float = -1.0  # the best epoch's validation cosine
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    resumed_from: int = 0  # the epoch a previous, interrupted run had completed


def pick_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise PoetryRnnError("train.device is cuda but no CUDA device is available: set train.device to auto or cpu")
    return torch.device(name)


def teacher_forcing_ratio(cfg: TrainParams, epoch: int) -> float:
    """The scheduled-sampling ratio for a 1-based epoch, decaying from teacher_forcing.start to .end."""
    p = (epoch - 1) / max(cfg.epochs - 1, 1)
    a, b = cfg.teacher_forcing.start, cfg.teacher_forcing.end
    if cfg.teacher_forcing.schedule == "exponential":
        return a * ((b + 1e-3) / (a + 1e-3)) ** p if a > 0 else b
    if cfg.teacher_forcing.schedule == "inverse_sigmoid":
        return b + (a - b) / (1 + math.exp(10 * (p - 0.5)))
    return a + (b - a) * p


def curriculum_window(cfg: TrainParams, epoch: int, full: int) -> int:
    """Window length trained on in a 1-based epoch: the curriculum's phases in order, then `full`."""
    done = 0
    for phase in cfg.curriculum:
        done += phase.epochs
        if epoch <= done:
            return min(phase.window, full)
    return full


def masked_loss(pred, target, mask, cfg: LossParams, ids=None, unit_table=None, tokens=None, candidates=None,
                near=None):
    """w * (1 - cosine) + (1 - w) * MSE on real tokens, plus word_weight * softmax loss over the batch's words.

    In data-parallel training each process holds part of the batch: `tokens` (the batch's real tokens, all parts)
    and `candidates` (the batch's words, all parts) make the parts' losses sum to the whole batch's loss."""
    # Means over real tokens as weighted sums, not pred[mask]: boolean indexing waits on the device for a count.
    tokens = mask.sum() if tokens is None else tokens
    share = mask.to(pred.dtype) / tokens.clamp(min=1)  # (B, T): each real token's weight, padding 0
    cos = F.cosine_similarity(pred, target, dim=-1, eps=1e-8)  # (B, T)
    loss = cfg.cosine_weight * ((1 - cos) * share).sum()
    loss = loss + (1 - cfg.cosine_weight) * (((pred - target) ** 2).mean(-1) * share).sum()
    if cfg.word_weight > 0:
        # Sampled softmax: the candidates are the words in this batch, frequent words among them.
        true = ids[mask]
        candidates = torch.unique(true) if candidates is None else candidates  # sorted
        unit = F.normalize(pred[mask], dim=-1)  # (n_real, D)
        logits = unit @ unit_table[candidates].T / cfg.temperature  # (n_real, C)
        if near is not None:  # and each token's own nearest training words, those not among the batch's counted once
            negatives = near[true]  # (n_real, k)
            extra = (unit[:, None, :] * unit_table[negatives]).sum(-1) / cfg.temperature  # (n_real, k)
            logits = torch.cat([logits, extra.masked_fill(torch.isin(negatives, candidates), -torch.inf)], 1)
        ce = F.cross_entropy(logits, torch.searchsorted(candidates, true), reduction="sum")
        loss = loss + cfg.word_weight * ce / tokens.clamp(min=1)
    return loss


@torch.no_grad()
def nearest_words(unit_table: torch.Tensor, vocabulary: torch.Tensor, k: int, block: int = 2048) -> torch.Tensor:
    """(V, k) compact indices of the k training words (`vocabulary`, sorted) nearest (cosine) to each row of the
    unit-normalised table, the row itself left out: the word loss's hard negatives, the words a reconstruction is
    most easily mistaken for."""
    words = unit_table[vocabulary]  # (W, D)
    near = []
    for i in range(0, len(unit_table), block):
        rows = torch.arange(i, min(i + block, len(unit_table)), device=unit_table.device)
        sims = unit_table[rows] @ words.T  # (b, W)
        at = torch.searchsorted(vocabulary, rows).clamp(max=len(vocabulary) - 1)  # the row's own column, if any
        sims[torch.arange(len(rows)), at] = torch.where(vocabulary[at] == rows, -torch.inf, sims[torch.arange(len(rows)), at])
        near.append(vocabulary[sims.topk(min(k, len(vocabulary) - 1), dim=-1).indices])
    return torch.cat(near)


@torch.no_grad()
def mean_cosine(model: Autoencoder, data: Windows, vocab: Vocab, batch_size: int, device: torch.device) -> float:
    """Mean token cosine of the reconstructions, each token once, decoding from z alone (no teacher forcing).
    In data-parallel training each process scores its share of the windows; all get the same mean."""
    model.eval()
    table = vocab.table.to(device)
    data = data.to(device)
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = torch.zeros((), dtype=torch.long, device=device)
    for ids, mask, score in data.batches(batch_size, part=(distributed.rank(), distributed.world())):
        if not len(ids):
            continue
        x = table[ids]  # (B, T, D)
        with autocast(device):
            y = model(x, mask)
        cos = F.cosine_similarity(y.float(), x, dim=-1, eps=1e-8) * score  # (B, T), 0 where not scored
        total, count = total + cos.sum(dtype=torch.float64), count + score.sum()
    total, count = distributed.all_sum(total), distributed.all_sum(count)
    return total.item() / max(count.item(), 1)


def gradient_health(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Global gradient norm, and how many parameter tensors vanish (< 1e-7) or explode (> 100): 0-d tensors on
    the gradients' device, so that the training loop never waits on the device to read them."""
    norms = torch.stack([p.grad.detach().norm() for p in model.parameters() if p.grad is not None])
    return norms.norm(), (norms < VANISHING).sum(), (norms > EXPLODING).sum()


def autocast(device: torch.device):
    """bf16 mixed precision on a CUDA device that has it; a no-op elsewhere (CPU results stay bit-exact)."""
    enabled = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def save_checkpoint(path: Path, **state) -> None:
    """torch.save, atomically: a crash mid-write never leaves a truncated checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _rng_state(shuffle: torch.Generator, step: TrainStep) -> list[dict]:
    """Every random state training draws from, one dict per process: CPU, each CUDA device (dropout there), batch
    order, sampling coins, the code's noise."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    state = {"torch": torch.get_rng_state(), "cuda": cuda, "shuffle": shuffle.get_state(),
             "coins": step.coins.get_state(), "noise": step.noise.get_state()}
    return distributed.all_objects(state)


def _restore_rng(states: list[dict] | dict, shuffle: torch.Generator, step: TrainStep) -> None:
    state = states[distributed.rank()] if isinstance(states, list) else states  # a dict: a checkpoint before DDP
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    shuffle.set_state(state["shuffle"])
    step.coins.set_state(state["coins"])
    if "noise" in state:  # checkpoints from before model.code_bits drew no noise
        step.noise.set_state(state["noise"])


def resumable(checkpoint_dir: Path, fingerprint: dict, complete: bool = False) -> dict | None:
    """The last checkpoint of an interrupted run with the same fingerprint (params and data), or None to start
    afresh; with `complete`, that of a finished training too (its stage failed after it: train() resumed from it
    trains no further)."""
    path = checkpoint_dir / LAST
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if (state.get("complete") and not complete) or state.get("fingerprint") != fingerprint:
        return None
    return state


class TrainStep:
    """One training step as train() takes it: the teacher-forced pass (under DDP with several processes), the masked
    vector and word loss with its hard negatives, gradient health, clipping and AdamW; built once, called per batch."""

    def __init__(self, model: Autoencoder, vocab: Vocab, cfg: TrainParams, device: torch.device):
        self.model, self.cfg, self.device = model.to(device), cfg, device
        self.rank, self.processes = distributed.rank(), distributed.world()
        # train.batch_size counts lines: a window of several lines takes their room, so tokens per step and steps
        # per epoch stay the same at every window (128 windows of 50 tokens would take a fifth of the steps of 10)
        self.windows = -(-cfg.batch_size // model.cfg.lines)  # per process
        self.opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.coins = torch.Generator().manual_seed(cfg.seed + 1)  # scheduled sampling's
        # the code's training noise (model.code_bits), drawn for the whole batch alike in every process
        self.noise = torch.Generator().manual_seed(cfg.seed + 2)
        self.table = vocab.table.to(device)
        self.unit_table = F.normalize(self.table, dim=-1)  # for the word loss
        self.near = None
        if cfg.loss.word_weight > 0 and cfg.loss.neighbours > 0:
            vocabulary = (vocab.index(model.vocab.cpu().numpy()).to(device) if len(model.vocab)
                          else torch.arange(len(self.table), device=device))
            self.near = nearest_words(self.unit_table, vocabulary.unique(), cfg.loss.neighbours)  # (V, k)
        # One call path: the training pass, wrapped in DDP with several processes, which averages the gradients of
        # the parts of each batch (weights and buffers start from rank 0's, so the model is loaded or centred
        # before; the buffers never change in training, so they are not broadcast again). distributed's collectives
        # do nothing in one process.
        self.net = TrainingPass(model)
        if self.processes > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.net, device_ids=[device] if device.type == "cuda" else None, forward_sync_buffers=False)

    def batches(self, data: Windows, shuffle: torch.Generator):
        """This process's part of each step's windows: with P processes a step sees P * windows, each process its
        part, and the parts' losses sum to the loss of the whole batch (one process, P * windows)."""
        return data.batches(self.windows * self.processes, shuffle, (self.rank, self.processes), self.processes)

    def code_noise(self, rows: int) -> torch.Tensor | None:
        """(rows, Z) uniform in [-0.5, 0.5): this process's rows of noise drawn for the whole batch, so that P
        processes add to each window what one process would; None without model.code_bits and code_limit."""
        if not (self.model.cfg.code_bits and self.model.cfg.code_limit):
            return None
        # several processes: the whole batch's rows, one host sync a step (the last batch of an epoch is smaller)
        total = rows if self.processes == 1 else int(distributed.all_sum(torch.tensor(rows, device=self.device)).item())
        noise = torch.rand(total, self.model.cfg.bottleneck, generator=self.noise) - 0.5
        return noise.tensor_split(self.processes)[self.rank].to(self.device)  # the split Windows.batches makes

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, ratio: float):
        """Train on one batch at teacher-forcing `ratio`: its loss, real tokens (all parts), global gradient norm and
        vanishing and exploding tensor counts, as 0-d tensors on the device (nothing here waits on the host but
        code_noise under several processes)."""
        x = self.table[ids]  # (B, T, D)
        n = distributed.all_sum(mask.sum())  # the whole batch's real tokens, all parts
        words = distributed.all_unique(ids[mask]) if self.cfg.loss.word_weight > 0 else None
        with autocast(self.device):
            y = self.net(x, mask, ratio, self.coins, self.code_noise(len(ids)))  # (B, T, D)
        loss = masked_loss(y.float(), x, mask, self.cfg.loss, ids, self.unit_table, tokens=n, candidates=words,
                           near=self.near)
        self.opt.zero_grad(set_to_none=True)
        (loss * self.processes).backward()  # DDP averages over processes; the parts are to be summed
        norm, vanishing, exploding = gradient_health(self.model)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip)
        self.opt.step()
        return loss, n, norm, vanishing, exploding


@dataclass
class Epoch:
    """What one epoch of training measured, read from the device once."""

    loss: float  # mean over batches
    grad_norm: float  # mean over batches
    vanishing: int  # the most parameter tensors vanishing in a batch
    exploding: int
    tokens: int  # real tokens trained on, all processes
    teacher_forcing: float
    window: int


def train_epoch(step: TrainStep, data: Windows, shuffle: torch.Generator, epoch: int) -> Epoch:
    """One pass over the training windows in the order `shuffle` draws, at the 1-based epoch's teacher-forcing
    ratio and curriculum window; raises when a batch's loss is not finite (its weights are not to be kept)."""
    step.model.train()
    ratio, window = teacher_forcing_ratio(step.cfg, epoch), curriculum_window(step.cfg, epoch, data.ids.shape[1])
    device = step.device
    # Running sums stay on the device; they are read once, after the epoch, so no batch waits on the host.
    zero = torch.zeros((), dtype=torch.float64, device=device)
    loss_sum, norm_sum, tokens, bad_loss = zero.clone(), zero.clone(), zero.clone(), zero.clone()
    vanishing = exploding = bad_batch = torch.zeros((), dtype=torch.long, device=device)  # bad_batch 0: none
    batches = 0
    for ids, mask, _ in step.batches(data, shuffle):
        loss, n, norm, v, e = step(ids[:, :window], mask[:, :window], ratio)
        first_bad = (bad_batch == 0) & ~torch.isfinite(loss)
        bad_batch = torch.where(first_bad, batches + 1, bad_batch)
        bad_loss = torch.where(first_bad, loss.detach().double(), bad_loss)
        loss_sum, norm_sum, tokens = loss_sum + loss.detach(), norm_sum + norm, tokens + n
        vanishing, exploding, batches = torch.maximum(vanishing, v), torch.maximum(exploding, e), batches + 1
    # The parts' losses add up; a batch is bad when any part is.
    distributed.all_sum(loss_sum)
    earliest = distributed.all_min(torch.where(bad_batch == 0, batches + 1, bad_batch))
    bad_batch = torch.where(earliest > batches, 0, earliest)
    if bad_batch.item():  # this epoch's weights are not checkpointed: the last good checkpoint is kept
        raise PoetryRnnError(
            f"training diverged: loss is {bad_loss.item()} at epoch {epoch}, batch {bad_batch.item()}; "
            "lower train.lr and rerun (the last good checkpoint is kept)"
        )
    return Epoch(loss_sum.item() / batches, norm_sum.item() / batches, int(vanishing.item()), int(exploding.item()),
                 int(tokens.item()), ratio, window)


def train(
    model: Autoencoder,
    train_data: Windows,
    val_data: Windows,
    vocab: Vocab,
    cfg: TrainParams,
    checkpoint_dir: Path,
    device: torch.device,
    fingerprint: dict | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
    resume: dict | None = None,
    extra_state: dict | None = None,
    validate: Callable[[Autoencoder], dict[str, float]] | None = None,
    select: str = "val_cosine",
) -> TrainResult:
    """Train; write the last checkpoint (and the best, on a better value of the epoch row's `select` column: the
    validation cosine, or a score `validate` adds) after every epoch; patience counts epochs without a better one.

    `fingerprint` (params and data hashes) is stored in checkpoints; `resume`, a state from resumable(),
    continues an interrupted run so that it ends exactly as an uninterrupted one would. `on_epoch` is called
    after the epoch's checkpoint is on disk, so a run killed in between has the epoch in the last checkpoint but not
    reported: the caller reports what resume["history"] holds and it has not. `validate` adds its scores of the
    model to each epoch's row, after the validation cosine (it must not draw random numbers: a resumed run would
    differ)."""
    if resume is not None:
        model.load_state_dict(resume["model"])
    else:  # centre on the mean training vector (a resumed model has it in its state)
        model.offset.copy_(train_data.mean_vector(vocab))
    step = TrainStep(model, vocab, cfg, device)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(step.opt, T_max=cfg.epochs, eta_min=cfg.lr * 0.05)
    shuffle = torch.Generator().manual_seed(cfg.seed)  # batch order
    result, since_best, first, last = TrainResult(), 0, 1, cfg.epochs
    prior_seconds, tokens_seen = 0.0, 0  # carried over by a resumed run
    if resume is not None:
        step.opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        _restore_rng(resume["rng"], shuffle, step)
        result.history, result.best_epoch = list(resume["history"]), resume["best_epoch"]
        result.best_val_cosine, since_best = resume["best_val_cosine"], resume["since_best"]
        result.best_score = resume.get("best_score", result.best_val_cosine)
        result.resumed_from = resume["epoch"]
        first = resume["epoch"] + 1
        last = resume["epoch"] if resume.get("complete") else cfg.epochs  # e.g. stopped early: no further
        prior_seconds, tokens_seen = resume["seconds"], resume["tokens_seen"]
    train_data = train_data.to(device)  # once: no host-to-device copy per batch
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    curriculum_epochs = sum(phase.epochs for phase in cfg.curriculum)
    start = time.perf_counter()
    bar = tqdm(range(first, last + 1), desc="epochs", unit="epoch", disable=None if distributed.is_main() else True,
               initial=first - 1, total=cfg.epochs)
    for epoch in bar:
        epoch_start = time.perf_counter()
        trained = train_epoch(step, train_data, shuffle, epoch)
        tokens_seen += trained.tokens
        row = {
            "epoch": epoch,
            "train_loss": trained.loss,
            # the epoch's training throughput: real tokens of all processes per second, validation excluded
            "train_tokens_per_second": trained.tokens / (time.perf_counter() - epoch_start),
            "val_cosine": mean_cosine(model, val_data, vocab, cfg.batch_size * 4, device),
            **(validate(model) if validate else {}),
            "lr": step.opt.param_groups[0]["lr"],
            "teacher_forcing": trained.teacher_forcing,
            "window": trained.window,
            "grad_norm": trained.grad_norm,
            "grad_vanishing_layers": trained.vanishing,
            "grad_exploding_layers": trained.exploding,
        }
        sched.step()
        result.history.append(row)
        score = row.get(select, row["val_cosine"])  # a sample without content words has only the cosine
        if score > result.best_score:
            result.best_epoch, result.best_score, result.best_val_cosine = epoch, score, row["val_cosine"]
            since_best = 0
        elif epoch > curriculum_epochs:  # short-window phases do not count against patience
            since_best += 1
        stop = bool(cfg.patience) and since_best >= cfg.patience
        state = dict(
            model=model.state_dict(), optimizer=step.opt.state_dict(), scheduler=sched.state_dict(),
            rng=_rng_state(shuffle, step), epoch=epoch, config=model.cfg.to_dict(),
            fingerprint=fingerprint or {}, history=result.history, best_epoch=result.best_epoch,
            best_val_cosine=result.best_val_cosine, best_score=result.best_score,
            since_best=since_best, complete=stop or epoch == cfg.epochs, **(extra_state or {}),
            seconds=prior_seconds + time.perf_counter() - start, tokens_seen=tokens_seen,
        )
        if distributed.is_main():  # the one writer
            if result.best_epoch == epoch:
                save_checkpoint(checkpoint_dir / BEST, **state)
            save_checkpoint(checkpoint_dir / LAST, **state)
            if on_epoch:  # after the checkpoint: a resumed run never repeats an epoch it has reported
                on_epoch(epoch, row)
        bar.set_postfix(loss=f"{row['train_loss']:.4f}", val_cos=f"{row['val_cosine']:.4f}")
        if stop:
            break
    result.seconds = prior_seconds + time.perf_counter() - start  # training time, excluding the interruption
    result.tokens_per_second = tokens_seen / max(result.seconds, 1e-9)
    return result


class TrainingPass(torch.nn.Module):
    """The model's teacher-forced training pass as forward(): what DistributedDataParallel wraps."""

    def __init__(self, model: Autoencoder):
        super().__init__()
        self.model = model

    def forward(self, x, mask, teacher_forcing: float, generator: torch.Generator | None = None,
                noise: torch.Tensor | None = None):
        return self.model.teacher_forced(x, mask, teacher_forcing, generator, noise)


def load_model(checkpoint: Path, expected: dict | None = None, map_location: str | torch.device = "cpu") -> Autoencoder:
    """Rebuild a model from a checkpoint written by train(), refusing one whose fingerprint (params and data) is
    not `expected`."""
    if not Path(checkpoint).is_file():
        raise PoetryRnnError(f"{checkpoint} not found: run the training stage first (dvc repro)")
    state = torch.load(checkpoint, map_location=map_location, weights_only=True)
    if expected is not None:
        got = state.get("fingerprint", {})
        differ = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
        if differ:
            detail = "; ".join(f"{k}: {got.get(k)!r} in the checkpoint, {expected.get(k)!r} now" for k in differ)
            raise PoetryRnnError(f"{checkpoint} was trained with other params or data ({detail}): "
                                 "retrain it with `dvc repro`, or restore the params and data it was trained with")
    model = Autoencoder(AutoencoderConfig(**state["config"]))
    model.load_state_dict(state["model"])
    return model.eval()
