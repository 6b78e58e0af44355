"""The device code paths: what runs on any device is checked on the CPU; the CUDA comparisons run where a GPU is."""

import pytest
import torch

from poetry_rnn.training.dataset import Windows
from poetry_rnn.scoring.scores import model_reconstructor, score_tokens
from poetry_rnn.training.model import Autoencoder
from tiny import config as tiny_config
from poetry_rnn.training.engine import autocast, mean_cosine, train
from poetry_rnn.scoring.words import Candidates
from test_train_evaluate import D, T, VECTORS, data, train_params  # noqa: F401  (fixture)

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def test_autocast_is_off_on_the_cpu_so_cpu_results_stay_bit_exact():
    with autocast(torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")
        y = torch.nn.Linear(4, 4)(torch.ones(2, 4))
    assert y.dtype == torch.float32


def test_windows_moved_to_a_device_batch_in_the_same_order(data):  # noqa: F811
    tr, _, _ = data
    moved = tr.to(torch.device("cpu"))
    for (a, ma, sa), (b, mb, sb) in zip(tr.batches(16, torch.Generator().manual_seed(3)),
                                        moved.batches(16, torch.Generator().manual_seed(3))):
        assert torch.equal(a, b) and torch.equal(ma, mb) and torch.equal(sa, sb)


def _model(heads: int = 0) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(tiny_config(input_dim=D, window=T, hidden=16, bottleneck=4, heads=heads))


@CUDA
def test_training_on_cuda_with_bf16_lands_where_the_cpu_does(data, tmp_path):  # noqa: F811
    tr, va, vocab = data
    cfg = train_params(epochs=6, batch_size=16, lr=1e-2, seed=0)
    cosines = {}
    for device in ("cpu", "cuda"):
        model = _model(heads=2)
        result = train(model, tr, va, vocab, cfg, tmp_path / device, torch.device(device))
        cosines[device] = result.best_val_cosine
        assert mean_cosine(model, va, vocab, 64, torch.device(device)) == pytest.approx(result.history[-1]["val_cosine"])
    assert cosines["cuda"] == pytest.approx(cosines["cpu"], abs=0.02)  # bf16 and cuDNN: close, not bit-equal


@CUDA
def test_scoring_on_cuda_matches_the_cpu(data):  # noqa: F811
    _, va, vocab = data
    model = _model()
    candidates = Candidates.from_rows(vocab.rows, VECTORS)
    on = {d: score_tokens(model_reconstructor(model, torch.device(d)), va, vocab, candidates, device=torch.device(d))
          for d in ("cpu", "cuda")}
    assert (on["cpu"].hit == on["cuda"].hit).mean() > 0.99
    assert on["cpu"].cosine == pytest.approx(on["cuda"].cosine, abs=1e-4)


def test_scoring_on_the_cpu_accepts_windows_and_candidates_wherever_they_are(data):  # noqa: F811
    _, va, vocab = data
    candidates = Candidates.from_rows(vocab.rows, VECTORS)
    s = score_tokens(lambda x, mask: x, Windows(va.ids, va.mask, va.score), vocab, candidates.to(torch.device("cpu")))
    assert s.hit.all() and len(s.hit) == int(va.score.sum())
