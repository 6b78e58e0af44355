"""The params schema: params.yaml is checked in full before any stage does work. Every key is required: the
defaults live in params.yaml alone."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from poetry_rnn.architectures import ARCHITECTURES
from poetry_rnn.errors import PoetryRnnError

PARAMS_FILE = "params.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_source(value: str) -> str:
    """Accept an http(s) URL, a file:// URL or a local path; refuse any other scheme."""
    scheme = urlsplit(value).scheme.lower()
    if scheme not in ("", "http", "https", "file") and len(scheme) != 1:  # one letter: a Windows drive
        raise ValueError(
            f"the scheme {scheme}:// is not supported; use an http(s):// URL, a file:// URL or a local path"
        )
    return value


Source = Annotated[str, Field(min_length=1), AfterValidator(_check_source)]


class GloveParams(_Section):
    url: Source
    file: str = Field(min_length=1)
    sha256: str | None = Field(pattern=r"^[0-9a-fA-F]{64}$")
    dim: int = Field(gt=0)


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class PoemsParams(_Section):
    source: Source | Annotated[list[Source], Field(min_length=1)]  # one source or a list, read in order
    sha256: Sha256 | list[Sha256 | None] | None  # a list: one entry (or null) per source
    # Record files (.json/.jsonl/.csv/.parquet): the column holding each of title/author/text, where it is
    # not one of the names read anyway (text, content, body, poem, lines; title; author).
    fields: dict[Literal["title", "author", "text"], Annotated[str, Field(min_length=1)]]
    drama: Literal["keep", "skip"]  # the scenes of verse plays in Gutenberg books: poems, or skipped and counted

    @model_validator(mode="after")
    def _check(self) -> PoemsParams:
        if isinstance(self.sha256, list) and len(self.sha256) != len(self.sources):
            raise ValueError(f"sha256 has {len(self.sha256)} entries for {len(self.sources)} sources; "
                             "give one per source (null where none), or null")
        if isinstance(self.sha256, str) and len(self.sources) > 1:
            raise ValueError("one sha256 for several sources: give a list, one entry (or null) per source")
        return self

    @property
    def sources(self) -> list[str]:
        """poems.source as a list."""
        return [self.source] if isinstance(self.source, str) else list(self.source)

    @property
    def checksums(self) -> list[str | None]:
        """poems.sha256 as a list, one entry per source."""
        return self.sha256 if isinstance(self.sha256, list) else [self.sha256] * len(self.sources)


class ChunkParams(_Section):
    window: int = Field(ge=2)
    stride: int = Field(gt=0)
    split: tuple[float, float, float]

    @model_validator(mode="after")
    def _check(self) -> ChunkParams:
        if self.stride >= self.window:
            raise ValueError(
                f"stride ({self.stride}) must be less than window ({self.window}) so windows overlap; "
                "lower chunk.stride"
            )
        if any(f <= 0 for f in self.split) or abs(sum(self.split) - 1.0) > 1e-6:
            raise ValueError(f"split {list(self.split)} must be three positive fractions (train, val, test) summing to 1")
        return self


class ModelParams(_Section):
    cell: Literal["rnn", "gru", "lstm"]
    hidden: int = Field(gt=0)
    bottleneck: int = Field(gt=0)
    line: int = Field(ge=0)  # tokens per line the RNNs read and write; 0: the whole window is one line
    context: bool  # each line coded and read back with the window's other lines
    code_limit: float = Field(ge=0)  # each number of z squashed into (-code_limit, code_limit); 0: unbounded
    code_bits: int = Field(ge=0, le=16)  # training noise of one step of a quantizer of this many bits over that range
    layers: int = Field(ge=1)
    dropout: float = Field(ge=0.0, lt=1.0)
    feed_previous: bool  # decoder input includes the vector of the step before
    heads: int = Field(gt=0)
    # The baseline's hidden size when it should differ from model.hidden: a baseline with as many
    # parameters as the attention model tells attention from size.
    baseline_hidden: int | None = Field(gt=0)

    @model_validator(mode="after")
    def _check(self) -> ModelParams:
        if self.code_bits and not self.code_limit:
            raise ValueError(f"model.code_bits ({self.code_bits}) needs a range to quantize: set model.code_limit "
                             "above 0 (for example 32), or model.code_bits to 0")
        if self.hidden % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide the attention width model.hidden ({self.hidden})")
        return self


class LossParams(_Section):
    cosine_weight: float = Field(ge=0, le=1)  # vector loss: w * (1 - cosine) + (1 - w) * MSE
    word_weight: float = Field(ge=0)  # plus this much softmax loss over the corpus's words
    temperature: float = Field(gt=0)  # of that softmax, on cosine logits
    neighbours: int = Field(ge=0)  # the softmax also contrasts each batch word with its nearest training words


class TeacherForcingParams(_Section):
    start: float = Field(ge=0, le=1)
    end: float = Field(ge=0, le=1)
    schedule: Literal["linear", "exponential", "inverse_sigmoid"]


class CurriculumPhase(_Section):
    window: int = Field(ge=2)
    epochs: int = Field(gt=0)


class TrainParams(_Section):
    epochs: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    clip: float = Field(gt=0)
    loss: LossParams
    teacher_forcing: TeacherForcingParams
    curriculum: list[CurriculumPhase]
    patience: int = Field(ge=0)  # 0: never stop early
    seed: int  # initial weights, batch order, dropout, sampling coins
    device: Literal["auto", "cpu", "cuda"]
    nproc: int = Field(ge=1)  # data-parallel processes (torchrun); batch_size is per process

    @model_validator(mode="after")
    def _check(self) -> TrainParams:
        phases = sum(p.epochs for p in self.curriculum)
        if phases >= self.epochs:
            raise ValueError(f"the curriculum takes {phases} epochs, leaving none of train.epochs ({self.epochs}) "
                             "for full windows: shorten it or raise train.epochs")
        return self


class TrackingParams(_Section):
    # What the runs log beside their figures, not what any stage computes: no stage_params, so no dvc.yaml params
    system_metrics: bool  # each training run's CPU, memory, disk, network (and GPU) use over time: MLflow's own


class Params(_Section):
    seed: int
    glove: GloveParams
    poems: PoemsParams
    chunk: ChunkParams
    model: ModelParams
    train: TrainParams
    tracking: TrackingParams

    @model_validator(mode="after")
    def _check(self) -> Params:
        for phase in self.train.curriculum:
            if phase.window > self.chunk.window:
                raise ValueError(f"train.curriculum: a phase window ({phase.window}) exceeds chunk.window ({self.chunk.window})")
        line, window = self.model.line, self.chunk.window
        lines = -(-window // line) if 0 < line < window else 1
        if self.model.bottleneck < lines:
            raise ValueError(
                f"model.bottleneck ({self.model.bottleneck}) is less than one number for each of the {lines} lines of "
                f"model.line {line} tokens in a chunk.window of {window}: raise model.bottleneck to at least {lines}, "
                "or lengthen model.line")
        return self


def _known_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted key the schema accepts."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            keys += _known_keys(sub, prefix + name + ".")
    return keys


def _describe(err: ValidationError, path: Path) -> str:
    """One message for all problems, with the nearest valid name for a mistyped key."""
    known = _known_keys(Params)
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            lines.append(f"{key}: unknown key{hint}")
        elif e["type"] == "missing":
            lines.append(f"{key}: missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            got = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{key or '(top level)'}: {msg}{got}")
    return f"{path}: invalid params, fix them and rerun:\n  " + "\n  ".join(lines)


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and check params.yaml; a problem raises one PoetryRnnError listing every bad key."""
    path = Path(path)
    if not path.is_file():
        raise PoetryRnnError(f"{path} not found: run from the project root, where params.yaml is")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise PoetryRnnError(f"{path} is not valid YAML: {err}") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise PoetryRnnError(_describe(err, path)) from None


def flatten(obj: dict, prefix: str = "") -> dict[str, object]:
    """{'model': {'heads': 4}} -> {'model.heads': 4}: the dotted names DVC and MLflow use."""
    out: dict[str, object] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def stage_params(stage: str, p: Params) -> dict[str, object]:
    """The params `stage` reads, flat: what it logs to MLflow, hashes and stores in checkpoints.
    dvc.yaml declares the same keys under each stage's `params:`."""

    def training(name: str) -> dict[str, object]:  # the model params but those only another architecture reads
        others = {k for other, a in ARCHITECTURES.items() if other != name for k in a.own_params}
        model = p.model.model_dump(exclude=(others - set(ARCHITECTURES[name].own_params)) | set(ARCHITECTURES[name].fixed))
        return flatten({"model": model, "train": p.train.model_dump()})

    training_stages = {a.stage: (lambda name=name: training(name)) for name, a in ARCHITECTURES.items()}
    return {
        "fingerprint_inputs": lambda: {"glove.url": p.glove.url, "poems.source": p.poems.source},
        "download_glove": lambda: flatten({"glove": p.glove.model_dump()}),
        "preprocess": lambda: flatten({"poems": p.poems.model_dump()}),
        "chunk": lambda: flatten({"seed": p.seed, "chunk": p.chunk.model_dump()}),
        **training_stages,
        # seed: PCA's fit, the bootstrap and the samples; model and train: checked against each checkpoint
        "evaluate": lambda: flatten({"seed": p.seed, "model": p.model.model_dump(), "train": p.train.model_dump()}),
        # train.seed: which run of its seed group the stage reports on
        "compare": lambda: {"models": ",".join(ARCHITECTURES), "train.seed": p.train.seed},
    }[stage]()
