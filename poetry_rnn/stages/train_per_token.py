"""Stage 4a: train the context-free code: every token coded and decoded alone from its share of the bottleneck."""

from poetry_rnn.errors import entry_point
from poetry_rnn.stages.training import run_training_stage


@entry_point
def main() -> None:
    run_training_stage("per_token")


if __name__ == "__main__":
    main()
