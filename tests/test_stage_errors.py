"""Stages fail on bad input with one clear message, a non-zero exit and no traceback."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from poetry_rnn.params import flatten

ROOT = Path(__file__).resolve().parents[1]


def run_stage(stage: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_ROOT": str(cwd)}
    return subprocess.run([sys.executable, "-m", f"poetry_rnn.stages.{stage}"], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_bad_params_stop_a_stage_with_one_message_before_any_work(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"]["head"] = 8
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = run_stage("download_glove", tmp_path)
    assert proc.returncode == 2
    assert "model.head: unknown key; did you mean model.heads?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "mlflow.db").exists()


def test_missing_upstream_output_names_the_stage_to_run(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    proc = run_stage("chunk", tmp_path)
    assert proc.returncode == 2 and "dvc repro preprocess" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "data/chunks").exists()


# ---- helpers: a tiny project in tmp_path --------------------------------------------------------

from conftest import WORDS, glove_lines  # noqa: E402
from poetry_rnn.inputs.corpus import Poem  # noqa: E402
from poetry_rnn.inputs.glove import convert_glove  # noqa: E402
from poetry_rnn.inputs.tokenized import encode_poems, save_corpus  # noqa: E402


def write_params(cwd: Path, **sections) -> None:
    """The project's params.yaml with some sections' keys replaced."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in sections.items():
        params[section].update(values)
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))


def write_glove(cwd: Path) -> None:
    """data/glove as download_glove leaves it, 8-d vectors over the fixture words."""
    src = cwd / "g.txt"
    src.write_text("\n".join(glove_lines()) + "\n")
    convert_glove(src, "", 8, cwd / "data" / "glove")


def names(folder: Path) -> list[str]:
    """Everything in folder, hidden temporaries included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_failed_cleanly(proc: subprocess.CompletedProcess, message: str) -> None:
    """Exit 2, the message on stderr, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


# ---- download_glove -------------------------------------------------------------------------------


def test_download_glove_with_a_bad_zip_leaves_no_data_glove_and_the_users_zip_untouched(tmp_path):
    src = tmp_path / "vectors.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("glove.other.8d.txt", "\n".join(glove_lines()) + "\n")
    before = src.read_bytes()
    write_params(tmp_path, glove={"url": str(src), "file": "glove.test.8d.txt", "dim": 8})
    proc = run_stage("download_glove", tmp_path)
    assert_failed_cleanly(proc, "has no member 'glove.test.8d.txt'; it holds: glove.other.8d.txt")
    assert names(tmp_path / "data") == [] and not (tmp_path / "metrics").exists() and not (tmp_path / "stages").exists()
    assert src.read_bytes() == before


def test_download_glove_with_a_malformed_line_leaves_no_data_glove(tmp_path):
    lines = glove_lines()
    lines[2] = "and 0.1 0.2"
    (tmp_path / "g.txt").write_text("\n".join(lines) + "\n")
    write_params(tmp_path, glove={"url": (tmp_path / "g.txt").as_uri(), "dim": 8})
    proc = run_stage("download_glove", tmp_path)
    assert_failed_cleanly(proc, "g.txt line 3: expected a word and 8 numbers, found 3 fields")
    assert names(tmp_path / "data") == []


def test_download_glove_failure_keeps_the_previous_good_vectors(tmp_path):
    write_glove(tmp_path)
    before = {name: (tmp_path / "data" / "glove" / name).read_bytes() for name in names(tmp_path / "data" / "glove")}
    (tmp_path / "g.txt").write_text("\n".join(glove_lines()) + "\n")
    write_params(tmp_path, glove={"url": str(tmp_path / "g.txt"), "dim": 300})
    proc = run_stage("download_glove", tmp_path)
    assert_failed_cleanly(proc, "has 8-dimensional vectors but glove.dim is 300; set glove.dim to 8")
    assert names(tmp_path / "data") == ["glove"]
    assert {n: (tmp_path / "data" / "glove" / n).read_bytes() for n in names(tmp_path / "data" / "glove")} == before


# ---- preprocess ----------------------------------------------------------------------------------


def test_preprocess_prints_one_summary_line_and_keeps_names_out_of_the_metrics(tmp_path):
    write_glove(tmp_path)
    poems = tmp_path / "poems"
    poems.mkdir()
    (poems / "a.txt").write_text("the sea and the sky\n")
    (poems / "b.txt").write_bytes("the rose is red, caf\u00e9\n".encode("cp1252"))
    (poems / "c.txt").write_text("the sea and the sky\n")  # a duplicate of a.txt
    (poems / "d.txt").write_text("")
    (poems / "e.txt").write_bytes(b"\0\0\0binary")
    (poems / "f.txt").write_text("zyzzyva qwxq\n")  # no word in GloVe
    write_params(tmp_path, poems={"source": str(poems)})
    proc = run_stage("preprocess", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ("preprocess: kept 2 poems; skipped 1 empty, 1 binary, 1 with no word in GloVe; "
            "dropped 1 exact duplicates; decoded 1 files as Latin-1/cp1252 (not UTF-8); "
            "first skipped: d.txt, e.txt, f.txt") in proc.stderr
    metrics = json.loads((tmp_path / "stages" / "preprocess" / "details.json").read_text())
    numbers = flatten(metrics).values()
    assert all(isinstance(v, (int, float)) for v in numbers) and metrics["poems_skipped_no_known_token"] == 1
    assert names(tmp_path / "data" / "corpus") == ["ids.npy", "poems.csv"]


def test_preprocess_of_a_corpus_without_a_usable_poem_leaves_no_data_corpus(tmp_path):
    write_glove(tmp_path)
    poems = tmp_path / "poems"
    poems.mkdir()
    (poems / "empty.txt").write_text("\n\n")
    write_params(tmp_path, poems={"source": str(poems)})
    proc = run_stage("preprocess", tmp_path)
    assert_failed_cleanly(proc, "yields no poem (1 files read, 1 empty, 0 binary)")
    assert names(tmp_path / "data") == ["glove"] and not (tmp_path / "stages" / "preprocess" / "details.json").exists()
    assert (poems / "empty.txt").read_text() == "\n\n"


def test_preprocess_of_poems_without_a_glove_word_leaves_no_data_corpus(tmp_path):
    write_glove(tmp_path)
    (tmp_path / "poem.txt").write_text("zyzzyva qwxq\n")
    write_params(tmp_path, poems={"source": str(tmp_path / "poem.txt")})
    proc = run_stage("preprocess", tmp_path)
    assert_failed_cleanly(proc, "none of the 1 poems has a word in the GloVe vocabulary (e.g. poem.txt)")
    assert names(tmp_path / "data") == ["glove"]


def test_preprocess_with_a_wrong_sha256_keeps_the_users_file_and_writes_nothing(tmp_path):
    write_glove(tmp_path)
    (tmp_path / "poem.txt").write_text("the sea\n")
    write_params(tmp_path, poems={"source": str(tmp_path / "poem.txt"), "sha256": "0" * 64})
    proc = run_stage("preprocess", tmp_path)
    assert_failed_cleanly(proc, f"sha256 mismatch for {tmp_path / 'poem.txt'}: expected {'0' * 64}, got ")
    assert (tmp_path / "poem.txt").read_text() == "the sea\n" and names(tmp_path / "data") == ["glove"]


# ---- chunk ---------------------------------------------------------------------------------------


def test_chunk_with_too_few_poems_for_three_splits_leaves_no_data_chunks(tmp_path):
    index = {w: i for i, w in enumerate(WORDS)}
    corpus, _ = encode_poems([Poem("a", "", "the sea", "a.txt"), Poem("b", "", "the sky", "b.txt")], index)
    save_corpus(corpus, tmp_path / "data" / "corpus")
    write_params(tmp_path)
    proc = run_stage("chunk", tmp_path)
    assert_failed_cleanly(proc, "error: the corpus has 2 usable poem(s); at least 3 are needed to give train, "
                                "val and test one each: point poems.source at a larger corpus")
    assert not (tmp_path / "data" / "chunks").exists() and names(tmp_path / "data") == ["corpus"]
    assert not (tmp_path / "stages" / "chunk" / "details.json").exists()


def test_chunk_refuses_stride_equal_to_window_before_any_work(tmp_path):
    write_params(tmp_path, chunk={"window": 50, "stride": 50})
    proc = run_stage("chunk", tmp_path)
    assert_failed_cleanly(proc, "chunk: stride (50) must be less than window (50) so windows overlap")
    assert names(tmp_path) == ["params.yaml"]
