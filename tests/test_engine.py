"""The training engine's schedules, losses, gradient health and exact resume."""

import pytest
import torch

from poetry_rnn.model import Autoencoder, AutoencoderConfig
from poetry_rnn.train import (
    TrainConfig, curriculum_window, gradient_health, masked_loss, resumable, teacher_forcing_ratio, train,
)
from test_train_evaluate import D, T, data  # noqa: F401  (fixture)


@pytest.mark.parametrize("schedule", ["linear", "exponential", "inverse_sigmoid"])
def test_teacher_forcing_decays_from_start_to_end(schedule):
    cfg = TrainConfig(epochs=10, tf_start=1.0, tf_end=0.0, tf_schedule=schedule)
    ratios = [teacher_forcing_ratio(cfg, e) for e in range(1, 11)]
    assert ratios[0] == pytest.approx(1.0, abs=0.01) and ratios[-1] == pytest.approx(0.0, abs=0.01)
    assert all(a >= b for a, b in zip(ratios, ratios[1:]))


def test_curriculum_trains_short_windows_first_then_full():
    cfg = TrainConfig(curriculum=[(10, 2), (25, 1)])
    assert [curriculum_window(cfg, e, 50) for e in range(1, 6)] == [10, 10, 25, 50, 50]


def test_teacher_forcing_feeds_the_target_at_t_minus_1_never_t():
    """With full teacher forcing, output t must not change when the target at t changes."""
    torch.manual_seed(0)
    m = Autoencoder(AutoencoderConfig(input_dim=D, window=T, hidden=16, bottleneck=4, heads=2)).eval()
    z, x = torch.randn(1, 4), torch.randn(1, T, D)
    x2 = x.clone()
    x2[:, 5] += 10.0
    y1, _ = m.decoder(z, target=x, teacher_forcing=1.0)
    y2, _ = m.decoder(z, target=x2, teacher_forcing=1.0)
    assert torch.equal(y1[:, :6], y2[:, :6])  # positions 0..5 do not see target 5
    assert not torch.equal(y1[:, 6], y2[:, 6])  # position 6 is fed target 5


def test_scheduled_sampling_and_fused_teacher_forcing_agree():
    torch.manual_seed(0)
    m = Autoencoder(AutoencoderConfig(input_dim=D, window=T, hidden=16, bottleneck=4, heads=2)).eval()
    z, x = torch.randn(2, 4), torch.randn(2, T, D)
    fused, _ = m.decoder(z, target=x, teacher_forcing=1.0)
    stepped, _ = m.decoder(z, target=x, teacher_forcing=1.0 - 1e-9, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(fused, stepped, atol=1e-5)


def test_word_loss_prefers_the_true_word():
    table = torch.nn.functional.normalize(torch.randn(20, D), dim=-1)
    ids = torch.randint(0, 20, (2, T))
    mask = torch.ones(2, T, dtype=torch.bool)
    cfg = TrainConfig(cosine_weight=1.0, word_weight=1.0)
    right = masked_loss(table[ids], table[ids], mask, cfg, ids, table)
    wrong = masked_loss(table[(ids + 1) % 20], table[ids], mask, cfg, ids, table)
    assert right < wrong


def test_gradient_health_counts_vanishing_and_exploding_tensors():
    m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    m[0].weight.grad = torch.full((2, 2), 1e-9)
    m[0].bias.grad = torch.full((2,), 500.0)
    m[1].weight.grad, m[1].bias.grad = torch.ones(2, 2), torch.ones(2)
    norm, vanishing, exploding = gradient_health(m)
    assert vanishing == 1 and exploding == 1 and norm > 500


def run(data, ckpt, epochs, resume=None, fingerprint=None):
    tr, va, vocab = data
    torch.manual_seed(0)
    model = Autoencoder(AutoencoderConfig(input_dim=D, window=T, hidden=16, bottleneck=4, heads=2, dropout=0.1))
    cfg = TrainConfig(epochs=4, batch_size=16, lr=1e-2, tf_start=1.0, tf_end=0.3, curriculum=[(4, 1)], seed=0)
    result = train(model, tr, va, vocab, cfg, ckpt, torch.device("cpu"), fingerprint=fingerprint or {"a": 1},
                   resume=resume, on_epoch=(lambda e, r: (_ for _ in ()).throw(KeyboardInterrupt) if e == epochs else None))
    return model, result


def test_resumed_run_ends_exactly_like_an_uninterrupted_one(data, tmp_path):  # noqa: F811
    whole, result = run(data, tmp_path / "whole", epochs=99)
    with pytest.raises(KeyboardInterrupt):
        run(data, tmp_path / "cut", epochs=3)  # interrupted during epoch 3, after epoch 2's checkpoint
    state = resumable(tmp_path / "cut", {"a": 1})
    assert state is not None and state["epoch"] == 2
    resumed, result2 = run(data, tmp_path / "cut", epochs=99, resume=state)
    assert result2.resumed_from == 2
    assert [r["val_cosine"] for r in result2.history] == [r["val_cosine"] for r in result.history]
    for (k, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


def test_other_params_or_a_finished_run_do_not_resume(data, tmp_path):  # noqa: F811
    run(data, tmp_path, epochs=99)
    assert resumable(tmp_path, {"a": 1}) is None  # complete
    with pytest.raises(KeyboardInterrupt):
        run(data, tmp_path / "cut", epochs=2)
    assert resumable(tmp_path / "cut", {"a": 2}) is None
    assert resumable(tmp_path / "cut", {"a": 1}) is not None
