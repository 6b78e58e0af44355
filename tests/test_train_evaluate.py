import numpy as np
import pytest
import torch

from poetry_rnn.inputs.chunking import Chunks
from poetry_rnn.training.dataset import Vocab, Windows
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.scoring.scores import (
    Tokens, mean_vector_reconstructor, model_reconstructor, pca_reconstructor, score_tokens, summarize,
)
from poetry_rnn.training.model import Autoencoder
from tiny import config as tiny_config, train_params, untimed
from poetry_rnn.training.engine import load_model, train
from poetry_rnn.scoring.words import Candidates

T, D, V = 8, 12, 40


def synthetic(n: int, seed: int) -> Chunks:
    """Windows built from 4 repeating patterns of GloVe rows 100..139: learnable through a small bottleneck."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(99).integers(100, 100 + V, size=(4, T))
    ids = patterns[rng.integers(0, 4, size=n)].astype(np.int32)
    mask = np.ones((n, T), bool)
    mask[::3, 6:] = False  # some padded tails
    ids[~mask] = 0
    return Chunks(ids, mask, np.arange(n, dtype=np.int32), mask.copy())  # one window per "poem": all scored


VECTORS = np.random.default_rng(1).normal(size=(200, D)).astype(np.float32)  # a fake GloVe matrix


def score(reconstruct, windows: Windows, vocab: Vocab) -> dict:
    """Summary scores of a reconstructor, candidates: every word of the windows, each token its own band."""
    candidates = Candidates.from_rows(vocab.rows, VECTORS)
    n = int(windows.score.sum())
    tokens = Tokens(np.zeros(n, np.int64), np.ones(n, bool), np.zeros(n, np.int64))
    return summarize(score_tokens(reconstruct, windows, vocab, candidates), tokens)


@pytest.fixture
def data():
    tr, va = synthetic(96, 0), synthetic(32, 1)
    vocab = Vocab.from_chunks(VECTORS, tr, va)
    return Windows.from_chunks(tr, vocab), Windows.from_chunks(va, vocab), vocab


def fit(data, tmp_path, heads=0, epochs=12, seed=0):
    tr, va, vocab = data
    torch.manual_seed(seed)
    model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=32, bottleneck=4, heads=heads))
    cfg = train_params(epochs=epochs, batch_size=16, lr=1e-2, seed=seed, teacher_forcing={"end": 0.5})
    return model, train(model, tr, va, vocab, cfg, tmp_path, torch.device("cpu"))


def test_vocab_gathers_only_used_rows_and_maps_ids(data):
    tr, _, vocab = data
    assert vocab.table.shape[1] == D and len(vocab.rows) <= V
    assert (vocab.rows >= 100).all()  # padding id 0 is not a word


def test_training_learns_beyond_the_mean_vector(data, tmp_path):
    model, result = fit(data, tmp_path)
    tr, va, vocab = data
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    learned = score(model_reconstructor(model), va, vocab)
    mean = score(mean_vector_reconstructor(tr, vocab), va, vocab)
    assert learned["test_cosine"] > mean["test_cosine"] + 0.2
    assert learned["nearest_word_accuracy"] > 0.8 > mean["nearest_word_accuracy"]


def test_same_seed_gives_identical_metrics(data, tmp_path):
    _, a = fit(data, tmp_path / "a", heads=2, epochs=3)
    _, b = fit(data, tmp_path / "b", heads=2, epochs=3)
    assert untimed(a.history) == untimed(b.history)


def test_best_and_last_checkpoints_load_back_with_weights_only(data, tmp_path):
    model, result = fit(data, tmp_path, heads=2, epochs=3)
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["epoch"] == 3 and {"model", "optimizer", "scheduler", "config", "history"} <= set(state)
    best = load_model(tmp_path / "best.pt")
    assert best.cfg.heads == 2
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == result.best_epoch


def test_non_finite_loss_stops_with_epoch_and_batch(data, tmp_path):
    tr, va, vocab = data
    vocab.table[0, 0] = float("nan")
    with pytest.raises(PoetryRnnError, match=r"loss is nan at epoch 1, batch \d+"):
        fit((tr, va, vocab), tmp_path, epochs=1)
    assert not (tmp_path / "last.pt").exists()


def test_perfect_reconstruction_scores_one(data):
    _, va, vocab = data
    s = score(lambda x, mask: x * 3.0, va, vocab)  # cosine ignores scale
    assert s["test_cosine"] == pytest.approx(1.0) and s["nearest_word_accuracy"] == 1.0
    assert s["tokens"] == int(va.mask.sum()) and len(s["cosine_by_position"]) == T


def test_pca_with_enough_components_reconstructs_low_rank_windows(data):
    tr, va, vocab = data
    pca, k = pca_reconstructor(tr, vocab, components=8, seed=0)  # 4 patterns x padding: rank <= 8
    assert k == 8
    assert score(pca, va, vocab)["nearest_word_accuracy"] == 1.0


def test_mean_vector_reference_predicts_the_same_vector_everywhere(data):
    tr, va, vocab = data
    rec = mean_vector_reconstructor(tr, vocab)
    y = rec(vocab.table[va.ids[:2]], va.mask[:2])
    assert torch.allclose(y[0, 0], y[1, -1])


def test_checkpoint_trained_with_other_params_is_refused_listing_the_keys(data, tmp_path):
    tr, va, vocab = data
    torch.manual_seed(0)
    model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=8, bottleneck=2))
    train(model, tr, va, vocab, train_params(), tmp_path, torch.device("cpu"),
          fingerprint={"model.heads": 4, "seed": 1})
    before = (tmp_path / "best.pt").read_bytes()
    with pytest.raises(PoetryRnnError, match=r"trained with other params or data \(model.heads: 4 in the checkpoint, 8 now\)"):
        load_model(tmp_path / "best.pt", expected={"model.heads": 8, "seed": 1})
    assert (tmp_path / "best.pt").read_bytes() == before  # refused, not touched
    assert load_model(tmp_path / "best.pt", expected={"model.heads": 4, "seed": 1}).cfg.hidden == 8


def test_bottleneck_stats_count_the_dimensions_in_use():
    from poetry_rnn.scoring.scores import bottleneck_stats

    z = torch.randn(2000, 8, generator=torch.Generator().manual_seed(0))
    z[:, 4:] *= 0.01  # four dimensions barely used
    stats = bottleneck_stats(z)
    assert stats["active_dims"] == 4 and 3.5 < stats["effective_dims"] < 4.5


def test_sample_reconstructions_show_original_and_nearest_words(data):
    from poetry_rnn.scoring.scores import sample_reconstructions

    _, va, vocab = data
    words = [f"w{i}" for i in range(200)]
    candidates = Candidates.from_rows(vocab.rows, VECTORS)
    shifted = lambda x, mask: x.roll(1, dims=1)  # noqa: E731  each position rebuilt as its left neighbour
    samples = sample_reconstructions({"perfect": lambda x, mask: x, "shifted": shifted}, va, vocab, candidates, words, n=2)
    assert len(samples) == 2 and list(samples[0]["columns"]) == ["original", "perfect", "shifted"]
    for sample in samples:
        original = sample["columns"]["original"]
        i = sample["window"]
        assert original == [words[int(vocab.rows[j])] for j in va.ids[i][va.mask[i]]]
        assert sample["columns"]["perfect"] == original
        assert sample["columns"]["shifted"][1:] == original[:-1]


@pytest.mark.parametrize("heads", [0, 2])
def test_a_window_of_lines_learns_through_its_one_code(data, tmp_path, heads):
    """Lines of 3 tokens (8-token windows: 3 lines) trained through one 6-number z: the words come back, and the
    same decoder fed one fixed code (the mean z: reading nothing of the window) falls to the reference's level."""
    tr, va, vocab = data
    torch.manual_seed(0)
    model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=32, bottleneck=6, heads=heads, line=3))
    assert model.cfg.lines == 3
    cfg = train_params(epochs=12, batch_size=48, lr=1e-2, seed=0)  # 48 lines: 16 windows a step
    train(model, tr, va, vocab, cfg, tmp_path, torch.device("cpu"))
    learned = score(model_reconstructor(model), va, vocab)
    with torch.no_grad():
        mean_z = model.encode(vocab.table[tr.ids], tr.mask).mean(0)
    blind = score(lambda x, mask: model.decode(mean_z.expand(len(x), -1), x.shape[1]), va, vocab)
    assert learned["nearest_word_accuracy"] > 0.8
    assert blind["nearest_word_accuracy"] < 0.6 < learned["nearest_word_accuracy"] - 0.2


def test_per_epoch_content_word_accuracy_is_the_evaluations_on_a_fixed_sample_and_changes_no_training(
        data, tmp_path, monkeypatch):
    """Each epoch's row gets the validation content-word accuracy that the evaluation's functions give the model of
    that epoch (free running, the one nearest-word search) on a fixed sample of windows; the weights and every other
    figure of the run are those of a run without it."""
    from poetry_rnn.scoring.scores import sample_windows, scored_tokens
    from poetry_rnn.inputs.glove import Glove
    from poetry_rnn.stages import training

    tr, va, vocab = data
    rows = np.concatenate([np.arange(100), vocab.rows])  # 100 commoner types first: the windows' words are content
    glove = Glove([f"w{i}" for i in range(200)], VECTORS, {})
    monkeypatch.setattr(training, "VAL_SAMPLE", 20)
    validate, sample = training.content_word_validation(synthetic(32, 1), vocab, rows, glove, 0, torch.device("cpu"))
    picked = sample_windows(synthetic(32, 1), 20, 0)
    assert sample == {"val_sample_windows": 20, "val_sample_content_words": int(picked.score.sum())}
    candidates = Candidates.from_rows(rows, VECTORS)
    windows, tokens = Windows.from_chunks(picked, vocab), scored_tokens(picked, candidates, glove.words)

    def evaluated(model) -> float:
        """The evaluate stage's content-word accuracy of the model on the sample."""
        return summarize(score_tokens(model_reconstructor(model), windows, vocab, candidates), tokens)["content_word_accuracy"]

    cfg = train_params(epochs=3, batch_size=16, lr=1e-2, seed=0)
    runs, seen = {}, []
    for name, extra in (("with", validate), ("without", None)):
        torch.manual_seed(0)
        model = Autoencoder(tiny_config(input_dim=D, window=T, hidden=32, bottleneck=4))
        on_epoch = (lambda epoch, row, m=model: seen.append(evaluated(m))) if extra else None
        runs[name] = model, train(model, tr, va, vocab, cfg, tmp_path / name, torch.device("cpu"), validate=extra,
                                  on_epoch=on_epoch)
    (a, with_), (b, without) = runs["with"], runs["without"]
    assert [{k: v for k, v in r.items() if k != training.CONTENT} for r in untimed(with_.history)] == untimed(without.history)
    for key, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[key]), key
    logged = [r[training.CONTENT] for r in with_.history]
    assert logged == pytest.approx([100 * s for s in seen])  # each epoch's model, in percent
    assert len(set(logged)) > 1  # it moves


def test_the_rounded_code_takes_one_of_2_to_the_bits_levels_per_number_over_the_training_range(data, tmp_path):
    """z rounded to b bits: each number one of 2^b evenly spaced levels between its smallest and largest training
    value; at 16 bits the model's own reconstruction within rounding, at 1 bit another one. Decoding codes encoded
    once scores as encoding each batch again."""
    from poetry_rnn.scoring.scores import code_decoder, code_range, encode_all, rounded

    model, _ = fit(data, tmp_path)
    tr, va, vocab = data
    span = code_range(model, tr, vocab, seed=0)
    z = encode_all(model, tr, vocab)
    assert torch.equal(span, torch.stack([z.amin(0), z.amax(0)]))  # fewer windows than the sample: all of them
    z = encode_all(model, va, vocab)
    levels = (rounded(z, span, bits=2) - span[0]) / ((span[1] - span[0]) / 3)
    assert torch.allclose(levels, levels.round(), atol=1e-4) and levels.min() >= 0 and levels.max() <= 3 + 1e-4
    x, mask = vocab.table[va.ids], va.mask
    exact = model_reconstructor(model)(x, mask)
    assert torch.equal(code_decoder(model, z, batch_size=len(z))(x, mask), exact)  # its own codes: the same floats
    assert torch.allclose(code_decoder(model, rounded(z, span, 16), batch_size=len(z))(x, mask), exact, atol=1e-3)
    assert not torch.allclose(code_decoder(model, rounded(z, span, 1), batch_size=len(z))(x, mask), exact, atol=1e-3)

    # evaluate decodes the codes it encoded once: the scores of encoding every batch again, to the last digit; other
    # windows than its codes' (a second walk, another split) are refused
    candidates = Candidates.from_rows(vocab.rows, VECTORS)
    z = encode_all(model, va, vocab, batch_size=4)
    decoder = code_decoder(model, z, batch_size=4)
    coded, direct = (score_tokens(r, va, vocab, candidates, batch_size=4)
                     for r in (decoder, model_reconstructor(model)))
    assert np.array_equal(coded.hit, direct.hit) and np.array_equal(coded.cosine, direct.cosine)
    assert coded.cosine_by_position == direct.cosine_by_position
    with pytest.raises(ValueError, match="not the windows of its codes"):
        score_tokens(decoder, va, vocab, candidates, batch_size=4)  # walked once already
    with pytest.raises(ValueError, match="not the windows of its codes"):
        score_tokens(code_decoder(model, z, batch_size=4), tr, vocab, candidates, batch_size=4)
