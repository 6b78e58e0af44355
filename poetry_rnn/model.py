"""RNN autoencoders for windows of word vectors: a baseline and one with a multi-head attention decoder.

Nothing flows around the bottleneck: the decoder sees only z (B, Z), plus, when
cfg.feed_previous is set, the vector it emitted at the step before (in training, with
teacher forcing, the true vector at t-1, never at t). It never sees encoder states or the
window's length, so two inputs with the same z decode identically.
"""

from __future__ import annotations

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

    def to_dict(self) -> dict:
        return asdict(self)


def make_rnn(cfg: AutoencoderConfig, input_size: int) -> nn.RNNBase:
    """The configured recurrent cell, batch-first, orthogonal recurrent and Xavier input weights."""
    rnn = RNNS[cfg.cell](
        input_size, cfg.hidden, num_layers=cfg.layers, batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0
    )
    for name, w in rnn.named_parameters():
        if name.startswith("weight_hh"):
            nn.init.orthogonal_(w)
        elif name.startswith("weight_ih"):
            nn.init.xavier_uniform_(w)
        else:
            nn.init.zeros_(w)
    return rnn


class Encoder(nn.Module):
    """Reads a window of vectors and squeezes its last state into the bottleneck."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.rnn = make_rnn(cfg, cfg.input_dim)
        self.to_z = nn.Linear(cfg.hidden, cfg.bottleneck)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1).clamp(min=1).cpu()  # (B,)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        if isinstance(h, tuple):  # LSTM: (h, c)
            h = h[0]
        return self.to_z(h[-1])  # (B, Z) from the top layer's state at the last real token


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
        self.start = nn.Parameter(torch.zeros(cfg.input_dim))  # the "previous vector" at t = 0
        self.rnn = make_rnn(cfg, H)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(H, cfg.input_dim)

    def init_hidden(self, z: torch.Tensor):
        """(L, B, H) first state from z (a pair for LSTM)."""
        B, L, H = z.shape[0], self.cfg.layers, self.cfg.hidden
        h0 = torch.tanh(self.init_state(z)).view(B, L, H).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.cfg.cell == "lstm" else h0

    def readout(self, states: torch.Tensor, memory: torch.Tensor | None, past: torch.Tensor | None = None):
        """Decoder states (B, t, H) -> vectors (B, t, D); the attention decoder overrides it."""
        return self.out(self.drop(states)), None

    def memory(self, z: torch.Tensor) -> torch.Tensor | None:
        return None

    def forward(
        self, z: torch.Tensor, steps: int | None = None, target: torch.Tensor | None = None,
        teacher_forcing: float = 0.0, generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode `steps` positions from z; with target (B, T, D), feed the truth at t-1 with probability
        `teacher_forcing`, decided per time step. Returns vectors (B, T, D) and attention weights or None."""
        T = steps or self.cfg.window
        ctx = self.z_input(z)[:, None, :] + self.position.weight[None, :T]  # (B, T, H)
        h, memory = self.init_hidden(z), self.memory(z)
        if self.prev_input is None or (target is not None and teacher_forcing >= 1.0):
            inputs = ctx
            if self.prev_input is not None:  # full teacher forcing: one fused RNN call over the window
                prev = torch.cat([self.start.expand(z.shape[0], 1, -1), target[:, : T - 1]], 1)  # (B, T, D)
                inputs = ctx + self.prev_input(prev)
            states, _ = self.rnn(torch.tanh(inputs), h)  # (B, T, H)
            return self.readout(states, memory)
        # Free running or scheduled sampling: one step at a time, fed the previous output (or the truth).
        prev = self.start.expand(z.shape[0], -1)  # (B, D)
        states, outs, weights = [], [], []
        for t in range(T):
            s, h = self.rnn(torch.tanh(ctx[:, t : t + 1] + self.prev_input(prev)[:, None]), h)  # s: (B, 1, H)
            states.append(s)
            y, w = self.readout(s, memory, torch.cat(states, 1))  # (B, 1, D)
            outs.append(y)
            weights.append(w)
            use_truth = target is not None and torch.rand((), generator=generator).item() < teacher_forcing
            prev = target[:, t] if use_truth else y[:, 0].detach()
        w = None if weights[0] is None else self._stack_weights(weights, memory.shape[1] + T)
        return torch.cat(outs, 1), w

    @staticmethod
    def _stack_weights(weights: list[torch.Tensor], keys: int) -> torch.Tensor:
        """Per-step weights (B, heads, 1, S + t + 1) -> (B, heads, T, S + T), zero for future keys."""
        return torch.cat([nn.functional.pad(w, (0, keys - w.shape[-1])) for w in weights], 2)


class AttentionDecoder(Decoder):
    """The baseline decoder plus multi-head attention over memory slots from z and its own past states."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__(cfg)
        self.to_memory = nn.Linear(cfg.bottleneck, cfg.memory_slots * cfg.hidden)
        self.attn = nn.MultiheadAttention(cfg.hidden, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.norm = nn.LayerNorm(cfg.hidden)

    def memory(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_memory(z).view(z.shape[0], self.cfg.memory_slots, self.cfg.hidden)  # (B, S, H), from z only

    def readout(self, states: torch.Tensor, memory: torch.Tensor, past: torch.Tensor | None = None):
        """Each state attends to every memory slot and to decoder states up to its own position."""
        keys = torch.cat([memory, states if past is None else past], 1)  # (B, S + t, H)
        mask = None
        if past is None:  # all T states at once: forbid the future with a causal mask
            T, S = states.shape[1], memory.shape[1]
            mask = torch.ones(T, S + T, dtype=torch.bool, device=states.device).triu(S + 1)
        a, weights = self.attn(states, keys, keys, attn_mask=mask, average_attn_weights=False)
        return self.out(self.drop(self.norm(states + a))), weights  # (B, t, D), (B, heads, t, S + t)


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
