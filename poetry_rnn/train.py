"""The training engine both training stages use: masked loss, AdamW, early stopping, checkpoints."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from poetry_rnn.atomic import atomic_path
from poetry_rnn.dataset import Vocab, Windows
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.model import Autoencoder


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    cosine_weight: float = 0.9
    patience: int = 0  # 0: never stop early
    clip: float = 1.0
    seed: int = 42


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row of metrics per epoch
    best_epoch: int = 0
    best_val_cosine: float = -1.0
    seconds: float = 0.0
    tokens_per_second: float = 0.0


def pick_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise PoetryRnnError("train.device is cuda but no CUDA device is available: set train.device to auto or cpu")
    return torch.device(name)


def masked_cosine(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cosine of each real token, (n_real,)."""
    return F.cosine_similarity(pred[mask], target[mask], dim=-1, eps=1e-8)


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, cosine_weight: float) -> torch.Tensor:
    """w * (1 - cosine) + (1 - w) * MSE, over real tokens only."""
    cos = masked_cosine(pred, target, mask).mean()
    mse = F.mse_loss(pred[mask], target[mask])
    return cosine_weight * (1 - cos) + (1 - cosine_weight) * mse


@torch.no_grad()
def mean_cosine(model: Autoencoder, data: Windows, vocab: Vocab, batch_size: int, device: torch.device) -> float:
    """Mean token cosine of the reconstructions, decoding from z alone."""
    model.eval()
    table = vocab.table.to(device)
    total, count = 0.0, 0
    for ids, mask in data.batches(batch_size):
        ids, mask = ids.to(device), mask.to(device)
        x = table[ids]  # (B, T, D)
        cos = masked_cosine(model(x, mask), x, mask)
        total, count = total + cos.sum().item(), count + cos.numel()
    return total / max(count, 1)


def grad_norm(model: torch.nn.Module) -> float:
    """Global L2 norm of the gradients."""
    norms = [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]
    return torch.stack(norms).norm().item() if norms else 0.0


def save_checkpoint(path: Path, **state) -> None:
    """torch.save, atomically: a crash mid-write never leaves a truncated checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def train(
    model: Autoencoder,
    train_data: Windows,
    val_data: Windows,
    vocab: Vocab,
    cfg: TrainConfig,
    checkpoint_dir: Path,
    device: torch.device,
    extra_state: dict | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> TrainResult:
    """Train with AdamW and cosine LR decay; keep best (by val cosine) and last checkpoints every epoch."""
    model.to(device)
    table = vocab.table.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs, eta_min=cfg.lr * 0.05)
    gen = torch.Generator().manual_seed(cfg.seed)
    result = TrainResult()
    real_tokens = int(train_data.mask.sum())
    since_best = 0
    start = time.perf_counter()
    bar = tqdm(range(1, cfg.epochs + 1), desc="epochs", unit="epoch", disable=None)
    for epoch in bar:
        model.train()
        loss_sum, batches, norm_sum = 0.0, 0, 0.0
        for ids, mask in train_data.batches(cfg.batch_size, gen):
            ids, mask = ids.to(device), mask.to(device)
            x = table[ids]  # (B, T, D)
            loss = masked_loss(model(x, mask), x, mask, cfg.cosine_weight)
            if not math.isfinite(loss.item()):
                raise PoetryRnnError(
                    f"training diverged: loss is {loss.item()} at epoch {epoch}, batch {batches + 1}; "
                    "lower train.lr and rerun (the last good checkpoint is kept)"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm_sum += grad_norm(model)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            loss_sum, batches = loss_sum + loss.item(), batches + 1
        row = {
            "epoch": epoch,
            "train_loss": loss_sum / batches,
            "val_cosine": mean_cosine(model, val_data, vocab, cfg.batch_size * 4, device),
            "lr": opt.param_groups[0]["lr"],
            "grad_norm": norm_sum / batches,
        }
        sched.step()
        result.history.append(row)
        improved = row["val_cosine"] > result.best_val_cosine
        state = dict(
            model=model.state_dict(),
            optimizer=opt.state_dict(),
            scheduler=sched.state_dict(),
            epoch=epoch,
            config=model.cfg.to_dict(),
            history=result.history,
            **(extra_state or {}),
        )
        save_checkpoint(checkpoint_dir / "last.pt", **state)
        if improved:
            result.best_epoch, result.best_val_cosine, since_best = epoch, row["val_cosine"], 0
            save_checkpoint(checkpoint_dir / "best.pt", **state)
        else:
            since_best += 1
        bar.set_postfix(loss=f"{row['train_loss']:.4f}", val_cos=f"{row['val_cosine']:.4f}")
        if on_epoch:
            on_epoch(epoch, row)
        if cfg.patience and since_best >= cfg.patience:
            break
    result.seconds = time.perf_counter() - start
    result.tokens_per_second = real_tokens * len(result.history) / max(result.seconds, 1e-9)
    return result


def load_model(checkpoint: Path, map_location: str | torch.device = "cpu") -> Autoencoder:
    """Rebuild a model from a checkpoint written by train()."""
    from poetry_rnn.model import AutoencoderConfig

    if not Path(checkpoint).is_file():
        raise PoetryRnnError(f"{checkpoint} not found: run the training stage first (dvc repro)")
    state = torch.load(checkpoint, map_location=map_location, weights_only=True)
    model = Autoencoder(AutoencoderConfig(**state["config"]))
    model.load_state_dict(state["model"])
    return model.eval()
