"""Same code, params and seed give the same weights bit for bit on CPU, whatever the intra-op thread count and
whatever else runs: MKL's conditional reproducibility is strict and the orthogonal init runs on one thread."""

import subprocess
import sys

# A short training run of each architecture on random windows; prints a sha256 of every weight.
RUN = """
import hashlib, sys
import torch
from poetry_rnn.training.model import Autoencoder, AutoencoderConfig
torch.set_num_threads(int(sys.argv[1]))
digest = hashlib.sha256()
for heads in (0, 4):
    torch.manual_seed(0)
    m = Autoencoder(AutoencoderConfig(input_dim=300, window=50, cell="gru", hidden=128, bottleneck=64, layers=1,
                                      dropout=0.0, heads=heads, feed_previous=False, line=0, context=False))
    opt = torch.optim.AdamW(m.parameters(), 1e-3)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        x, mask = torch.randn(128, 50, 300, generator=g), torch.rand(128, 50, generator=g) < 0.9
        mask[:, 0] = True
        loss = (1 - torch.nn.functional.cosine_similarity(m.teacher_forced(x, mask, 1.0), x, dim=-1)[mask]).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    for v in m.state_dict().values():
        digest.update(v.numpy().tobytes())
print(digest.hexdigest())
"""


def test_weights_are_the_same_on_one_and_two_threads_run_side_by_side():
    # Started together: each runs while the other loads the cores.
    procs = [subprocess.Popen([sys.executable, "-c", RUN, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for n in (1, 2, 2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    digests = [out.strip() for out, _ in outs]
    assert len(digests[0]) == 64 and len(set(digests)) == 1, digests
