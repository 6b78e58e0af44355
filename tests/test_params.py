from pathlib import Path

import pytest
import yaml

from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.params import flatten, load_params

ROOT = Path(__file__).resolve().parents[1]


def write_params(tmp_path, **overrides) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for dotted, value in overrides.items():
        *parents, last = dotted.split("__")
        node = raw
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_project_params_yaml_is_valid():
    p = load_params(ROOT / "params.yaml")
    assert p.chunk.window == 50 and p.chunk.stride == 40 and p.glove.dim == 300


def test_mistyped_key_is_refused_with_nearest_valid_name(tmp_path):
    path = write_params(tmp_path, model__head=8)
    with pytest.raises(PoetryRnnError, match=r"model\.head: unknown key; did you mean model\.heads\?"):
        load_params(path)


def test_heads_must_divide_hidden(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"heads \(3\) must divide .*model.hidden \(256\)"):
        load_params(write_params(tmp_path, model__heads=3))


def test_split_must_sum_to_one(tmp_path):
    with pytest.raises(PoetryRnnError, match="summing to 1"):
        load_params(write_params(tmp_path, chunk__split=[0.8, 0.1, 0.2]))


def test_stride_longer_than_window_is_refused(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"stride \(60\) must not exceed window \(50\)"):
        load_params(write_params(tmp_path, chunk__stride=60))


def test_unknown_cell_is_refused_listing_choices(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"model.cell: .*'rnn', 'gru' or 'lstm'"):
        load_params(write_params(tmp_path, model__cell="transformer"))


def test_every_problem_is_listed_in_one_message(tmp_path):
    with pytest.raises(PoetryRnnError) as err:
        load_params(write_params(tmp_path, train__epochs=0, train__lr=-1))
    assert "train.epochs" in str(err.value) and "train.lr" in str(err.value)


def test_missing_params_file_names_the_path(tmp_path):
    with pytest.raises(PoetryRnnError, match="params.yaml not found"):
        load_params(tmp_path / "params.yaml")


def test_flatten_gives_dotted_names():
    assert flatten({"model": {"heads": 4, "x": {"y": 1}}, "seed": 1}) == {"model.heads": 4, "model.x.y": 1, "seed": 1}
