"""The evaluate stage's nearest-word search, new against old, on a synthetic case of the large benchmark's size.

    python benchmarks/nearest.py                      # 156,000 tokens, 30,085 candidates, 300-d
    python benchmarks/nearest.py --tokens 20000       # a quicker look

The candidates are random unit vectors (the search's speed does not depend on what they mean). Two reconstructors, as
evaluate scores them, their reconstructions searched in the batches score_tokens passes (256 windows of 8 scored
tokens at the defaults):
- a model: each token a candidate's vector plus noise (cosine about 0.6 to it), every reconstruction distinct;
- the mean-vector reference: one and the same vector for every token.
Prints, for each, the seconds of the old search (float32 similarities to every candidate, in blocks of up to 256 MB)
and of Candidates.nearest, from the same run, and checks that both answer the same word for every token.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F

from poetry_rnn.scoring.words import Candidates, bf16_is_native

OLD_SIMILARITIES = 64 << 20  # the old search's block: float32 similarities held at once


def old_nearest(c: Candidates, vectors: torch.Tensor) -> torch.Tensor:
    """The search before this change: every vector against every candidate in float32."""
    block = max(1, OLD_SIMILARITIES // max(len(c.rows), 1))
    best = [(F.normalize(vectors[i : i + block].float(), dim=-1) @ c.unit.T).argmax(-1)
            for i in range(0, len(vectors), block)]
    return torch.from_numpy(c.rows)[torch.cat(best)]


def timed(search, c: Candidates, reconstructions: torch.Tensor, batch: int) -> tuple[float, torch.Tensor]:
    """Seconds to search every reconstruction, batch by batch as score_tokens does, and the answers."""
    start = time.perf_counter()
    found = torch.cat([search(c, reconstructions[i : i + batch]) for i in range(0, len(reconstructions), batch)])
    return time.perf_counter() - start, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=156_000, help="test tokens (the large benchmark's: about 156k)")
    ap.add_argument("--candidates", type=int, default=30_085, help="candidate words (the large benchmark's 30,085)")
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--batch", type=int, default=2048, help="reconstructions per call, as score_tokens passes them")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(args.candidates, args.dim, generator=g)
    c = Candidates.from_rows(np.arange(args.candidates), vectors.numpy())
    targets = torch.randint(0, args.candidates, (args.tokens,), generator=g)
    noise = torch.randn(args.tokens, args.dim, generator=g) / args.dim**0.5
    cases = {"model (every reconstruction distinct)": c.unit[targets] + 1.3 * noise,
             "mean-vector reference (one vector)": vectors.mean(0).expand(args.tokens, args.dim)}
    print(f"{args.tokens:,} tokens, {args.candidates:,} candidates, {args.dim}-d, batches of {args.batch}; "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, {platform.machine()}, "
          f"bfloat16 screening {'on' if bf16_is_native(torch.device('cpu')) else 'off (not native here)'}")
    print(f"{'reconstructor':40} {'old s':>8} {'new s':>8} {'speed-up':>9}  same words")
    total_old = total_new = 0.0
    for name, reconstructions in cases.items():
        old_s, old = timed(old_nearest, c, reconstructions, args.batch)
        new_s, new = timed(Candidates.nearest, c, reconstructions, args.batch)
        total_old, total_new = total_old + old_s, total_new + new_s
        differ = (old != new).nonzero().squeeze(1)
        # float32's argmax may turn a near tie (its last bits depend on the product's shape); the new search answers
        # the float64 nearest, so where they differ its answer must be at least as near
        q, unit = F.normalize(reconstructions[differ].double(), dim=-1), c.unit.double()  # its rows are indices here
        if not ((q * unit[new[differ]]).sum(-1) >= (q * unit[old[differ]]).sum(-1)).all():
            raise SystemExit(f"{len(differ)} tokens answered differently, some farther than float32's answer")
        same = "yes" if not len(differ) else f"yes but {len(differ)} near ties, nearer in float64"
        print(f"{name:40} {old_s:8.2f} {new_s:8.2f} {old_s / new_s:8.1f}x  {same}", flush=True)
    print(f"{'both':40} {total_old:8.2f} {total_new:8.2f} {total_old / total_new:8.1f}x")


if __name__ == "__main__":
    main()
