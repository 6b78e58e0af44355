"""poetry-rnn: RNN autoencoders that compress poems, as a DVC + MLflow pipeline."""

__version__ = "0.1.0"
