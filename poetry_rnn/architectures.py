"""The registry of architectures: what sets each apart. The training stages and their paths and params, evaluate's
models and pairs, compare's table and figures are all derived from it; a new architecture is one entry here (and
its stage in dvc.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

# The params schema imports this registry (the params each stage reads), so the functions below take the checked
# params (poetry_rnn.params.Params and its `model` section) as they come, without importing their types.


@dataclass(frozen=True)
class Architecture:
    """One architecture: its decoder's settings from the model params, and the model params only it reads."""

    name: str
    decoder: Callable[[Any], dict]  # the AutoencoderConfig fields that differ: hidden size, attention heads, lines
    own_params: tuple[str, ...] = ()  # keys of `model` no other architecture reads
    fixed: tuple[str, ...] = ()  # keys of `model` it sets itself (in `decoder`), so does not read

    @property
    def stage(self) -> str:
        """Its training stage, also the folder of its checkpoints: stages/<stage>/."""
        return f"train_{self.name}"


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    # The context-free code, the reference a sequence model must beat: the baseline with every token a line of
    # its own, coded and decoded alone from its share of z, so that no token's reconstruction sees its neighbours.
    Architecture("per_token", lambda m: {"hidden": m.hidden, "heads": 0, "line": 1, "context": False},
                 fixed=("line", "context")),
    Architecture("baseline", lambda m: {"hidden": m.baseline_hidden or m.hidden, "heads": 0}, ("baseline_hidden",)),
    Architecture("attention", lambda m: {"hidden": m.hidden, "heads": m.heads}, ("heads",)),
)}


def pairs() -> list[tuple[str, str]]:
    """Each architecture against each one registered before it, the newer first: [('baseline', 'per_token'),
    ('attention', 'per_token'), ('attention', 'baseline')]."""
    names = list(ARCHITECTURES)
    return [(names[j], names[i]) for j in range(len(names)) for i in range(j)]


def model_config(p: Any, name: str) -> dict:
    """The params -> model config mapping, one place for the stages and the benchmarks: AutoencoderConfig's fields
    that come from params.yaml for architecture `name` (the caller adds input_dim, window and vocab_size)."""
    m = p.model
    return {"cell": m.cell, "bottleneck": m.bottleneck, "line": m.line, "context": m.context,
            "code_limit": m.code_limit, "code_bits": m.code_bits, "layers": m.layers, "dropout": m.dropout,
            "feed_previous": m.feed_previous, **ARCHITECTURES[name].decoder(m)}
