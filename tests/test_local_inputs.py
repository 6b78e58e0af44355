"""A local poems.source or glove.url is a dependency: editing its contents reruns the stage that reads it, and
only that stage and what follows (real DVC in a real git repo)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import glove_lines, poem_text
from project import GLOVE_WORDS, RARE, make_project, run, stages_ran

pytestmark = pytest.mark.e2e


def test_editing_a_local_poem_or_glove_file_reruns_its_reader_and_nothing_before(tmp_path):
    project = make_project(tmp_path / "project", "http://127.0.0.1:9")  # nothing is served: all inputs are local
    inputs = project / "inputs"
    (inputs / "poems").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(12):
        text = poem_text(rng, lines=6) + "\n" + " ".join(rng.choice(RARE, size=10))
        (inputs / "poems" / f"p{i:02d}.txt").write_text(f"---\ntitle: Poem {i}\n---\n{text}\n")
    glove = inputs / "glove.16d.txt"
    glove.write_text("\n".join(glove_lines(GLOVE_WORDS, dim=16)) + "\n")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["glove"].update(url="inputs/glove.16d.txt", file="glove.16d.txt")  # relative: from the repo's root
    params["poems"]["source"] = ["inputs/poems", str(inputs / "extra.txt")]  # a folder and an absolute path
    (inputs / "extra.txt").write_text("A poem on its own, with the sea and the sky.\n")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    first = stages_ran(run(["dvc", "repro", "chunk"], project))
    assert first == ["fingerprint_inputs", "download_glove", "preprocess", "chunk"]
    assert stages_ran(run(["dvc", "repro", "chunk"], project)) == ["fingerprint_inputs"]  # nothing changed

    with open(inputs / "poems" / "p03.txt", "a") as f:
        f.write("And one more line of the sea.\n")
    assert stages_ran(run(["dvc", "repro", "chunk"], project)) == ["fingerprint_inputs", "preprocess", "chunk"]

    (inputs / "extra.txt").write_text("Another poem, now of the moon.\n")  # the second source, a single file
    assert stages_ran(run(["dvc", "repro", "chunk"], project)) == ["fingerprint_inputs", "preprocess", "chunk"]

    glove.write_text(glove.read_text().replace(" 0.", " 0.5", 1))  # one value of one vector changed
    assert stages_ran(run(["dvc", "repro", "chunk"], project))[:3] == ["fingerprint_inputs", "download_glove", "preprocess"]
    metrics = yaml.safe_load((project / "stages" / "preprocess" / "details.json").read_text())
    assert set(metrics["sources"]) == {"poems", "extra"} and metrics["sources"]["extra"]["poems"] == 1
