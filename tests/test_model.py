import pytest
import torch

from poetry_rnn.training.model import Autoencoder
from tiny import config as tiny_config


def make(cell="gru", heads=0, **kw) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(tiny_config(input_dim=12, window=10, cell=cell, hidden=16, bottleneck=4, heads=heads, **kw))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("heads", [0, 4])
def test_every_cell_and_decoder_reconstructs_the_window_shape(cell, heads):
    m = make(cell, heads, layers=2)
    x, mask = torch.randn(3, 10, 12), torch.ones(3, 10, dtype=torch.bool)
    assert m(x, mask).shape == (3, 10, 12)
    assert m.encode(x, mask).shape == (3, 4)


@pytest.mark.parametrize("heads", [0, 2])
def test_same_bottleneck_vector_decodes_identically_whatever_the_input(heads):
    """No-bypass: fix z with a hook on the bottleneck layer; different inputs must then decode the same."""
    m = make("gru", heads).eval()
    z = torch.randn(2, 4)
    m.encoder.to_z.register_forward_hook(lambda mod, inp, out: z)
    x1, x2 = torch.randn(2, 10, 12), torch.randn(2, 10, 12) * 5
    mask1, mask2 = torch.ones(2, 10, dtype=torch.bool), torch.zeros(2, 10, dtype=torch.bool)
    mask2[:, :3] = True  # a different length too: the decoder must not see it
    assert torch.equal(m(x1, mask1), m(x2, mask2))
    assert torch.equal(m(x1, mask1), m.decode(z))


@pytest.mark.parametrize("heads", [0, 2])
def test_output_depends_on_the_input_only_through_z(heads):
    """Gradients: through the full forward pass, the input gets a gradient; with z cut from the graph (a hook
    that detaches the bottleneck), no path from input to output is left."""
    m = make("lstm", heads)
    x = torch.randn(2, 10, 12, requires_grad=True)
    m(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # the path through z exists

    x.grad = None
    m.encoder.to_z.register_forward_hook(lambda mod, inp, out: out.detach())
    y = m(x)
    assert not y.requires_grad or torch.autograd.grad(y.sum(), x, allow_unused=True)[0] is None


def test_attention_weights_are_over_memory_slots_made_from_z():
    m = make("gru", 2).eval()
    _, w = m.decoder(torch.randn(1, 4))  # (B, heads, T, S)
    assert w.shape == (1, 2, 10, m.cfg.memory_slots)
    assert torch.allclose(w.sum(-1), torch.ones(1, 2, 10))


def test_padding_does_not_change_the_encoding():
    m = make("gru").eval()
    x, mask = torch.randn(1, 10, 12), torch.zeros(1, 10, dtype=torch.bool)
    mask[:, :6] = True
    y = x.clone()
    y[:, 6:] = 100.0  # garbage in the padded tail
    assert torch.allclose(m.encode(x, mask), m.encode(y, mask))


def test_a_checkpoint_with_the_unused_start_vector_of_earlier_versions_loads():
    cfg = tiny_config(input_dim=8, window=6, hidden=8, bottleneck=4, feed_previous=False)
    model = Autoencoder(cfg)
    state = {**model.state_dict(), "decoder.start": torch.zeros(8)}  # what earlier versions saved
    model.load_state_dict(state)  # strict: any other unexpected key still fails
    with pytest.raises(RuntimeError, match="decoder.other"):
        model.load_state_dict({**state, "decoder.other": torch.zeros(1)})
    assert "decoder.start" in Autoencoder(tiny_config(input_dim=8, window=6, hidden=8, bottleneck=4,
                                                            feed_previous=True)).state_dict()


def lined(heads=0, window=25, line=10, bottleneck=6, context=False, **code) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(tiny_config(input_dim=12, window=window, hidden=16, bottleneck=bottleneck, heads=heads,
                                   line=line, context=context, **code))


def trained_context(heads=0) -> Autoencoder:
    """A context model as training leaves it: its zero-initialised readings across the lines no longer zero."""
    m = lined(heads, context=True).eval()
    g = torch.Generator().manual_seed(1)
    for name, p in m.named_parameters():
        if ".out." in f".{name}" and ("context" in name or "lines_attention" in name):
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return m


def moved_positions(m: Autoencoder, line: int) -> list[bool]:
    """The positions (of 25) whose output moves when only line `line`'s share of z (2 of 6 numbers) moves."""
    z = torch.randn(2, 6, generator=torch.Generator().manual_seed(2))
    moved = z.clone()
    moved[:, 2 * line : 2 * line + 2] += 1.0
    return ((m.decode(moved) - m.decode(z)).abs().amax(-1).amax(0) > 1e-6).tolist()


@pytest.mark.parametrize("heads", [0, 2])
def test_a_window_of_several_lines_decodes_every_position_from_one_z(heads):
    m = lined(heads).eval()  # 25 tokens: lines of 10, 10 and 5 (padded)
    assert (m.cfg.lines, m.cfg.line_length) == (3, 10)
    x, mask = torch.randn(2, 25, 12), torch.ones(2, 25, dtype=torch.bool)
    assert m.encode(x, mask).shape == (2, 6)
    assert m(x, mask).shape == (2, 25, 12) and m(x[:, :17], mask[:, :17]).shape == (2, 17, 12)
    if heads:
        _, w = m.decoder(torch.randn(1, 6))
        assert w.shape == (1, 2, 25, m.cfg.memory_slots) and torch.allclose(w.sum(-1), torch.ones(1, 2, 25))


@pytest.mark.parametrize("heads", [0, 2])
def test_lines_share_nothing_but_z(heads):
    """No-bypass with lines: fix z and every input decodes the same; each line is decoded from its own share of z
    (6 numbers over 3 lines: 2 each), and from nothing else."""
    m = lined(heads).eval()
    z = torch.randn(2, 6)
    hook = m.encoder.register_forward_hook(lambda mod, inp, out: z)
    x1, x2 = torch.randn(2, 25, 12), torch.randn(2, 25, 12) * 5
    mask2 = torch.zeros(2, 25, dtype=torch.bool)
    mask2[:, :13] = True
    assert torch.equal(m(x1, torch.ones(2, 25, dtype=torch.bool)), m(x2, mask2))
    hook.remove()
    y = m.decode(z)
    for line in range(3):
        moved = z.clone()
        moved[:, 2 * line : 2 * line + 2] += 1.0
        changed = (m.decode(moved) - y).abs().amax(-1).amax(0) > 1e-6  # (25,) positions whose output moved
        assert changed.tolist() == [line * 10 <= t < line * 10 + 10 for t in range(25)]


@pytest.mark.parametrize("heads", [0, 2])
def test_with_context_one_lines_share_of_z_is_read_by_every_line(heads):
    """The shared code: moving one line's numbers changes the other lines' outputs too (without context it cannot,
    test_lines_share_nothing_but_z); a fresh context model starts as lines read alone (zero-initialised readings)."""
    assert moved_positions(lined(heads, context=True).eval(), 1) == [10 <= t < 20 for t in range(25)]
    m = trained_context(heads)
    for line in range(3):
        assert all(moved_positions(m, line)), line


@pytest.mark.parametrize("heads", [0, 2])
def test_with_context_nothing_but_z_still_reaches_the_decoder(heads):
    m = trained_context(heads)
    z = torch.randn(2, 6)
    hook = m.encoder.register_forward_hook(lambda mod, inp, out: z)
    mask2 = torch.zeros(2, 25, dtype=torch.bool)
    mask2[:, :13] = True
    assert torch.equal(m(torch.randn(2, 25, 12), torch.ones(2, 25, dtype=torch.bool)), m(torch.randn(2, 25, 12), mask2))
    hook.remove()


def test_with_context_each_lines_share_of_z_is_written_from_every_line():
    """The encoder's side: a line's share of z has a gradient path to the other lines' tokens (none without)."""
    for m, reaches in ((trained_context(), True), (lined(context=True), False)):
        x = torch.randn(1, 25, 12, requires_grad=True)
        (grad,) = torch.autograd.grad(m.encode(x)[0, 2:4].sum(), x)  # the second line's share
        assert ((grad.abs().sum(-1) > 0)[0]).tolist() == [reaches or 10 <= t < 20 for t in range(25)]


def test_every_line_reaches_its_own_share_of_z():
    """Each token has a gradient path to its line's share of z, and to no other line's share."""
    m = lined()
    x = torch.randn(1, 25, 12, requires_grad=True)
    z = m.encode(x)  # (1, 6)
    for line in range(3):
        (grad,) = torch.autograd.grad(z[0, 2 * line : 2 * line + 2].sum(), x, retain_graph=True)
        assert ((grad.abs().sum(-1) > 0)[0]).tolist() == [line * 10 <= t < line * 10 + 10 for t in range(25)]


def test_a_bottleneck_that_does_not_split_evenly_gives_the_first_lines_one_more():
    cfg = tiny_config(input_dim=300, window=50, hidden=128, line=5, bottleneck=256)
    assert (cfg.lines, cfg.code) == (10, 26) and cfg.shares().sum(1).tolist() == [26] * 6 + [25] * 4
    m = lined(window=25, line=10, bottleneck=7)
    assert m.encode(torch.randn(2, 25, 12)).shape == (2, 7) and m.decode(torch.randn(2, 7)).shape == (2, 25, 12)


def test_padding_and_empty_lines_do_not_change_the_encoding_with_lines():
    m = lined().eval()
    x, mask = torch.randn(1, 25, 12), torch.zeros(1, 25, dtype=torch.bool)
    mask[:, :7] = True  # the second and third lines are empty
    y = x.clone()
    y[:, 7:] = 100.0
    assert torch.allclose(m.encode(x, mask), m.encode(y, mask))


def test_a_window_within_one_line_is_the_model_from_before():
    """window <= line: the same parameters, drawn in the same order, and the same outputs as the one-line model."""
    torch.manual_seed(0)
    before = Autoencoder(tiny_config(input_dim=12, window=10, hidden=16, bottleneck=4, heads=2))
    after = lined(heads=2, window=10, line=10, bottleneck=4)
    assert before.state_dict().keys() == after.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(before.state_dict().values(), after.state_dict().values()))
    x = torch.randn(3, 10, 12)
    assert torch.equal(before.eval()(x), after.eval()(x))


@pytest.mark.parametrize("heads", [0, 2])
def test_with_a_code_limit_z_stays_inside_it_and_training_blurs_it_by_half_a_step_at_most(heads):
    """model.code_limit and code_bits: whatever the input, z lies in (-limit, limit); the training pass decodes z plus
    its noise (up to half of one of the 2^bits levels over that range), the test-time pass z itself."""
    m = lined(heads, context=True, code_limit=0.5, code_bits=4)
    x = 100 * torch.randn(3, 25, 12)
    z = m.encode(x)
    assert z.abs().max() < 0.5
    seen = []
    hook = m.decoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    m.teacher_forced(x, torch.ones(3, 25, dtype=torch.bool), 1.0)
    noise = torch.rand(z.shape) - 0.5
    m.teacher_forced(x, torch.ones(3, 25, dtype=torch.bool), 1.0, noise=noise)
    m(x)
    hook.remove()
    step = 1 / 15
    assert torch.equal(seen[0], z) and torch.equal(seen[2], z)
    assert torch.allclose(seen[1] - z, noise * step) and (seen[1] - z).abs().max() <= step / 2
    assert torch.allclose(z, 0.5 * torch.tanh(lined(heads, context=True).encode(x) / 0.5))  # the same weights, squashed
