"""RNN autoencoders for windows of word vectors: a baseline and one with a multi-head attention decoder.

Nothing flows around the bottleneck: the decoder sees only z (B, Z). It is fed no
input tokens, no encoder states and not even the window's length, so two inputs with
the same z decode identically, and evaluation needs no teacher forcing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

RNNS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


@dataclass
class AutoencoderConfig:
    input_dim: int = 300  # word vector size
    window: int = 50  # positions the decoder emits
    cell: str = "gru"  # rnn, gru or lstm
    hidden: int = 256
    bottleneck: int = 64
    layers: int = 1
    dropout: float = 0.0
    heads: int = 0  # 0: baseline decoder; > 0: attention decoder with this many heads
    memory_slots: int = 8  # attention keys derived from z

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
    """Unrolls an RNN from z alone: z sets the first state and, with a learned position code, every input."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.init_state = nn.Linear(cfg.bottleneck, cfg.layers * cfg.hidden)
        self.z_input = nn.Linear(cfg.bottleneck, cfg.hidden)
        self.position = nn.Embedding(cfg.window, cfg.hidden)
        self.rnn = make_rnn(cfg, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, cfg.input_dim)

    def states(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder states for every position, (B, T, H); one fused RNN call."""
        B, (T, L, H) = z.shape[0], (self.cfg.window, self.cfg.layers, self.cfg.hidden)
        inputs = torch.tanh(self.z_input(z)[:, None, :] + self.position.weight[None, :T])  # (B, T, H)
        h0 = torch.tanh(self.init_state(z)).view(B, L, H).transpose(0, 1).contiguous()  # (L, B, H)
        if self.cfg.cell == "lstm":
            h0 = (h0, torch.zeros_like(h0))
        states, _ = self.rnn(inputs, h0)
        return states

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.out(self.states(z)), None  # (B, T, D), no attention


class AttentionDecoder(Decoder):
    """The baseline decoder plus multi-head attention over memory slots from z and its own past states."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__(cfg)
        self.memory = nn.Linear(cfg.bottleneck, cfg.memory_slots * cfg.hidden)
        self.attn = nn.MultiheadAttention(cfg.hidden, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.norm = nn.LayerNorm(cfg.hidden)
        S, T = cfg.memory_slots, cfg.window
        # Query t may look at every memory slot and at decoder states 0..t; True marks a forbidden key.
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)  # (T, T)
        self.register_buffer("attn_mask", torch.cat([torch.zeros(T, S, dtype=torch.bool), causal], 1), persistent=False)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.states(z)  # (B, T, H)
        B, S, H = z.shape[0], self.cfg.memory_slots, self.cfg.hidden
        memory = self.memory(z).view(B, S, H)  # (B, S, H): derived from z only
        keys = torch.cat([memory, s], 1)  # (B, S + T, H)
        a, weights = self.attn(s, keys, keys, attn_mask=self.attn_mask, average_attn_weights=False)
        h = self.norm(s + a)  # (B, T, H)
        return self.out(h), weights  # (B, T, D), (B, heads, T, S + T)


class Autoencoder(nn.Module):
    """Encoder -> bottleneck z -> decoder; the decoder is the attention one when cfg.heads > 0."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = AttentionDecoder(cfg) if cfg.heads > 0 else Decoder(cfg)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, D) vectors -> (B, Z) bottleneck."""
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        return self.encoder(x, mask)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, Z) bottleneck -> (B, window, D) reconstruction, without teacher forcing."""
        return self.decoder(z)[0]

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, mask))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
