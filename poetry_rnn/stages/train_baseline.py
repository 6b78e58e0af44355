"""Stage 4: train the baseline RNN autoencoder (encoder -> bottleneck -> decoder RNN)."""

from poetry_rnn.errors import cli
from poetry_rnn.stages.training import run_training_stage


@cli
def main() -> None:
    run_training_stage("baseline")


if __name__ == "__main__":
    main()
