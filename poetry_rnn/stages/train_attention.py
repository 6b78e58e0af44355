"""Stage 5: train the autoencoder whose decoder adds multi-head attention (model.heads heads)."""

from poetry_rnn.errors import entry_point
from poetry_rnn.stages.training import run_training_stage


@entry_point
def main() -> None:
    run_training_stage("attention")


if __name__ == "__main__":
    main()
