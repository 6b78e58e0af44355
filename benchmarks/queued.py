"""Two queued experiments side by side against one after the other, with and without sharing the cores.

    python benchmarks/queued.py                         # Dickinson and the stand-in vectors from ../shared
    python benchmarks/queued.py --poems P --glove G --file F -S train.epochs=2
    python benchmarks/queued.py --arms shared           # one side-by-side arm beside the anchor

Copies this repo (its tracked files) into a temporary git + DVC repo, runs the data stages once, then times three
arms of two experiments each (different train.seed per experiment, so that nothing comes from DVC's run-cache):
  one after the other      dvc queue start -j 1   (the anchor)
  side by side, shared     dvc queue start -j 2   (each stage takes cores / 2 torch threads: distributed.share_cores)
  side by side, unshared   dvc queue start -j 2 with OMP_NUM_THREADS = cores (every stage takes all the cores,
                           as before the share)
and prints each arm's wall time beside the anchor's. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
ARMS = ("shared", "unshared")  # the two ways of running side by side, each timed beside the anchor (-j 1)


def sh(cmd: list[str], cwd: Path, **env: str) -> str:
    """Run a command with this Python's environment first on PATH; fail with its output."""
    full = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", **env}
    full.pop("DVC_ROOT", None), full.pop("MLFLOW_TRACKING_URI", None)
    if "OMP_NUM_THREADS" not in env:
        full.pop("OMP_NUM_THREADS", None)
    proc = subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout + proc.stderr


def make_repo(dest: Path, settings: list[str]) -> None:
    """This repo's tracked files in a fresh git + DVC repo, the data stages run once."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "bench@example.com"],
                ["git", "config", "user.name", "bench"], ["git", "add", "-A"], ["git", "commit", "-qm", "bench"]):
        sh(cmd, dest)
    sets = [a for s in settings for a in ("-S", s)]
    sh(["dvc", "exp", "run", *sets, "chunk"], dest)  # the data stages, shared by every arm
    sh(["git", "add", "-A"], dest), sh(["git", "commit", "-qm", "data stages"], dest)


def arm(repo: Path, jobs: int, seeds: tuple[int, int], settings: list[str], **env: str) -> float:
    """Queue two experiments and time `dvc queue start -j jobs` until both are done."""
    sets = [a for s in settings for a in ("-S", s)]
    for seed in seeds:
        sh(["dvc", "exp", "run", "--queue", *sets, "-S", f"train.seed={seed}", "--name", f"seed{seed}"], repo)
    start = time.perf_counter()
    sh(["dvc", "queue", "start", "-j", str(jobs)], repo, **env)
    while True:
        status = sh(["dvc", "queue", "status"], repo)
        if not any(w in ("Queued", "Running") for line in status.splitlines() for w in line.split()):
            break
        time.sleep(2)
    seconds = time.perf_counter() - start
    if "Failed" in status:
        sys.exit(f"an experiment failed:\n{status}")
    sh(["dvc", "queue", "stop"], repo)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--poems", default=str(SHARED / "poems" / "pg12242-dickinson-three-series.txt"))
    ap.add_argument("--glove", default=str(SHARED / "glove" / "glove.standin.300d.zip"))
    ap.add_argument("--file", default="glove.standin.300d.txt", help="the GloVe member of the zip")
    ap.add_argument("-S", dest="settings", action="append", default=[], help="more params, as dvc exp run -S")
    ap.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS),
                    help="the side-by-side arms to time beside the anchor (default: both)")
    args = ap.parse_args()
    settings = [f"glove.url={args.glove}", f"glove.file={args.file}", f"poems.source={args.poems}", *args.settings]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        repo = Path(tmp)
        make_repo(repo, settings)
        sequential = arm(repo, 1, (1, 2), settings)
        timed = {}
        if "shared" in args.arms:
            timed["side by side, cores shared (-j 2):"] = arm(repo, 2, (3, 4), settings)
        if "unshared" in args.arms:
            timed["side by side, all cores each (-j 2):"] = arm(repo, 2, (5, 6), settings,
                                                              OMP_NUM_THREADS=str(cores))
    print(f"two experiments, {cores} cores ({' '.join(args.settings) or 'params.yaml'}, poems {Path(args.poems).name}):")
    print(f"  {'one after the other (-j 1):':<39}{sequential:7.1f} s  (anchor)")
    for label, seconds in timed.items():
        print(f"  {label:<39}{seconds:7.1f} s  ({seconds / sequential:.2f}x the anchor)")


if __name__ == "__main__":
    main()
