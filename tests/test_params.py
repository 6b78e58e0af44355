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
    assert 0 < p.chunk.stride < p.chunk.window and p.glove.dim == 300  # overlapping windows of GloVe 300-d


def test_mistyped_key_is_refused_with_nearest_valid_name(tmp_path):
    path = write_params(tmp_path, model__head=8)
    with pytest.raises(PoetryRnnError, match=r"model\.head: unknown key; did you mean model\.heads\?"):
        load_params(path)


def test_heads_must_divide_hidden(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"heads \(3\) must divide .*model.hidden \(128\)"):
        load_params(write_params(tmp_path, model__heads=3))


def test_split_must_sum_to_one(tmp_path):
    with pytest.raises(PoetryRnnError, match="summing to 1"):
        load_params(write_params(tmp_path, chunk__split=[0.8, 0.1, 0.2]))


@pytest.mark.parametrize("stride", [50, 60])
def test_stride_must_be_less_than_window(tmp_path, stride):
    path = write_params(tmp_path, chunk__window=50, chunk__stride=stride)
    before = path.read_bytes()
    with pytest.raises(PoetryRnnError, match=rf"chunk: stride \({stride}\) must be less than window \(50\)"):
        load_params(path)
    assert path.read_bytes() == before  # the check never rewrites the user's file


@pytest.mark.parametrize("stride", [0, -1])
def test_stride_must_be_positive(tmp_path, stride):
    with pytest.raises(PoetryRnnError, match=r"chunk.stride: Input should be greater than 0"):
        load_params(write_params(tmp_path, chunk__stride=stride))


def test_stride_one_below_window_is_accepted(tmp_path):
    assert load_params(write_params(tmp_path, chunk__window=50, chunk__stride=49)).chunk.stride == 49


def test_wrong_type_is_refused_naming_key_and_value(tmp_path):
    with pytest.raises(PoetryRnnError, match=r"train.batch_size: Input should be a valid integer.*\(got 'many'\)"):
        load_params(write_params(tmp_path, train__batch_size="many"))


@pytest.mark.parametrize("key", ["glove__url", "poems__source"])
def test_unsupported_source_scheme_is_refused_before_any_work(tmp_path, key):
    with pytest.raises(PoetryRnnError, match=r"the scheme ftp:// is not supported; use an http\(s\)://"):
        load_params(write_params(tmp_path, **{key: "ftp://example.org/x.zip"}))


@pytest.mark.parametrize("source", ["https://x.org/g.zip", "http://x.org/g.zip", "file:///data/g.zip",
                                    "/data/g.zip", "data/g.zip", "C:\\data\\g.zip"])
def test_accepted_source_kinds_pass(tmp_path, source):
    assert load_params(write_params(tmp_path, glove__url=source)).glove.url == source


def test_dvc_set_param_override_written_by_dvc_is_validated(tmp_path):
    from dvc.utils.serialize import modify_yaml

    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    with modify_yaml(path) as data:  # what `dvc exp run -S` does to params.yaml before the stage runs
        data["model"]["head"] = 8
    with pytest.raises(PoetryRnnError, match=r"model\.head: unknown key; did you mean model\.heads\?"):
        load_params(path)
    assert "head: 8" in path.read_text()  # the override stays as DVC wrote it, for the user to fix


def test_dvc_hydra_overrides_are_validated_like_params_yaml(tmp_path):
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    apply_overrides(path, ["+model.head=8", "chunk.window=50", "chunk.stride=50"])  # dvc exp run -S's own code path
    with pytest.raises(PoetryRnnError) as err:
        load_params(path)
    message = str(err.value)
    assert "model.head: unknown key; did you mean model.heads?" in message
    assert "stride (50) must be less than window (50)" in message


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


def test_dvc_yaml_declares_every_param_each_stage_reads():
    """A param a stage reads but dvc.yaml omits would not rerun the stage when changed (and the reverse
    reruns it for nothing)."""
    from poetry_rnn.params import stage_params

    p = load_params(ROOT / "params.yaml")
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    all_params = set(flatten(p.model_dump()))
    for name, stage in stages.items():
        declared = stage.get("params", [])
        read = set(stage_params(name, p)) & all_params  # compare logs a constant, not a param
        covered = {key for key in read if any(key == d or key.startswith(f"{d}.") for d in declared)}
        assert covered == read, f"{name}: dvc.yaml misses {sorted(read - covered)}"
        declared_keys = {key for key in all_params for d in declared if key == d or key.startswith(f"{d}.")}
        assert declared_keys <= read, f"{name}: dvc.yaml declares {sorted(declared_keys - read)}, which it does not read"


def test_the_default_corpus_is_a_list_of_gutenberg_books():
    p = load_params(ROOT / "params.yaml")
    assert len(p.poems.sources) >= 2 and p.poems.checksums == [None] * len(p.poems.sources)
    assert all(s.startswith("https://www.gutenberg.org/cache/epub/") for s in p.poems.sources)


def test_poems_sha256_gives_one_checksum_per_source(tmp_path):
    digest = "a" * 64
    p = load_params(write_params(tmp_path, poems__source=["a.txt", "b.txt"], poems__sha256=[digest, None]))
    assert p.poems.checksums == [digest, None]
    with pytest.raises(PoetryRnnError, match=r"poems: sha256 has 1 entries for 2 sources"):
        load_params(write_params(tmp_path, poems__source=["a.txt", "b.txt"], poems__sha256=[digest]))
    with pytest.raises(PoetryRnnError, match=r"one sha256 for several sources"):
        load_params(write_params(tmp_path, poems__source=["a.txt", "b.txt"], poems__sha256=digest))


def test_poems_fields_names_only_title_author_and_text(tmp_path):
    p = load_params(write_params(tmp_path, poems__fields={"text": "verse"}))
    assert p.poems.fields == {"text": "verse"}
    with pytest.raises(PoetryRnnError, match=r"poems\.fields\.body"):
        load_params(write_params(tmp_path, poems__fields={"body": "verse"}))
    with pytest.raises(PoetryRnnError, match=r"poems\.source"):
        load_params(write_params(tmp_path, poems__source=[]))


def test_a_bottleneck_too_small_for_the_lines_of_a_window_is_refused(tmp_path):
    path = write_params(tmp_path, chunk__window=50, chunk__stride=40, model__line=5, model__bottleneck=8)
    with pytest.raises(PoetryRnnError, match=r"model.bottleneck \(8\) is less than one number for each of the 10 lines "
                                             r"of model.line 5 tokens in a chunk.window of 50: raise model.bottleneck "
                                             r"to at least 10"):
        load_params(path)
    assert load_params(write_params(tmp_path, chunk__window=50, chunk__stride=40, model__line=0,
                                    model__bottleneck=8)).model.bottleneck == 8


def test_the_context_free_reference_codes_every_token_alone_whatever_the_params_say():
    from poetry_rnn.architectures import model_config

    p = load_params(ROOT / "params.yaml")
    assert p.model.context and model_config(p, "baseline")["context"] and model_config(p, "attention")["context"]
    assert {k: model_config(p, "per_token")[k] for k in ("line", "context", "heads")} == \
        {"line": 1, "context": False, "heads": 0}
