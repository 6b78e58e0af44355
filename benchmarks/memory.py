"""Peak resident memory and wall time of every pipeline stage on a given corpus.

    python benchmarks/memory.py ../shared/data/poems/public-domain-poets.zip \\
        --glove ../shared/data/glove/glove.standin.300d.zip --member glove.standin.300d.txt \\
        --fraction 0.5 --fraction 1 -S train.epochs=1

Runs the pipeline's stages, one process each (`python -m poetry_rnn.stages.<stage>`, as `dvc repro` does), in a fresh
workspace with the project's params.yaml plus the `-S key=value` overrides, and prints each stage's peak RSS
(from wait4's rusage, the stage process alone) and wall time. With several --fraction values the corpus is cut to
that share of its poem files (a seeded sample) first, so the table shows how memory grows with the corpus.
Training memory does not depend on the number of epochs, so `-S train.epochs=1` keeps the run short.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["fingerprint_inputs", "download_glove", "preprocess", "chunk", "train_baseline", "train_attention", "evaluate",
          "compare"]


def sample_corpus(source: Path, fraction: float, seed: int, out: Path) -> tuple[Path, int]:
    """A zip holding `fraction` of the source zip's .txt members (seeded); returns it and its member count."""
    with zipfile.ZipFile(source) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".txt"))
        keep = sorted(np.random.default_rng(seed).permutation(names)[: round(fraction * len(names))].tolist())
        if fraction >= 1:
            return source, len(names)
        with zipfile.ZipFile(out, "w") as dst:
            for name in keep:
                dst.writestr(name, z.read(name))
    return out, len(keep)


def set_param(params: dict, key: str, value: str) -> None:
    """params[a][b] = value for key "a.b", the value parsed as YAML (like `dvc exp run -S`)."""
    *path, last = key.split(".")
    for part in path:
        params = params.setdefault(part, {})
    params[last] = yaml.safe_load(value)


def run_stage(stage: str, workspace: Path, env: dict) -> tuple[float, float, int]:
    """Run one stage in workspace; (peak RSS in MiB, wall seconds, exit status)."""
    start = time.perf_counter()
    with open(workspace / f"{stage}.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", f"poetry_rnn.stages.{stage}"], cwd=workspace, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)  # the rusage of this stage process alone
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, proc.returncode  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="a .zip of one-poem .txt files (the scale benchmark)")
    parser.add_argument("--glove", required=True, help="glove.url for the run")
    parser.add_argument("--member", required=True, help="glove.file for the run")
    parser.add_argument("--fraction", type=float, action="append", help="share of the poems to run on (repeatable)")
    parser.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE", help="params override")
    parser.add_argument("--until", choices=STAGES, default=STAGES[-1], help="the last stage to run")
    parser.add_argument("--from", dest="first", choices=STAGES, default=STAGES[0], help="the first stage to run")
    parser.add_argument("--keep", action="store_true", help="keep the workspaces (their stage logs)")
    parser.add_argument("--workspace", type=Path,
                        help="go on in a workspace kept by an earlier run (with --from: the stage to go on from)")
    args = parser.parse_args()

    if args.workspace and len(args.fraction or [1.0]) > 1:
        parser.error("--workspace goes on with one run: give at most one --fraction")
    rows = []
    for fraction in args.fraction or [1.0]:
        workspace = args.workspace.resolve() if args.workspace else Path(tempfile.mkdtemp(prefix=f"memory-{fraction:g}-"))
        corpus, files = sample_corpus(args.corpus.resolve(), fraction, 42, workspace / "corpus.zip")
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        overrides = {"glove.url": str(Path(args.glove).resolve()), "glove.file": args.member,
                     "poems.source": str(corpus)}
        for key, value in [*overrides.items(), *(s.split("=", 1) for s in args.set)]:
            set_param(params, key, value)
        (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{workspace / 'mlflow.db'}",
               "MLFLOW_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(ROOT)}
        for stage in STAGES[STAGES.index(args.first): STAGES.index(args.until) + 1]:
            rss, wall, status = run_stage(stage, workspace, env)
            rows.append((fraction, files, stage, rss, wall, status))
            print(f"{fraction:>8g} {files:>7,} {stage:<16} {rss:>9,.0f} MiB {wall:>8.1f} s  exit {status}", flush=True)
            if status:
                print((workspace / f"{stage}.log").read_text()[-2000:], file=sys.stderr)
                break
        if not (args.keep or args.workspace):
            shutil.rmtree(workspace, ignore_errors=True)

    print("\n| share of corpus | poem files | stage | peak RSS (MiB) | wall (s) |")
    print("|---|---|---|---|---|")
    for fraction, files, stage, rss, wall, status in rows:
        print(f"| {fraction:g} | {files:,} | {stage} | {rss:,.0f} | {wall:,.1f}{'' if not status else ' (failed)'} |")


if __name__ == "__main__":
    main()
