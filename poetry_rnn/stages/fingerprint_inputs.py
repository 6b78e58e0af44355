"""Stage 0: fingerprint the local files named by glove.url and poems.source, so that editing one reruns the stage
that reads it. DVC runs this stage on every `dvc repro` (always_changed); it writes the same bytes when nothing
changed, so nothing after it reruns. Bookkeeping only: it logs nothing to MLflow."""

from poetry_rnn.atomic import write_json
from poetry_rnn.inputs.download import fingerprint
from poetry_rnn.errors import entry_point
from poetry_rnn.params import load_params
from poetry_rnn.paths import INPUTS


@entry_point
def main() -> None:
    p = load_params()
    write_json(INPUTS / "glove.json", [fingerprint(p.glove.url)])
    write_json(INPUTS / "poems.json", [fingerprint(source) for source in p.poems.sources])


if __name__ == "__main__":
    main()
