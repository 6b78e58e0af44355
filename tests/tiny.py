"""Small model configs for unit tests. The model has no defaults of its own (params.yaml holds them): a test gives
the sizes it wants, and these plain choices for the rest unless it says otherwise."""

from poetry_rnn.params import LossParams, TrainParams
from poetry_rnn.training.model import AutoencoderConfig

PLAIN = {"cell": "gru", "layers": 1, "dropout": 0.0, "heads": 0, "feed_previous": True, "line": 0, "context": False}


def config(**fields) -> AutoencoderConfig:
    """An AutoencoderConfig of `fields` over PLAIN."""
    return AutoencoderConfig(**{**PLAIN, **fields})


# The plain training of the unit tests: no weight decay, vector loss only, teacher forcing from 1 to 0, no curriculum,
# no early stopping, one process.
PLAIN_TRAIN = {
    "epochs": 1, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.0, "clip": 1.0,
    "loss": {"cosine_weight": 0.9, "word_weight": 0.0, "temperature": 0.1, "neighbours": 0},
    "teacher_forcing": {"start": 1.0, "end": 0.0, "schedule": "linear"},
    "curriculum": [], "patience": 0, "seed": 42, "device": "auto", "nproc": 1,
}


def train_params(**fields) -> TrainParams:
    """TrainParams of `fields` over PLAIN_TRAIN (loss and teacher_forcing merged key by key)."""
    merged = {**PLAIN_TRAIN, **fields}
    for section in ("loss", "teacher_forcing"):
        merged[section] = {**PLAIN_TRAIN[section], **fields.get(section, {})}
    return TrainParams(**merged)


def loss_params(**fields) -> LossParams:
    """LossParams of `fields` over the plain loss."""
    return LossParams(**{**PLAIN_TRAIN["loss"], **fields})


TIMED = ("train_tokens_per_second",)  # epoch-row keys that measure wall time: two runs of one computation differ in them


def untimed(rows: list[dict]) -> list[dict]:
    """Epoch rows without the keys that measure wall time."""
    return [{k: v for k, v in row.items() if k not in TIMED} for row in rows]
