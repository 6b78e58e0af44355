"""RNN autoencoders for windows of word vectors: a baseline and one with a multi-head attention decoder.

A window longer than cfg.line tokens is read as lines of cfg.line tokens: z, the window's one bottleneck, is the
lines' codes side by side, each line's share of z's numbers (as even as they split), and the same encoder and
decoder read and write every line. The RNNs then carry a few tokens, never a whole stanza, through their state:
at 50 tokens one RNN state brought back 0.08% of content words, and a learned mixing of the lines' codes learned
slower than lines that keep their own numbers (docs/results.md: "Whole stanzas").

With cfg.context, a line is coded and read back in the light of the window's other lines: on each side a
bidirectional GRU runs across the lines (the encoder's over the lines' features, the decoder's over their codes)
and its reading is added through a zero-initialised projection, so training starts from lines coded alone and
the sharing grows; the attention decoder's lines also attend over every line's code. With lines of one token
this is a code per token that its neighbours help write and read (docs/results.md: "Poems, not words").

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
    # No defaults for what params.yaml sets (architectures.model_config maps params to these fields).
    input_dim: int  # word vector size
    window: int  # positions the decoder can emit
    cell: str  # rnn, gru or lstm
    hidden: int
    bottleneck: int
    layers: int
    dropout: float
    heads: int  # 0: baseline decoder; > 0: attention decoder with this many heads
    feed_previous: bool  # decoder input at t includes the vector for t-1
    line: int  # tokens per line the RNNs read and write; 0, or not below window: the whole window is one line
    context: bool  # each line's code written and read with the window's other lines (several lines only)
    # > 0: each number of z squashed into (-code_limit, code_limit) (code_limit * tanh(u / code_limit)), so that its
    # range, and the step of a quantizer over it, cannot grow with a few wide values; 0: z unbounded (as before)
    code_limit: float = 0.0
    # > 0 (with code_limit): in training z is blurred by up to half a step of a quantizer of this many bits over
    # (-code_limit, code_limit), so that no code says more than that precision carries; 0: no noise
    code_bits: int = 0
    memory_slots: int = 8  # attention keys derived from z
    vocab_size: int = 0  # words of the training vocabulary the model carries (its nearest-word candidates)

    @property
    def lines(self) -> int:
        """Lines per window: ceil(window / line), 1 when the window is one line."""
        return -(-self.window // self.line) if 0 < self.line < self.window else 1

    @property
    def line_length(self) -> int:
        """Positions per line."""
        return self.line if self.lines > 1 else self.window

    @property
    def code(self) -> int:
        """Numbers of the largest line's share of z: z itself for one line."""
        return -(-self.bottleneck // self.lines)

    @property
    def code_step(self) -> float:
        """The width of one level of a code_bits-bit quantizer over (-code_limit, code_limit): training's noise
        spans one."""
        return 2.0 * self.code_limit / (2**self.code_bits - 1)

    def shares(self) -> torch.Tensor:
        """(lines, code) bool: which numbers of each line's code are z's; the first lines take one more when the
        bottleneck does not split evenly."""
        sizes = torch.tensor([len(part) for part in torch.arange(self.bottleneck).tensor_split(self.lines)])
        return torch.arange(self.code)[None, :] < sizes[:, None]

    def to_dict(self) -> dict:
        return asdict(self)


def to_lines(x: torch.Tensor, lines: int, length: int) -> torch.Tensor:
    """(B, T, ...) -> (B * lines, length, ...): the window cut into lines, the tail padded with zeros."""
    pad = lines * length - x.shape[1]
    if pad:
        x = torch.cat([x, x.new_zeros((x.shape[0], pad, *x.shape[2:]))], 1)
    return x.reshape(x.shape[0] * lines, length, *x.shape[2:])


def from_lines(y: torch.Tensor, lines: int, steps: int) -> torch.Tensor:
    """(B * lines, length, ...) -> (B, steps, ...): the lines put back in order, cut to `steps` positions."""
    return y.reshape(y.shape[0] // lines, lines * y.shape[1], *y.shape[2:])[:, :steps]


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


class LineContext(nn.Module):
    """What the window's other lines tell each line: a bidirectional GRU across the lines, read out through a
    zero-initialised projection, so that a model starts as one whose lines read only their own share."""

    def __init__(self, inputs: int, hidden: int, outputs: int, project: int = 0):
        super().__init__()
        self.project = nn.Linear(inputs, project) if project else nn.Identity()
        self.rnn = nn.GRU(project or inputs, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, outputs)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, inputs) line after line -> (B, S, outputs)."""
        return self.out(self.rnn(self.project(x))[0])


class LineAttention(nn.Module):
    """Each line attends, with multi-head attention, over every line's code and place in the window, read out
    through a zero-initialised projection."""

    def __init__(self, inputs: int, hidden: int, heads: int, outputs: int, lines: int):
        super().__init__()
        self.inp = nn.Linear(inputs, hidden)
        self.where = nn.Embedding(lines, hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.out = nn.Linear(hidden, outputs)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, S, inputs) -> (B, S, outputs), and the weights (B, heads, S, S)."""
        h = self.inp(x) + self.where.weight[None, : x.shape[1]]  # (B, S, H)
        read, weights = self.attn(h, h, h, average_attn_weights=False)
        return self.out(read), weights


class Encoder(nn.Module):
    """Reads each line both ways; its last states and the mean of all its states make the line's share of z."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.rnn = make_rnn(cfg, cfg.input_dim, bidirectional=True)
        # Both last states and the mean over tokens: every token has a short gradient path to z, where
        # the last state of a one-way RNN mostly remembers the end of the window.
        self.to_z = nn.Linear(4 * cfg.hidden, cfg.code)
        self.register_buffer("shares", cfg.shares(), persistent=False)
        # the other lines' features, on a projection of H numbers (the GRU across the lines is the costly part)
        self.context = (LineContext(4 * cfg.hidden, cfg.hidden // 2, 4 * cfg.hidden, project=cfg.hidden)
                        if cfg.context and cfg.lines > 1 else None)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) centred vectors, (B, T) mask -> (B, Z)."""
        z, limit = self.code(x, mask), self.cfg.code_limit
        return limit * torch.tanh(z / limit) if limit else z

    def code(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D), (B, T) -> (B, Z) before any squashing."""
        if self.cfg.lines == 1:
            return self.to_z(self.read(x, mask))
        S, L = self.cfg.lines, self.cfg.line_length
        x = x * mask[..., None].to(x.dtype)  # an empty line reads zeros, not the padding's vectors
        feats = self.read(to_lines(x, S, L), to_lines(mask, S, L)).view(x.shape[0], S, -1)  # (B, S, 4H)
        if self.context is not None:
            feats = feats + self.context(feats)
        return self.to_z(feats)[:, self.shares]  # (B, Z): each line's share, line after line

    def read(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(N, T, D) sequences -> (N, 4H): both last states of the top layer and the mean of its states."""
        lengths = mask.sum(1).clamp(min=1).cpu()  # (B,)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        states, h = self.rnn(packed)
        if isinstance(h, tuple):  # LSTM: (h, c)
            h = h[0]
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])  # (B, T, 2H)
        m = mask[..., None].to(states.dtype)  # (B, T, 1)
        mean = (states * m).sum(1) / m.sum(1).clamp(min=1)  # (B, 2H) over real tokens only
        return torch.cat([h[-2], h[-1], mean], 1)  # (N, 4H) from the top layer's two directions


class Decoder(nn.Module):
    """Unrolls an RNN from each line's code (z itself for one line): the code sets the first state and, with a
    position code, part of every input."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        H = cfg.hidden
        self.register_buffer("shares", cfg.shares(), persistent=False)  # each line's code: its share of z
        self.init_state = nn.Linear(cfg.code, cfg.layers * H)
        self.z_input = nn.Linear(cfg.code, H)
        self.position = nn.Embedding(cfg.line_length, H)
        self.prev_input = nn.Linear(cfg.input_dim, H) if cfg.feed_previous else None
        # the "previous vector" at t = 0; without feed_previous nothing reads it (DDP refuses unused parameters)
        self.start = nn.Parameter(torch.zeros(cfg.input_dim)) if cfg.feed_previous else None
        self.rnn = make_rnn(cfg, H)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(H, cfg.input_dim)
        # the other lines' codes, read across the window: added to each line's first state and to its inputs
        self.lines_context = (LineContext(cfg.code, H // 2, (cfg.layers + 1) * H)
                              if cfg.context and cfg.lines > 1 else None)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if self.start is None:  # checkpoints from before held the start vector also without feed_previous
            state_dict.pop(prefix + "start", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_hidden(self, z: torch.Tensor, lift: torch.Tensor | None = None):
        """(L, B, H) first state from z (a pair for LSTM), plus what the other lines tell it, (B, L * H)."""
        B, L, H = z.shape[0], self.cfg.layers, self.cfg.hidden
        pre = self.init_state(z) if lift is None else self.init_state(z) + lift
        h0 = torch.tanh(pre).view(B, L, H).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.cfg.cell == "lstm" else h0

    def context(self, z: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What z tells each of T positions: (B, T, H), and attention weights (the attention decoder's)."""
        return self.z_input(z)[:, None, :] + self.position.weight[None, :T], None

    def forward(
        self, z: torch.Tensor, steps: int | None = None, target: torch.Tensor | None = None,
        teacher_forcing: float = 0.0, generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode `steps` positions from z; with target (B, T, D), feed the truth at t-1 with probability
        `teacher_forcing`, decided per time step. Returns vectors (B, T, D) and attention weights
        (B, heads, T, slots) or None."""
        T = steps or self.cfg.window
        S, L = self.cfg.lines, self.cfg.line_length
        if S == 1:
            return self.unroll(z, T, target, teacher_forcing, generator)
        codes = z.new_zeros(z.shape[0], S, self.cfg.code)
        codes[:, self.shares] = z
        lift = self.lift(codes)  # (B, S, (layers + 1) H) or None
        codes = codes.view(z.shape[0] * S, self.cfg.code)  # (B * S, C), a smaller share padded with zeros
        lines_target = None if target is None else to_lines(target, S, L)  # (B * S, L, D)
        lift = None if lift is None else lift.reshape(z.shape[0] * S, -1)
        y, weights = self.unroll(codes, L, lines_target, teacher_forcing, generator, lift)  # (B * S, L, D)
        if weights is not None:  # (B * S, heads, L, slots) -> (B, heads, T, slots)
            weights = from_lines(weights.transpose(1, 2), S, T).transpose(1, 2)
        return from_lines(y, S, T), weights

    def lift(self, codes: torch.Tensor) -> torch.Tensor | None:
        """What the window's other lines tell each line, from the lines' codes (B, S, C): (B, S, (layers + 1) H),
        the first H numbers added to every input of the line, the rest to its first state; None without context."""
        return None if self.lines_context is None else self.lines_context(codes)

    def unroll(
        self, z: torch.Tensor, T: int, target: torch.Tensor | None, teacher_forcing: float,
        generator: torch.Generator | None, lift: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode T positions of each sequence from its code z (N, C), and `lift` (N, (layers + 1) H), what the
        other lines tell it: (N, T, D) and attention weights or None."""
        ctx, weights = self.context(z, T)  # (B, T, H)
        if lift is not None:
            ctx = ctx + lift[:, None, : self.cfg.hidden]
        h = self.init_hidden(z, None if lift is None else lift[:, self.cfg.hidden :])
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
        # z (or a line's code) -> S slots; each position's code queries them, so each step reads its own mix of z.
        self.to_memory = nn.Linear(cfg.code, cfg.memory_slots * cfg.hidden)
        self.attn = nn.MultiheadAttention(cfg.hidden, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.lines_attention = (LineAttention(cfg.code, cfg.hidden, cfg.heads, (cfg.layers + 1) * cfg.hidden,
                                              cfg.lines) if self.lines_context is not None else None)

    def lift(self, codes: torch.Tensor) -> torch.Tensor | None:
        """The baseline's reading across the lines plus each line's attention over every line's code."""
        lift = super().lift(codes)
        return lift if self.lines_attention is None else lift + self.lines_attention(codes)[0]

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
                       generator: torch.Generator | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Training pass: reconstruction (B, T, D) of x, the decoder fed the truth at t-1 with probability
        `teacher_forcing`, decided per time step; `noise` (B, Z) in [-0.5, 0.5), in steps of the code_bits
        quantizer, is added to z (the decoder learns from codes no more precise than that)."""
        centred = x - self.offset
        z = self.encoder(centred, mask)  # (B, Z)
        if noise is not None:
            z = z + noise * self.cfg.code_step
        y, _ = self.decoder(z, x.shape[1], target=centred, teacher_forcing=teacher_forcing, generator=generator)
        return y + self.offset

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruct a window as at test time: encode, then decode from z alone."""
        return self.decode(self.encode(x, mask), x.shape[1])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
