import pytest
import torch

from poetry_rnn.model import Autoencoder, AutoencoderConfig


def make(cell="gru", heads=0, **kw) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(AutoencoderConfig(input_dim=12, window=10, cell=cell, hidden=16, bottleneck=4, heads=heads, **kw))


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
    cfg = AutoencoderConfig(input_dim=8, window=6, hidden=8, bottleneck=4, feed_previous=False)
    model = Autoencoder(cfg)
    state = {**model.state_dict(), "decoder.start": torch.zeros(8)}  # what earlier versions saved
    model.load_state_dict(state)  # strict: any other unexpected key still fails
    with pytest.raises(RuntimeError, match="decoder.other"):
        model.load_state_dict({**state, "decoder.other": torch.zeros(1)})
    assert "decoder.start" in Autoencoder(AutoencoderConfig(input_dim=8, window=6, hidden=8, bottleneck=4,
                                                            feed_previous=True)).state_dict()
