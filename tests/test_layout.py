"""The layout shows the architecture: a few modules at the top of the package, subpackages by concern, imports
that only run down the layers and never in a circle, each path spelled once."""

from __future__ import annotations

import re
from pathlib import Path

from test_dvc_deps import PACKAGE, imported_names, module_file

ROOT = Path(__file__).resolve().parents[1]
# Lower layers never import higher ones. Base modules first; services (MLflow, the team's servers) sit beside
# the inputs; stages wire every library layer; cli is the user's door to all of them.
LAYERS = {
    "errors": 0, "atomic": 0, "paths": 0, "architectures": 1, "params": 2,
    "inputs": 3, "services": 3, "training": 4, "scoring": 5, "stages": 6, "cli": 7,
}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """The package's modules that `name` imports (lazy imports included)."""
    found = set()
    for imported in imported_names(path.read_text(), name, path.name == "__init__.py"):
        if imported.split(".")[0] == PACKAGE and module_file(ROOT / PACKAGE, PACKAGE, imported):
            found.add(imported)
    return found


def layer(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_at_most_twelve_modules_side_by_side_at_the_top():
    top = sorted(p.name for p in (ROOT / PACKAGE).glob("*.py"))
    assert len(top) <= 12, top
    assert all(p.stem in LAYERS or p.name == "__init__.py" for p in (ROOT / PACKAGE).glob("*.py")), top
    assert {p.name for p in (ROOT / PACKAGE).iterdir() if p.is_dir() and (p / "__init__.py").exists()} <= set(LAYERS)


def test_imports_run_down_the_layers_and_never_in_a_circle():
    found = modules()
    graph = {name: {i for i in imports(name, path) if i in found and i != name} for name, path in found.items()}
    upward = [(a, b) for a, targets in graph.items() for b in targets
              if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)]
    assert not upward, f"imports that run back up: {upward}"

    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                raise AssertionError(f"import cycle: {' -> '.join(trail[trail.index(nxt):] + [nxt])}")
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])


def test_each_output_path_is_spelled_in_one_place():
    spelled = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        for name in re.findall(r"\b(best\.pt|last\.pt|history\.csv)\b", path.read_text()):
            spelled.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    assert spelled and all(files == {f"{PACKAGE}/paths.py"} for files in spelled.values()), spelled
