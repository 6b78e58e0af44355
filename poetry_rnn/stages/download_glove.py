"""Stage 1: fetch the GloVe archive and convert the chosen member to vocab + float32 matrix."""

from poetry_rnn.atomic import atomic_path
from poetry_rnn.inputs.download import fetch
from poetry_rnn.errors import entry_point
from poetry_rnn.inputs.glove import convert_glove
from poetry_rnn.params import load_params, stage_params
from poetry_rnn.paths import DOWNLOADS, GLOVE
from poetry_rnn.services.metrics import finish_stage
from poetry_rnn.services.runs import stage_run

STAGE = "download_glove"


@entry_point
def main() -> None:
    p = load_params()
    with stage_run(STAGE, stage_params(STAGE, p)):
        archive = fetch(p.glove.url, DOWNLOADS, p.glove.sha256)
        with atomic_path(GLOVE) as out:
            meta = convert_glove(archive, p.glove.file, p.glove.dim, out)
        finish_stage(STAGE, {"words": meta["words"], "dim": meta["dim"], "duplicates": meta["duplicates"]},
                     [GLOVE / "meta.json"])


if __name__ == "__main__":
    main()
