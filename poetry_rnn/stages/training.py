"""What the two training stages share: the same wiring, metric names and outputs, differing only in the decoder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from poetry_rnn.atomic import atomic_path
from poetry_rnn.chunking import load_chunks
from poetry_rnn.dataset import Vocab, Windows
from poetry_rnn.glove import load_glove
from poetry_rnn.model import Autoencoder, AutoencoderConfig
from poetry_rnn.params import flatten, load_params
from poetry_rnn.paths import CHUNKS, GLOVE, stage_dir
from poetry_rnn.tracking import finish_stage, stage_run
from poetry_rnn.train import TrainConfig, pick_device, train


def run_training_stage(stage: str, attention: bool) -> None:
    """Train one architecture; log per-epoch metrics, checkpoints and the final model to MLflow."""
    import mlflow

    p = load_params()
    model_params = p.model.model_dump(exclude=None if attention else {"heads"})
    with stage_run(stage, flatten({"seed": p.seed, "model": model_params, "train": p.train.model_dump()})):
        torch.manual_seed(p.seed)
        glove = load_glove(GLOVE)
        train_chunks, val_chunks = load_chunks(CHUNKS, "train"), load_chunks(CHUNKS, "val")
        vocab = Vocab.from_chunks(glove.vectors, train_chunks, val_chunks)
        cfg = AutoencoderConfig(
            input_dim=glove.dim, window=train_chunks.ids.shape[1], cell=p.model.cell, hidden=p.model.hidden,
            bottleneck=p.model.bottleneck, layers=p.model.layers, dropout=p.model.dropout,
            heads=p.model.heads if attention else 0,
        )
        model = Autoencoder(cfg)
        tc = p.train
        out = stage_dir(stage)
        checkpoints = out / "checkpoints"
        checkpoints.mkdir(parents=True, exist_ok=True)
        result = train(
            model, Windows.from_chunks(train_chunks, vocab), Windows.from_chunks(val_chunks, vocab), vocab,
            TrainConfig(tc.epochs, tc.batch_size, tc.lr, tc.weight_decay, tc.cosine_weight, tc.patience, seed=p.seed),
            checkpoints, pick_device(tc.device), extra_state={"params": p.model_dump()},
            on_epoch=lambda epoch, row: mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch),
        )
        with atomic_path(out / "history.csv") as tmp:
            pd.DataFrame(result.history).to_csv(tmp, index=False)
        best = Autoencoder(cfg)
        best.load_state_dict(torch.load(checkpoints / "best.pt", weights_only=True)["model"])
        mlflow.pytorch.log_model(
            best.eval(), name="model", serialization_format="pickle",
            input_example=np.zeros((1, cfg.window, cfg.input_dim), np.float32),
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy"],
        )
        metrics = {
            "best_val_cosine": result.best_val_cosine,
            "best_epoch": result.best_epoch,
            "epochs": len(result.history),
            "train_seconds": round(result.seconds, 2),
            "tokens_per_second": round(result.tokens_per_second, 1),
            "parameters": best.num_parameters(),
        }
        finish_stage(stage, metrics, [checkpoints, out / "history.csv"])
