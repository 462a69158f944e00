"""A small GPT: pre-LayerNorm decoder-only transformer, one file.

    tokens (B, T) -> wte + wpe -> n_layer x [x + Attn(LN(x)); x + MLP(LN(x))] -> LN -> lm_head

* Attention: causal multi-head self-attention, ``n_head`` heads of ``n_embd // n_head``,
  one fused ``qkv`` projection (with bias) and an output projection (with bias), through
  ``torch.nn.functional.scaled_dot_product_attention``.
* MLP: ``n_embd -> 4 n_embd -> n_embd`` with GELU (tanh approximation), biases.
* Learned token (``wte``, vocab x n_embd) and position (``wpe``, context x n_embd)
  embeddings; the output projection ``lm_head`` (no bias) shares ``wte``'s weight when
  ``tied`` (the default).  No dropout: training is deterministic given the seed.
* Initialisation as GPT-2: N(0, 0.02) weights, zero biases, residual projections scaled by
  ``1/sqrt(2 n_layer)``.

Parameter counts (REFERENCE §8), both recorded for every run:

* ``n_params_nonembed`` (Kaplan): everything except the token and position embeddings and
  an untied output projection: ``n_layer (12 d^2 + 13 d) + 2 d``.
* ``n_params_total`` (Chinchilla): every parameter of the module, embeddings included
  (``+ V d + T d``, ``+ V d`` more when untied).

Training FLOPs per token: ``6 (N_nonembed + V d) + 12 n_layer T d``: 6 per parameter that
takes part in a matmul (the non-embedding weights and the output projection; embedding
lookups are free) plus the attention scores and weighted sums (``QK^T`` and ``AV``, 2
matmuls x 2 FLOPs x T x d per layer forward, x3 for forward + backward), as nanoGPT's MFU
estimate counts them.  Kaplan's ``C = 6 N D`` uses the non-embedding N alone; for the tiny
models of a synthetic sweep the difference matters, so both counts are kept.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ScalelawError

__all__ = ["GPTConfig", "GPT"]


@dataclass(frozen=True)
class GPTConfig:
    """Shape of the model.  ``context`` is the number of positions (tokens) per row."""

    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    context: int = 64
    vocab: int = 2
    tied: bool = True

    def __post_init__(self):
        for k in ("n_layer", "n_head", "n_embd", "context", "vocab"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ScalelawError(f"model {k}={v!r} is invalid; use an integer >= 1")
        if self.n_embd % self.n_head:
            raise ScalelawError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                                "choose n_embd a multiple of n_head")

    # -- counts (pure arithmetic, checked against the module in tests) -------------------
    @property
    def n_params_nonembed(self) -> int:
        """Non-embedding parameters (Kaplan): blocks and final LayerNorm."""
        d = self.n_embd
        return self.n_layer * (12 * d * d + 13 * d) + 2 * d

    @property
    def n_params_embed(self) -> int:
        """Token + position embeddings, plus the output projection when untied."""
        d = self.n_embd
        return self.vocab * d + self.context * d + (0 if self.tied else self.vocab * d)

    @property
    def n_params_total(self) -> int:
        """Every parameter (Chinchilla's count)."""
        return self.n_params_nonembed + self.n_params_embed

    @property
    def flops_per_token(self) -> int:
        """Training FLOPs per token: ``6 (N_nonembed + V d) + 12 n_layer T d``."""
        d = self.n_embd
        return 6 * (self.n_params_nonembed + self.vocab * d) + 12 * self.n_layer * self.context * d

    def counts(self) -> dict:
        return {"N_nonembed": self.n_params_nonembed, "N_total": self.n_params_total,
                "flops_per_token": self.flops_per_token}

    def to_dict(self) -> dict:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, heads, T, head_dim)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """``GPT(cfg)(idx)`` -> logits ``(B, T, vocab)``; ``hidden(idx)`` -> final-LN states
    ``(B, T, n_embd)`` for a loss that applies ``lm_head`` itself (the chunked loss)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.context, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab, bias=False)
        if cfg.tied:
            self.lm_head.weight = self.wte.weight
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):   # residual projections (GPT-2)
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def hidden(self, idx):
        T = idx.shape[1]
        if T > self.cfg.context:
            raise ScalelawError(f"sequence of {T} tokens exceeds the model context {self.cfg.context}")
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, idx):
        return self.lm_head(self.hidden(idx))

    def count_params(self) -> dict:
        """Parameters counted on the module itself (shared tensors once):
        ``total``, ``embedding`` (wte, wpe, untied lm_head) and ``nonembed``."""
        seen, total = set(), 0
        for p in self.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
        emb = self.wte.weight.numel() + self.wpe.weight.numel()
        if self.lm_head.weight is not self.wte.weight:
            emb += self.lm_head.weight.numel()
        return {"total": total, "embedding": emb, "nonembed": total - emb}
