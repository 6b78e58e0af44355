"""poetry-rnn: RNN autoencoders that compress poems, as a DVC + MLflow pipeline."""

import os

# Intel MKL's matrix products give other bits on other thread counts unless conditional numerical
# reproducibility is strict; set before torch loads MKL, which every entry point does after this import.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

__version__ = "0.1.0"
