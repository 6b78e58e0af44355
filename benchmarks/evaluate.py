"""The evaluate stage timed whole: this checkout's code against a commit's, on the same trained models.

    dvc repro train_per_token train_baseline train_attention     # the models evaluate scores
    python benchmarks/evaluate.py --workspace . --against HEAD~1
    python benchmarks/evaluate.py --workspace . --against HEAD --search-from 02ab2f7   # the anchor's search older

Copies the workspace once (params, data, checkpoints and its MLflow store, so nothing is logged to the user's
runs; not .git) and runs `python -m poetry_rnn.stages.evaluate` in the copy twice, one after the other: first with
`poetry_rnn` as it is at the commit --against (the anchor; with --search-from, its nearest-word search,
poetry_rnn/scoring/words.py, taken from that commit), then with this checkout's. Prints each one's seconds and
checks that both wrote the same metrics/evaluate.json, details.json, poem_scores.csv and cosine_by_position.csv to
the byte (exit 1 if not). Run it on an idle machine: a job beside it slows either side by whatever it takes.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("metrics/evaluate.json", "stages/evaluate/details.json", "stages/evaluate/poem_scores.csv",
           "stages/evaluate/cosine_by_position.csv")


def git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True).stdout


def install_code(copy: Path, commit: str | None, search_from: str | None = None) -> None:
    """The copy's poetry_rnn: the commit's (git archive), or this checkout's when commit is None."""
    shutil.rmtree(copy / "poetry_rnn", ignore_errors=True)
    if commit is None:
        shutil.copytree(ROOT / "poetry_rnn", copy / "poetry_rnn", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        subprocess.run(["tar", "x", "-C", str(copy)], input=git("archive", commit, "poetry_rnn"), check=True)
    if search_from:
        (copy / "poetry_rnn/scoring/words.py").write_bytes(git("show", f"{search_from}:poetry_rnn/scoring/words.py"))


def timed_evaluate(copy: Path, keep: Path) -> float:
    """Seconds of one evaluate stage in `copy`; its outputs kept under `keep`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_ROOT", "MLFLOW_TRACKING_URI", "PYTHONPATH")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DVC_NO_ANALYTICS="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "poetry_rnn.stages.evaluate"], cwd=copy, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"evaluate failed in {copy}:\n{proc.stderr[-3000:]}")
    for name in OUTPUTS:
        (keep / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(copy / name, keep / name)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path, default=Path("."), help="a project after its training stages ran")
    ap.add_argument("--against", default="HEAD", help="the anchor: the commit whose poetry_rnn runs first")
    ap.add_argument("--search-from", help="the anchor's poetry_rnn/scoring/words.py from this commit")
    args = ap.parse_args()
    workspace = args.workspace.resolve()
    anchor = git("rev-parse", "--short", args.against).decode().strip()
    with tempfile.TemporaryDirectory(prefix="evaluate-bench-") as tmp:
        copy = Path(tmp) / "workspace"
        shutil.copytree(workspace, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        print(f"evaluate in a copy of {workspace}; {torch.get_num_threads()} threads, torch {torch.__version__}, "
              f"{platform.machine()}, {os.cpu_count()} CPUs", flush=True)
        arms = {f"anchor: {anchor}" + (f", search of {args.search_from}" if args.search_from else ""): anchor,
                "this checkout": None}
        seconds = {}
        for i, (label, commit) in enumerate(arms.items()):
            install_code(copy, commit, args.search_from if commit else None)
            seconds[label] = timed_evaluate(copy, Path(tmp) / f"outputs-{i}")
            print(f"{label:45} {seconds[label]:9.1f} s", flush=True)
        first, second = seconds.values()
        print(f"{'anchor / this checkout':45} {first / second:9.2f}x")
        kept = [Path(tmp) / f"outputs-{i}" for i in range(2)]
        differ = [n for n in OUTPUTS if (kept[0] / n).read_bytes() != (kept[1] / n).read_bytes()]
        if differ:
            raise SystemExit(f"the outputs differ: {', '.join(differ)}")
        print(f"the same outputs to the byte: {', '.join(Path(n).name for n in OUTPUTS)}")


if __name__ == "__main__":
    main()
