"""Stage 4: train the baseline RNN autoencoder (encoder -> bottleneck -> decoder RNN)."""

from poetry_rnn.errors import entry_point
from poetry_rnn.stages.training import run_training_stage


@entry_point
def main() -> None:
    run_training_stage("baseline")


if __name__ == "__main__":
    main()
