"""Each DVC stage's Python deps are exactly the poetry_rnn modules its stage module imports, transitively.

Derived from the source with `ast` (nothing is imported), so a new or removed import anywhere in a
stage's closure, lazy ones inside functions included, fails here until dvc.yaml follows; otherwise a
changed module would leave DVC thinking the stage is up to date, or rerun stages it cannot affect.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "poetry_rnn"
STAGES = list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


def module_file(root: Path, package: str, name: str) -> Path | None:
    """The source file of dotted module `name` in the package at `root`, or None if it is not one."""
    parts = name.split(".")
    if parts[0] != package:
        return None
    candidates = [root.joinpath(*parts[1:], "__init__.py")]
    if len(parts) > 1:
        candidates.insert(0, root.joinpath(*parts[1:-1], parts[-1] + ".py"))
    return next((path for path in candidates if path.is_file()), None)


def from_base(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The absolute module a `from ... import` reads from, relative imports resolved against `name`."""
    if not node.level:
        return node.module or ""
    base = name if is_package else name.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


def imported_names(source: str, name: str, is_package: bool) -> set[str]:
    """Every dotted name the file may load: ast.walk reaches lazy imports inside functions too."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = from_base(node, name, is_package)
            # `from a import b` loads a, and a.b too when b is a submodule rather than a name in a.
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def with_parents(name: str) -> list[str]:
    """`a.b.c` and its parent packages: importing a module runs each parent's __init__ first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(root: Path, package: str, module: str) -> set[str]:
    """Files (relative to root's parent) of `module` and every package module it imports, transitively."""
    seen: set[str] = set()
    todo = with_parents(module)  # `python -m` runs the module's parent __init__ files too
    while todo:
        name = todo.pop()
        path = module_file(root, package, name)
        if name in seen or path is None:
            continue
        seen.add(name)
        for imported in imported_names(path.read_text(), name, path.name == "__init__.py"):
            todo.extend(with_parents(imported))
    return {module_file(root, package, name).relative_to(root.parent).as_posix() for name in seen}


def declared_python_deps(stage: str) -> list[str]:
    """The stage's dvc.yaml deps that are Python files of the package, in order, repeats kept; data and metrics deps
    are not checked."""
    deps = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage].get("deps", [])
    return [dep for dep in deps if isinstance(dep, str) and dep.startswith(f"{PACKAGE}/") and dep.endswith(".py")]


def repeated(deps: list[str]) -> list[str]:
    """The entries listed more than once."""
    return sorted({dep for dep in deps if deps.count(dep) > 1})


def without_inits(paths: set[str]) -> set[str]:
    """Drop __init__.py files: the package's hold only a docstring and version, so dvc.yaml leaves them out."""
    return {path for path in paths if not path.endswith("/__init__.py")}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deps_are_its_import_closure(stage):
    assert (ROOT / PACKAGE / "stages" / f"{stage}.py").is_file(), f"stage {stage} has no module"
    derived = without_inits(import_closure(ROOT / PACKAGE, PACKAGE, f"{PACKAGE}.stages.{stage}"))
    listed = declared_python_deps(stage)
    assert not repeated(listed), f"dvc.yaml stage {stage} lists {repeated(listed)} more than once"
    declared = without_inits(set(listed))
    assert declared == derived, (
        f"dvc.yaml stage {stage}: missing deps {sorted(derived - declared)}, extra deps {sorted(declared - derived)}"
    )


def test_closure_follows_lazy_and_transitive_imports(tmp_path):
    files = {
        "pkg/__init__.py": "VERSION = 1\n",
        "pkg/stages/__init__.py": "",
        "pkg/stages/s.py": "import json\n\n\ndef main():\n    import pkg.a\n",
        "pkg/a.py": "from pkg import VERSION, b\n",
        "pkg/b.py": "from .d import VALUE\n",
        "pkg/d.py": "VALUE = 2\n",
        "pkg/c.py": "",
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    # pkg.VERSION is a name, not a module; pkg/c.py is never imported; json is outside the package.
    assert import_closure(tmp_path / "pkg", "pkg", "pkg.stages.s") == set(files) - {"pkg/c.py"}


def test_a_module_listed_twice_is_caught():
    assert repeated(["poetry_rnn/a.py", "poetry_rnn/b.py", "poetry_rnn/a.py"]) == ["poetry_rnn/a.py"]
    assert repeated(["poetry_rnn/a.py", "poetry_rnn/b.py"]) == []
