"""RNN autoencoders for windows of word vectors: a baseline and one with a multi-head attention decoder.

Nothing flows around the bottleneck: the decoder sees only z (B, Z), plus, when
cfg.feed_previous is set, the vector it emitted at the step before (in training, with
teacher forcing, the true vector at t-1, never at t). It never sees encoder states or the
window's length, so two inputs with the same z decode identically. The attention decoder's
keys and values are memory slots computed from z, never encoder states.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

RNNS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


@dataclass
class AutoencoderConfig:
    input_dim: int = 300  # word vector size
    window: int = 50  # positions the decoder can emit
    cell: str = "gru"  # rnn, gru or lstm
    hidden: int = 256
    bottleneck: int = 64
    layers: int = 1
    dropout: float = 0.0
    heads: int = 0  # 0: baseline decoder; > 0: attention decoder with this many heads
    memory_slots: int = 8  # attention keys derived from z
    feed_previous: bool = True  # decoder input at t includes the vector for t-1
    vocab_size: int = 0  # words of the training vocabulary the model carries (its nearest-word candidates)

    def to_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def one_thread():
    """Run a block on one intra-op thread: the QR behind orthogonal_ gives other bits on other thread counts."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def make_rnn(cfg: AutoencoderConfig, input_size: int, bidirectional: bool = False) -> nn.RNNBase:
    """The configured recurrent cell, batch-first, orthogonal recurrent and Xavier input weights."""
    rnn = RNNS[cfg.cell](
        input_size, cfg.hidden, num_layers=cfg.layers, batch_first=True, bidirectional=bidirectional,
        dropout=cfg.dropout if cfg.layers > 1 else 0.0,
    )
    for name, w in rnn.named_parameters():
        if name.startswith("weight_hh"):
            with one_thread():
                nn.init.orthogonal_(w)
        elif name.startswith("weight_ih"):
            nn.init.xavier_uniform_(w)
        else:
            nn.init.zeros_(w)
    return rnn


class Encoder(nn.Module):
    """Reads a window both ways; its last states and the mean of all its states make the bottleneck."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.rnn = make_rnn(cfg, cfg.input_dim, bidirectional=True)
        # Both last states and the mean over tokens: every token has a short gradient path to z, where
        # the last state of a one-way RNN mostly remembers the end of the window.
        self.to_z = nn.Linear(4 * cfg.hidden, cfg.bottleneck)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1).clamp(min=1).cpu()  # (B,)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        states, h = self.rnn(packed)
        if isinstance(h, tuple):  # LSTM: (h, c)
            h = h[0]
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])  # (B, T, 2H)
        m = mask[..., None].to(states.dtype)  # (B, T, 1)
        mean = (states * m).sum(1) / m.sum(1).clamp(min=1)  # (B, 2H) over real tokens only
        return self.to_z(torch.cat([h[-2], h[-1], mean], 1))  # (B, Z) from the top layer's two directions


class Decoder(nn.Module):
    """Unrolls an RNN from z: z sets the first state and, with a position code, part of every input."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        H = cfg.hidden
        self.init_state = nn.Linear(cfg.bottleneck, cfg.layers * H)
        self.z_input = nn.Linear(cfg.bottleneck, H)
        self.position = nn.Embedding(cfg.window, H)
        self.prev_input = nn.Linear(cfg.input_dim, H) if cfg.feed_previous else None
        # the "previous vector" at t = 0; without feed_previous nothing reads it (DDP refuses unused parameters)
        self.start = nn.Parameter(torch.zeros(cfg.input_dim)) if cfg.feed_previous else None
        self.rnn = make_rnn(cfg, H)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(H, cfg.input_dim)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if self.start is None:  # checkpoints from before held the start vector also without feed_previous
            state_dict.pop(prefix + "start", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_hidden(self, z: torch.Tensor):
        """(L, B, H) first state from z (a pair for LSTM)."""
        B, L, H = z.shape[0], self.cfg.layers, self.cfg.hidden
        h0 = torch.tanh(self.init_state(z)).view(B, L, H).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.cfg.cell == "lstm" else h0

    def context(self, z: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What z tells each of T positions: (B, T, H), and attention weights (the attention decoder's)."""
        return self.z_input(z)[:, None, :] + self.position.weight[None, :T], None

    def forward(
        self, z: torch.Tensor, steps: int | None = None, target: torch.Tensor | None = None,
        teacher_forcing: float = 0.0, generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode `steps` positions from z; with target (B, T, D), feed the truth at t-1 with probability
        `teacher_forcing`, decided per time step. Returns vectors (B, T, D) and attention weights or None."""
        T = steps or self.cfg.window
        ctx, weights = self.context(z, T)  # (B, T, H)
        h = self.init_hidden(z)
        if self.prev_input is None or (target is not None and teacher_forcing >= 1.0):
            if self.prev_input is not None:  # full teacher forcing: one fused RNN call over the window
                prev = torch.cat([self.start.expand(z.shape[0], 1, -1), target[:, : T - 1]], 1)  # (B, T, D)
                ctx = ctx + self.prev_input(prev)
            states, _ = self.rnn(torch.tanh(ctx), h)  # (B, T, H)
            return self.out(self.drop(states)), weights
        # Free running or scheduled sampling: one step at a time, fed the previous output (or the truth).
        prev = self.start.expand(z.shape[0], -1)  # (B, D)
        outs = []
        for t in range(T):
            s, h = self.rnn(torch.tanh(ctx[:, t : t + 1] + self.prev_input(prev)[:, None]), h)  # s: (B, 1, H)
            outs.append(self.out(self.drop(s)))  # (B, 1, D)
            use_truth = target is not None and torch.rand((), generator=generator).item() < teacher_forcing
            prev = target[:, t] if use_truth else outs[-1][:, 0].detach()
        return torch.cat(outs, 1), weights


class AttentionDecoder(Decoder):
    """The baseline decoder whose every input also attends, with multi-head attention, over memory slots from z."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__(cfg)
        # z -> S slots; each position's code queries them, so each step reads its own mix of z.
        self.to_memory = nn.Linear(cfg.bottleneck, cfg.memory_slots * cfg.hidden)
        self.attn = nn.MultiheadAttention(cfg.hidden, cfg.heads, dropout=cfg.dropout, batch_first=True)

    def context(self, z: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Baseline context plus attention of position queries over the slots: (B, T, H), (B, heads, T, S)."""
        ctx, _ = super().context(z, T)
        memory = self.to_memory(z).view(z.shape[0], self.cfg.memory_slots, self.cfg.hidden)  # (B, S, H), from z only
        queries = self.position.weight[None, :T].expand(z.shape[0], -1, -1)  # (B, T, H)
        read, weights = self.attn(queries, memory, memory, average_attn_weights=False)  # (B, T, H)
        return ctx + read, weights


class Autoencoder(nn.Module):
    """Encoder -> bottleneck z -> decoder; the decoder is the attention one when cfg.heads > 0."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = AttentionDecoder(cfg) if cfg.heads > 0 else Decoder(cfg)
        # The mean training vector. Word vectors share a large common direction (the mean alone scores
        # ~0.65 cosine): encoder and decoder work on centred vectors, where the words differ, and the
        # decoder only has to learn the departure from the mean.
        self.register_buffer("offset", torch.zeros(cfg.input_dim))
        # GloVe rows of the training vocabulary, commonest first: the words a reconstruction is read back as
        # (words.Candidates), carried so that a registered model needs no other file to say which.
        self.register_buffer("vocab", torch.zeros(cfg.vocab_size, dtype=torch.long))

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, D) vectors -> (B, Z) bottleneck."""
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        return self.encoder(x - self.offset, mask)

    def decode(self, z: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """(B, Z) bottleneck -> (B, steps, D) reconstruction, free running (no teacher forcing)."""
        return self.decoder(z, steps)[0] + self.offset

    def teacher_forced(self, x: torch.Tensor, mask: torch.Tensor, teacher_forcing: float,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """Training pass: reconstruction (B, T, D) of x, the decoder fed the truth at t-1 with probability
        `teacher_forcing`, decided per time step."""
        centred = x - self.offset
        y, _ = self.decoder(self.encoder(centred, mask), x.shape[1], target=centred,
                            teacher_forcing=teacher_forcing, generator=generator)
        return y + self.offset

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruct a window as at test time: encode, then decode from z alone."""
        return self.decode(self.encode(x, mask), x.shape[1])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
