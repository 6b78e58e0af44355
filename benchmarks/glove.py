"""Converting a GloVe text file: a raw read, pandas' C CSV parser and convert_glove, measured in one run.

    python benchmarks/glove.py path/to/glove.6B.300d.txt       # a real file (plain text; dims read from line 1)
    python benchmarks/glove.py --synthetic                     # 400,000 words x 300 dims (~1.1 GB) in a temp folder
    python benchmarks/glove.py --synthetic --words 50000 --careful

Each method runs in a subprocess of its own, so peak RSS is its own and no method inherits another's memory; a raw
read first puts the file in the OS page cache, so all of them read from memory. Methods take turns for --repeat
rounds and the best time counts. Prints wall seconds, MB/s, CPU seconds (all threads: convert_glove parses on
several) and peak RSS (the subprocess's, imports included) of each, and each parser's speed over pandas'. pandas
reads into a DataFrame indexed by word and copies it to a float32 matrix; convert_glove writes vocab.txt and
vectors.npy. Figures vary with the machine and with what else it runs (the load average is printed before and
after): compare them within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = {
    "raw read": "raw",
    "pandas C parser": "pandas",
    "convert_glove": "convert",
    "convert_glove, careful parser only": "careful",
}


def synthetic(path: Path, words: int, dim: int, seed: int = 0, batch: int = 4096) -> None:
    """A GloVe-format file of random vectors, numbers written as GloVe writes them (e.g. -0.41242, 0.082752)."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        for start in range(0, words, batch):
            n = min(batch, words - start)
            # Each number is 11 byte cells, some left 0 and dropped: a sign, a digit, ".", 5 or 6 digits, a separator.
            cells = np.zeros((n, dim, 11), np.uint8)
            cells[..., 0] = np.where(rng.random((n, dim)) < 0.5, ord("-"), 0)
            cells[..., 1] = np.where(rng.random((n, dim)) < 0.9, ord("0"), rng.integers(ord("1"), ord("4"), (n, dim)))
            cells[..., 2] = ord(".")
            cells[..., 3:8] = rng.integers(ord("0"), ord("9") + 1, (n, dim, 5), dtype=np.uint8)
            cells[..., 8] = np.where(rng.random((n, dim)) < 0.5, rng.integers(ord("0"), ord("9") + 1, (n, dim)), 0)
            cells[..., 9] = ord(" ")
            cells[:, -1, 9] = ord("\n")
            rows = cells[cells != 0].tobytes().split(b"\n")[:-1]
            f.write(b"".join(b"word%d " % (start + i) + row + b"\n" for i, row in enumerate(rows)))


def dims(path: Path) -> int:
    """Numbers on the first line: the vector length (GloVe words rarely hold spaces; the first never does)."""
    with open(path, "rb") as f:
        return len(f.readline().split()) - 1


def child(method: str, path: Path, dim: int) -> dict:
    """Run one method in this process; return its seconds (wall and CPU, all threads) and peak RSS."""
    start, cpu = time.perf_counter(), cpu_seconds()
    if method == "raw":
        with open(path, "rb") as f:
            while f.read(16 << 20):
                pass
    elif method == "pandas":
        import csv

        import pandas as pd

        start, cpu = time.perf_counter(), cpu_seconds()  # after the import, as for the converter
        frame = pd.read_csv(path, sep=" ", header=None, quoting=csv.QUOTE_NONE, engine="c", na_filter=False,
                            index_col=0, dtype={i: np.float32 for i in range(1, dim + 1)})
        frame.to_numpy(np.float32)
    else:
        from poetry_rnn.inputs import glove

        if method == "careful":
            glove._pyarrow_rows = lambda *args: None  # pyarrow refuses all: the line-by-line parser reads it all
        with tempfile.TemporaryDirectory() as out:
            start, cpu = time.perf_counter(), cpu_seconds()
            glove.convert_glove(path, "", dim, Path(out))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": cpu_seconds() - cpu, "rss_mb": peak_rss_mb()}


def cpu_seconds() -> float:
    """User and system time of this process so far, all threads."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory; Linux's VmHWM, unlike ru_maxrss, starts afresh at exec."""
    try:
        status = Path("/proc/self/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(method: str, path: Path, dim: int) -> dict:
    """Run one method in a fresh Python process."""
    proc = subprocess.run([sys.executable, __file__, "--child", method, str(path), "--dim", str(dim)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{method} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", type=Path, help="a GloVe text file (not a zip)")
    ap.add_argument("--synthetic", action="store_true", help="generate a GloVe-format file in a temp folder instead")
    ap.add_argument("--words", type=int, default=400_000, help="rows of the synthetic file")
    ap.add_argument("--dim", type=int, default=300, help="vector length of the synthetic file")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the best time of each method counts")
    ap.add_argument("--careful", action="store_true", help="also time convert_glove with its careful parser only")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.path, args.dim)))
        return
    if args.synthetic == bool(args.path):
        ap.error("give a GloVe text file or --synthetic")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if args.synthetic:
            path = Path(tmp) / f"glove.synthetic.{args.dim}d.txt"
            start = time.perf_counter()
            synthetic(path, args.words, args.dim)
            print(f"wrote {path.name} in {time.perf_counter() - start:.1f} s")
        dim, size = dims(path), path.stat().st_size
        methods = {label: m for label, m in METHODS.items() if m != "careful" or args.careful}
        print(f"{path}: {size / 1e6:,.0f} MB, {dim}-d vectors; {os.cpu_count()} CPUs; best of {args.repeat}; "
              f"python {sys.version.split()[0]}, numpy {np.__version__}; load average {os.getloadavg()[0]:.2f}")
        measure("raw", path, dim)  # into the page cache
        runs: dict[str, list[dict]] = {label: [] for label in methods}
        for _ in range(args.repeat):
            for label, method in methods.items():
                runs[label].append(measure(method, path, dim))
        best = {label: min(rs, key=lambda r: r["seconds"]) for label, rs in runs.items()}
        pandas = best["pandas C parser"]["seconds"]
        print(f"{'method':<36} {'seconds':>8} {'MB/s':>8} {'CPU s':>7} {'peak RSS MB':>12} {'vs pandas':>10}")
        for label, rs in runs.items():
            seconds = best[label]["seconds"]
            ratio = f"{pandas / seconds:>9.2f}x" if label != "raw read" else ""
            print(f"{label:<36} {seconds:>8.2f} {size / 1e6 / seconds:>8,.0f} {best[label]['cpu']:>7.2f} "
                  f"{max(r['rss_mb'] for r in rs):>12,.0f} {ratio:>10}")
        print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
