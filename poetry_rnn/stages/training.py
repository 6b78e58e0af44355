"""What the training stages share: the same wiring, metric names and outputs, differing only in what the registry
of architectures (poetry_rnn/architectures.py) says."""

from __future__ import annotations

import contextlib
import shutil
import sys

import numpy as np
import pandas as pd
import torch

from poetry_rnn.training import distributed
from poetry_rnn.atomic import atomic_path
from poetry_rnn.inputs.chunking import Chunks, load_chunks, load_vocabulary
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.inputs.download import sha256_file
from poetry_rnn.scoring.scores import model_reconstructor, sample_windows, score_tokens, scored_tokens, summarize
from poetry_rnn.inputs.glove import Glove, load_glove
from poetry_rnn.training.model import Autoencoder, AutoencoderConfig
from poetry_rnn.params import Params, load_params, stage_params
from poetry_rnn.architectures import ARCHITECTURES, model_config
from poetry_rnn.paths import CHUNKS, GLOVE, best_checkpoint, checkpoints as checkpoint_dir, history_file
from poetry_rnn.services.metrics import finish_stage, log_epochs, log_epochs_when_possible, log_setup
from poetry_rnn.services.registry import registered_name
from poetry_rnn.services.runs import stage_run, unfinished_run
from poetry_rnn.services.store import preflight
from poetry_rnn.training.engine import load_model, pick_device, resumable, train
from poetry_rnn.scoring.words import Candidates


# Params added after checkpoints existed, with the value that trains as before them: left out of the fingerprint
# while they hold it, so a checkpoint from before stays valid (one process trains as training did before nproc).
ADDED_LATER = {"train.nproc": 1}

# Validation windows scored for content-word accuracy after each epoch: a fixed sample, since the nearest-word
# search over every validation token adds a fifth to an epoch on the six-book defaults, the sample 3% (README:
# "Training and evaluation in detail"); the sample bounds the cost whatever the corpus size.
VAL_SAMPLE = 1000
CONTENT = "val_content_word_accuracy_pct"  # the per-epoch column of the history file and metric of the run


def content_word_validation(val: Chunks, vocab: Vocab, rows, glove: Glove, seed: int, device: torch.device):
    """The per-epoch validation content-word accuracy (percent) as the evaluate stage scores it: free running,
    the one nearest-word search, on a fixed sample of VAL_SAMPLE validation windows; and the sample's size."""
    sample = sample_windows(val, VAL_SAMPLE, seed)
    candidates = Candidates.from_rows(rows, glove.vectors)
    tokens, windows = scored_tokens(sample, candidates, glove.words), Windows.from_chunks(sample, vocab)

    def validate(model: Autoencoder) -> dict[str, float]:
        scores = score_tokens(model_reconstructor(model, device), windows, vocab, candidates, device=device)
        share = summarize(scores, tokens)["content_word_accuracy"]
        return {} if share is None else {CONTENT: 100 * share}  # None: the sample holds no content word

    return validate, {"val_sample_windows": len(sample), "val_sample_content_words": int(tokens.content.sum())}


def fingerprint(stage: str, p: Params) -> dict[str, object]:
    """What a checkpoint of `stage` was trained on: the stage's params, and a hash of each chunk file and of the
    GloVe meta. Resuming or evaluating a checkpoint whose fingerprint differs would mix data."""
    files = sorted(CHUNKS.glob("*.npz")) + [GLOVE / "meta.json"]
    params = {k: v for k, v in stage_params(stage, p).items() if ADDED_LATER.get(k, object()) != v}
    return {**params, **{f"sha256:{f.as_posix()}": sha256_file(f) for f in files if f.is_file()}}


def run_training_stage(architecture: str) -> None:
    """Train one architecture of the registry (resuming an interrupted run); log epochs,
    checkpoints and the model to MLflow. With train.nproc > 1 the stage relaunches itself as that many
    data-parallel processes; rank 0 alone writes outputs and logs."""
    stage = ARCHITECTURES[architecture].stage
    p = load_params()
    preflight()  # a tracking server that is down fails the stage now, not after loading the data
    if p.train.nproc > 1 and not distributed.launched():
        distributed.relaunch(p.train.nproc, f"poetry_rnn.stages.{stage}")
    print(distributed.share_cores(), file=sys.stderr)
    with distributed.process_group(pick_device(p.train.device)) as device:
        train_stage(architecture, p, device)


def train_stage(architecture: str, p: Params, device: torch.device) -> None:
    """The stage's work in one process (every rank runs it)."""
    import mlflow

    stage = ARCHITECTURES[architecture].stage
    main = distributed.is_main()
    glove = load_glove(GLOVE)
    train_chunks, val_chunks = load_chunks(CHUNKS, "train"), load_chunks(CHUNKS, "val")
    candidates, _ = load_vocabulary(CHUNKS)
    trained_with = fingerprint(stage, p)
    checkpoints = checkpoint_dir(stage)
    resume = resumable(checkpoints, trained_with, complete=True)
    if resume is not None and resume.get("complete"):
        # Trained, but the stage failed after it (the tracking server lost while logging the model): finish
        # that run without training. A run that finished is trained afresh (`dvc repro -f`, a changed code dep).
        finish = main and unfinished_run(resume.get("mlflow_run_id"))
        resume = resume if distributed.all_objects(finish)[0] else None  # rank 0 decides for all
    distributed.barrier()  # every rank has read the checkpoint before rank 0 may drop it
    if resume is None and main:
        shutil.rmtree(checkpoints, ignore_errors=True)  # persisted across runs: drop another run's checkpoints
    run_id = resume.get("mlflow_run_id") if resume else None
    tracked = stage_run(stage, stage_params(stage, p), run_id=run_id, system_metrics=p.tracking.system_metrics) \
        if main else contextlib.nullcontext()
    with tracked as run:
        run_id = run.info.run_id if main else None
        # The epoch's window is a schedule only with a curriculum; without one it is the run's `window` param.
        constants = () if p.train.curriculum else ("window",)
        if resume is not None and main:  # epochs checkpointed but not yet reported when the run was killed
            log_epochs(run_id, resume["history"], constants)
        torch.manual_seed(p.train.seed)
        vocab = Vocab.from_chunks(glove.vectors, train_chunks, val_chunks)
        cfg = AutoencoderConfig(input_dim=glove.dim, window=train_chunks.ids.shape[1], vocab_size=len(candidates),
                                **model_config(p, architecture))
        model = Autoencoder(cfg)
        model.vocab.copy_(torch.from_numpy(candidates))
        validate, sample = content_word_validation(val_chunks, vocab, candidates, glove, p.seed, device)
        if main:
            log_setup(run_id, {"window": cfg.window, "parameters": model.num_parameters(),
                               "processes": distributed.world(), **sample})
        rows = list(resume["history"]) if resume else []

        def on_epoch(epoch: int, row: dict) -> None:  # a server lost mid-training defers the rows, not training
            rows.append(row)
            log_epochs_when_possible(run_id, rows, constants)

        result = train(
            model, Windows.from_chunks(train_chunks, vocab), Windows.from_chunks(val_chunks, vocab), vocab,
            p.train, checkpoints, device, fingerprint=trained_with, resume=resume, validate=validate,
            extra_state={"mlflow_run_id": run_id}, on_epoch=on_epoch, select=CONTENT,
        )
        if not main:
            return
        log_epochs(run_id, result.history, constants)  # those deferred; a server still down fails the stage here
        with atomic_path(history_file(stage)) as tmp:
            pd.DataFrame(result.history).to_csv(tmp, index=False)
        best = load_model(best_checkpoint(stage))
        mlflow.pytorch.log_model(
            best, name="model", serialization_format="pickle",
            registered_model_name=registered_name(architecture),  # version -> this run
            input_example=np.zeros((1, cfg.window, cfg.input_dim), np.float32),
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy"],
        )
        best_row = next(row for row in result.history if row["epoch"] == result.best_epoch)
        metrics = {
            **({"best_" + CONTENT: best_row[CONTENT]} if CONTENT in best_row else {}),  # what picked the checkpoint
            "best_val_cosine": result.best_val_cosine,
            "best_epoch": result.best_epoch,
            "epochs": len(result.history),
            "resumed_from_epoch": result.resumed_from,
            "train_seconds": round(result.seconds, 2),
            "tokens_per_second": round(result.tokens_per_second, 1),
            "parameters": best.num_parameters(),
            "processes": distributed.world(),
        }
        # The headline (a `dvc exp show` column each) is keyed by model last, as metrics/evaluate.json is.
        shown = {"seconds": metrics["train_seconds"], "epochs": metrics["epochs"], "parameters": metrics["parameters"]}
        finish_stage(stage, metrics, [checkpoints, history_file(stage)],
                     headline={key: {architecture: value} for key, value in shown.items()},
                     setup=("parameters", "processes"))
