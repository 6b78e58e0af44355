"""The training engine's schedules, losses, gradient health and exact resume."""

from pathlib import Path

import pytest
import torch

from poetry_rnn.training.model import Autoencoder
from tiny import config as tiny_config, loss_params
from poetry_rnn.training.engine import (
    TrainStep, curriculum_window, gradient_health, masked_loss, nearest_words, resumable, teacher_forcing_ratio, train,
)
from test_train_evaluate import D, T, data, train_params  # noqa: F401  (fixture)


@pytest.mark.parametrize("schedule", ["linear", "exponential", "inverse_sigmoid"])
def test_teacher_forcing_decays_from_start_to_end(schedule):
    cfg = train_params(epochs=10, teacher_forcing={"start": 1.0, "end": 0.0, "schedule": schedule})
    ratios = [teacher_forcing_ratio(cfg, e) for e in range(1, 11)]
    assert ratios[0] == pytest.approx(1.0, abs=0.01) and ratios[-1] == pytest.approx(0.0, abs=0.01)
    assert all(a >= b for a, b in zip(ratios, ratios[1:]))


def test_curriculum_trains_short_windows_first_then_full():
    cfg = train_params(epochs=5, curriculum=[{"window": 10, "epochs": 2}, {"window": 25, "epochs": 1}])
    assert [curriculum_window(cfg, e, 50) for e in range(1, 6)] == [10, 10, 25, 50, 50]


def test_teacher_forcing_feeds_the_target_at_t_minus_1_never_t():
    """With full teacher forcing, output t must not change when the target at t changes."""
    torch.manual_seed(0)
    m = Autoencoder(tiny_config(input_dim=D, window=T, hidden=16, bottleneck=4, heads=2)).eval()
    z, x = torch.randn(1, 4), torch.randn(1, T, D)
    x2 = x.clone()
    x2[:, 5] += 10.0
    y1, _ = m.decoder(z, target=x, teacher_forcing=1.0)
    y2, _ = m.decoder(z, target=x2, teacher_forcing=1.0)
    assert torch.equal(y1[:, :6], y2[:, :6])  # positions 0..5 do not see target 5
    assert not torch.equal(y1[:, 6], y2[:, 6])  # position 6 is fed target 5


def test_scheduled_sampling_and_fused_teacher_forcing_agree():
    torch.manual_seed(0)
    m = Autoencoder(tiny_config(input_dim=D, window=T, hidden=16, bottleneck=4, heads=2)).eval()
    z, x = torch.randn(2, 4), torch.randn(2, T, D)
    fused, _ = m.decoder(z, target=x, teacher_forcing=1.0)
    stepped, _ = m.decoder(z, target=x, teacher_forcing=1.0 - 1e-9, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(fused, stepped, atol=1e-5)


def test_word_loss_is_lower_for_the_true_word_at_equal_cosine():
    """Two predictions at the same cosine to the target: the word loss alone must prefer the one whose nearest
    word is the true word."""
    torch.manual_seed(0)
    table = torch.nn.functional.normalize(torch.randn(3, D), dim=-1)
    ids, mask = torch.tensor([[0, 1, 2]]), torch.ones(1, 3, dtype=torch.bool)
    target = table[ids]
    # Rotate each target by the same angle, towards the true word's side or towards a wrong word.
    away = table[ids.roll(1, dims=1)]
    towards_other = torch.nn.functional.normalize(target + 0.9 * (away - target), dim=-1)
    mirror = 2 * (towards_other * target).sum(-1, keepdim=True) * target - towards_other  # same cosine, other side
    vector_only, with_words = loss_params(cosine_weight=1.0, word_weight=0.0), loss_params(cosine_weight=1.0, word_weight=1.0)
    for pred in (towards_other, mirror):
        assert masked_loss(pred, target, mask, vector_only).item() == pytest.approx(
            masked_loss(towards_other, target, mask, vector_only).item(), abs=1e-5)  # equal cosine loss
    word_part = {name: (masked_loss(pred, target, mask, with_words, ids, table)
                        - masked_loss(pred, target, mask, vector_only, ids, table)).item()
                 for name, pred in (("towards_other", towards_other), ("mirror", mirror))}
    assert word_part["mirror"] > 0 and word_part["towards_other"] > word_part["mirror"] + 0.1


def test_nearest_words_are_the_closest_training_words_but_the_word_itself():
    torch.manual_seed(0)
    table = torch.nn.functional.normalize(torch.randn(30, D), dim=-1)
    vocabulary = torch.arange(0, 30, 2)  # the training words: every other row
    near = nearest_words(table, vocabulary, 3, block=7)  # blocks that do not divide the table
    sims = table @ table[vocabulary].T
    for row in range(30):
        order = [int(vocabulary[j]) for j in sims[row].argsort(descending=True) if int(vocabulary[j]) != row]
        assert near[row].tolist() == order[:3]


def test_hard_negatives_raise_the_word_loss_and_count_a_batch_word_once():
    """Each token's nearest words join its softmax: the loss can only grow; a neighbour that is already one of the
    batch's words is not counted twice, so neighbours that are all batch words change nothing."""
    torch.manual_seed(0)
    table = torch.nn.functional.normalize(torch.randn(6, D), dim=-1)
    ids, mask = torch.tensor([[0, 1, 2]]), torch.ones(1, 3, dtype=torch.bool)
    pred, target = torch.randn(1, 3, D), table[ids]
    cfg = loss_params(cosine_weight=1.0, word_weight=1.0)
    plain = masked_loss(pred, target, mask, cfg, ids, table)
    outside = torch.tensor([[3, 4], [4, 5], [5, 3]] + [[0, 1]] * 3)  # rows 0-2: words outside the batch
    inside = torch.tensor([[1, 2], [2, 0], [0, 1]] + [[0, 1]] * 3)  # rows 0-2: the batch's own words
    assert masked_loss(pred, target, mask, cfg, ids, table, near=outside) > plain + 1e-4
    assert masked_loss(pred, target, mask, cfg, ids, table, near=inside).item() == pytest.approx(plain.item())


def test_the_best_checkpoint_is_the_epoch_with_the_best_selected_score(data, tmp_path):  # noqa: F811
    """`select` names the epoch row's column that picks best.pt and drives patience: here a validation score that
    only falls, so the first epoch stays best and patience 2 stops training at epoch 3."""
    tr, va, vocab = data
    model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=8, bottleneck=2))
    scores = iter([0.9, 0.5, 0.2, 0.1, 0.0])
    result = train(model, tr, va, vocab, train_params(epochs=5, patience=2), tmp_path, torch.device("cpu"),
                   validate=lambda m: {"score": next(scores)}, select="score")
    assert (result.best_epoch, result.best_score, len(result.history)) == (1, 0.9, 3)
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 1
    assert result.best_val_cosine == result.history[0]["val_cosine"]


def test_train_is_train_step_over_its_batches(data, tmp_path):  # noqa: F811
    """An epoch of train() is TrainStep over TrainStep.batches in train.seed's order: the same steps by hand (dropout,
    scheduled sampling, the word loss with hard negatives, the code's noise) end with the same weights and optimizer
    state, bit for bit; a step holds train.batch_size lines (16 lines of 4 tokens: 8 windows of 8)."""
    tr, va, vocab = data
    cfg = train_params(epochs=1, batch_size=16, lr=1e-2, loss={"word_weight": 1.0, "neighbours": 3},
                       teacher_forcing={"start": 0.5})

    def fresh():
        torch.manual_seed(0)
        return Autoencoder(tiny_config(input_dim=D, window=T, hidden=16, bottleneck=4, heads=2, line=4, layers=2,
                                       dropout=0.1, code_limit=4.0, code_bits=8))

    trained = fresh()
    train(trained, tr, va, vocab, cfg, tmp_path, torch.device("cpu"))
    by_hand = fresh()
    by_hand.offset.copy_(tr.mean_vector(vocab))
    step = TrainStep(by_hand, vocab, cfg, torch.device("cpu"))
    batches = list(step.batches(tr, torch.Generator().manual_seed(cfg.seed)))
    assert step.windows == 8 and [len(ids) for ids, _, _ in batches] == [8] * 12
    by_hand.train()
    for ids, mask, _ in batches:
        step(ids, mask, 0.5)
    for (k, a), b in zip(trained.state_dict().items(), by_hand.state_dict().values()):
        assert torch.equal(a, b), k
    saved = torch.load(tmp_path / "last.pt", weights_only=True)["optimizer"]["state"]
    for i, state in step.opt.state_dict()["state"].items():
        assert all(torch.equal(state[k], saved[i][k]) for k in state), i


def test_a_step_with_code_bits_trains_on_the_blurred_code(data, tmp_path):  # noqa: F811
    """model.code_bits (with code_limit): each step draws uniform noise in [-0.5, 0.5) for every window's z, from its
    own seeded generator (a window gets the same noise in one process as in several); a step without it trains
    otherwise."""
    tr, va, vocab = data
    cfg = train_params(batch_size=16)
    after = []
    for blur in (True, False):
        torch.manual_seed(0)
        model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=16, bottleneck=4, line=4, code_limit=4.0,
                                        code_bits=8))
        step = TrainStep(model, vocab, cfg, torch.device("cpu"))
        noise = step.code_noise(5)
        assert noise.shape == (5, 4) and noise.abs().max() <= 0.5 and noise.std() > 0.2
        if not blur:
            step.code_noise = lambda rows: None
        ids, mask, _ = next(step.batches(tr, torch.Generator().manual_seed(0)))
        step(ids, mask, 1.0)
        after.append(model.encoder.to_z.weight.detach().clone())
    assert not torch.equal(*after)
    assert TrainStep(Autoencoder(tiny_config(input_dim=D, window=T, hidden=16, bottleneck=4)), vocab, cfg,
                     torch.device("cpu")).code_noise(5) is None


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
    model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=16, bottleneck=4, heads=2, dropout=0.1,
                                    code_limit=4.0, code_bits=4))
    cfg = train_params(epochs=4, batch_size=16, lr=1e-2, teacher_forcing={"start": 1.0, "end": 0.3},
                       curriculum=[{"window": 4, "epochs": 1}], seed=0)
    result = train(model, tr, va, vocab, cfg, ckpt, torch.device("cpu"), fingerprint=fingerprint or {"a": 1},
                   resume=resume, on_epoch=(lambda e, r: (_ for _ in ()).throw(KeyboardInterrupt) if e == epochs else None))
    return model, result


def test_resumed_run_ends_exactly_like_an_uninterrupted_one(data, tmp_path):  # noqa: F811
    whole, result = run(data, tmp_path / "whole", epochs=99)
    with pytest.raises(KeyboardInterrupt):
        run(data, tmp_path / "cut", epochs=3)  # interrupted after epoch 3's checkpoint, before its report
    state = resumable(tmp_path / "cut", {"a": 1})
    assert state is not None and state["epoch"] == 3
    resumed, result2 = run(data, tmp_path / "cut", epochs=99, resume=state)
    assert result2.resumed_from == 3
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


def test_a_checkpoint_is_on_disk_before_its_epoch_is_reported(data, tmp_path):  # noqa: F811
    reported = []

    def on_epoch(epoch, row):
        reported.append((epoch, torch.load(tmp_path / "last.pt", weights_only=True)["epoch"]))

    tr, va, vocab = data
    model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=8, bottleneck=2))
    train(model, tr, va, vocab, train_params(epochs=3, batch_size=32), tmp_path, torch.device("cpu"), on_epoch=on_epoch)
    assert reported == [(1, 1), (2, 2), (3, 3)]


def test_checkpoints_save_every_random_state(data, tmp_path):  # noqa: F811
    tr, va, vocab = data
    model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=8, bottleneck=2))
    train(model, tr, va, vocab, train_params(epochs=1, batch_size=32), tmp_path, torch.device("cpu"))
    [rng] = torch.load(tmp_path / "last.pt", weights_only=True)["rng"]  # one state per process
    assert set(rng) == {"torch", "cuda", "shuffle", "coins", "noise"}
    assert len(rng["cuda"]) == torch.cuda.device_count()  # one state per CUDA device: dropout there resumes exactly


def test_training_fingerprint_covers_the_data(tmp_path, monkeypatch):
    """Changing a chunk file or the GloVe meta changes the fingerprint, so an interrupted run is not resumed."""
    import shutil

    from poetry_rnn.params import load_params
    from poetry_rnn.stages.training import fingerprint

    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/chunks").mkdir(parents=True)
    (tmp_path / "data/glove").mkdir(parents=True)
    for name in ("train.npz", "val.npz", "test.npz", "vocabulary.npz"):
        (tmp_path / "data/chunks" / name).write_bytes(name.encode())
    (tmp_path / "data/glove/meta.json").write_text('{"words": 10}')
    p = load_params()
    before = fingerprint("train_baseline", p)
    assert {"sha256:data/chunks/train.npz", "sha256:data/glove/meta.json"} <= set(before)
    (tmp_path / "data/chunks/val.npz").write_bytes(b"other poems")
    assert fingerprint("train_baseline", p) != before
    (tmp_path / "data/chunks/val.npz").write_bytes(b"val.npz")
    assert fingerprint("train_baseline", p) == before
    (tmp_path / "data/glove/meta.json").write_text('{"words": 11}')
    assert fingerprint("train_baseline", p) != before


def test_one_process_keeps_the_fingerprint_of_checkpoints_from_before_nproc(tmp_path, monkeypatch):
    """train.nproc 1 trains as training did before the key existed: those checkpoints stay resumable and
    evaluable; another nproc is another computation and changes the fingerprint."""
    import shutil

    from poetry_rnn.params import load_params
    from poetry_rnn.stages.training import fingerprint

    shutil.copy(Path(__file__).resolve().parents[1] / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    p = load_params()
    assert p.train.nproc == 1 and "train.nproc" not in fingerprint("train_attention", p)
    two = p.model_copy(update={"train": p.train.model_copy(update={"nproc": 2})})
    assert fingerprint("train_attention", two)["train.nproc"] == 2
