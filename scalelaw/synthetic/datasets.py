"""Deterministic train streams and a fixed held-out set from a synthetic source.

Batches are ``(inputs, targets)`` int64 arrays of shape ``(batch, context_length)`` with
``targets[:, t] = next item after inputs[:, t]`` (symbols, or token ids with a tokenizer).

* Train batch ``i`` is drawn from its own seed ``(seed, 0, i)``: the stream is reproducible
  and random-access (resume at any batch) and never overlaps the evaluation set, which is
  drawn once from seed ``(seed, 1)``.
* Without a tokenizer there is no padding.  With a tokenizer each row is a fresh stationary
  symbol sequence encoded on its own; a row that yields too few tokens is padded: inputs
  with ``pad_id`` and targets with :data:`IGNORE_INDEX` (``-100``, PyTorch's default
  ``ignore_index``), so padding never enters the loss.
* Per-character losses: :meth:`SyntheticDataset.target_chars` gives the characters covered
  by every target (0 at padding); loss per char = Σ token CE / Σ target chars.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ScalelawError

__all__ = ["IGNORE_INDEX", "SyntheticDataset", "train_tokenizer"]

#: target value at padded positions (torch.nn.functional.cross_entropy's default ignore_index)
IGNORE_INDEX = -100


def train_tokenizer(source, spec, n_chars: int = 1_000_000, seed: int = 0, row_length: int = 10_000):
    """Train a tokenizer (spec string or :class:`TokenizerSpec`) on a sample of ``source``
    drawn from seed ``(seed, 2)`` (disjoint from the dataset's train and eval seeds)."""
    from .tokenizers import TokenizerSpec, parse_tokenizer

    ts = spec if isinstance(spec, TokenizerSpec) else parse_tokenizer(spec, m=source.m)
    rows = max(1, math.ceil(n_chars / row_length))
    data = source.sample(rows, row_length, np.random.default_rng([seed, 2]))
    return ts.train(data, source.m)


class SyntheticDataset:
    """(input, target) batches of ``context_length`` items from a Markov source.

    Parameters
    ----------
    source : MarkovSource
    context_length : int
        items (symbols or tokens) per input row.
    tokenizer : Tokenizer, optional
        trained tokenizer; items are then token ids.
    seed : int
        master seed of the train stream and the evaluation set.
    pad_id : int
        input value at padded positions (targets there are ``IGNORE_INDEX``).
    """

    def __init__(self, source, context_length: int, *, tokenizer=None, seed: int = 0, pad_id: int = 0):
        context_length = int(context_length)
        if context_length < 1:
            raise ScalelawError(f"context_length={context_length} is invalid; use >= 1")
        if tokenizer is not None and tokenizer.m != source.m:
            raise ScalelawError(f"tokenizer alphabet m={tokenizer.m} does not match the source's m={source.m}")
        self.source = source
        self.context_length = context_length
        self.tokenizer = tokenizer
        self.seed = int(seed)
        self.pad_id = int(pad_id)
        self._row_chars = None

    @property
    def vocab_size(self) -> int:
        """Number of distinct input ids (alphabet size, or tokenizer vocabulary)."""
        return self.tokenizer.vocab_size if self.tokenizer is not None else self.source.m

    # ------------------------------------------------------------------ batches
    def _row_length_chars(self) -> int:
        if self._row_chars is None:
            tok = self.tokenizer
            pilot = self.source.sample(8, 4096, np.random.default_rng([self.seed, 3]))
            enc = tok.encode_batch(pilot)
            cpt = pilot.size / max(1, sum(len(e) for e in enc))
            self._row_chars = int(math.ceil((self.context_length + 1) * cpt * 1.3)) + tok.max_token_length
        return self._row_chars

    def _make(self, n: int, rng: np.random.Generator):
        T = self.context_length
        if self.tokenizer is None:
            x = self.source.sample(n, T + 1, rng).astype(np.int64)
            return x[:, :-1].copy(), x[:, 1:].copy()
        rows = self.source.sample(n, self._row_length_chars(), rng)
        inputs = np.full((n, T), self.pad_id, dtype=np.int64)
        targets = np.full((n, T), IGNORE_INDEX, dtype=np.int64)
        for i, ids in enumerate(self.tokenizer.encode_batch(rows)):
            ids = ids[: T + 1]
            L = len(ids) - 1
            if L > 0:
                inputs[i, :L] = ids[:-1]
                targets[i, :L] = ids[1:]
            elif len(ids) == 1:
                inputs[i, 0] = ids[0]
        return inputs, targets

    def train_batch(self, index: int, batch_size: int):
        """Train batch number ``index`` (deterministic, random access): ``(inputs, targets)``."""
        if batch_size < 1 or index < 0:
            raise ScalelawError("batch_size must be >= 1 and index >= 0")
        return self._make(int(batch_size), np.random.default_rng([self.seed, 0, int(index)]))

    def train_batches(self, batch_size: int, n_batches: int | None = None, start: int = 0):
        """Yield ``(inputs, targets)`` train batches ``start, start+1, ...`` (forever if
        ``n_batches`` is None)."""
        i = int(start)
        while n_batches is None or i < start + n_batches:
            yield self.train_batch(i, batch_size)
            i += 1

    def eval_set(self, n_sequences: int = 256):
        """The fixed held-out set: ``(inputs, targets)`` with ``n_sequences`` rows; the same
        for every call with the same ``seed`` and ``n_sequences``."""
        if n_sequences < 1:
            raise ScalelawError("n_sequences must be >= 1")
        return self._make(int(n_sequences), np.random.default_rng([self.seed, 1]))

    def eval_batches(self, n_sequences: int = 256, batch_size: int = 64):
        """The evaluation set in batches of ``batch_size`` rows."""
        x, y = self.eval_set(n_sequences)
        for a in range(0, len(x), batch_size):
            yield x[a: a + batch_size], y[a: a + batch_size]

    # ------------------------------------------------------------------ accounting
    def target_chars(self, targets) -> np.ndarray:
        """Characters covered by each target (1 per symbol without a tokenizer; 0 at padding)."""
        targets = np.asarray(targets)
        mask = targets != IGNORE_INDEX
        if self.tokenizer is None:
            return mask.astype(np.int64)
        return np.where(mask, self.tokenizer.token_lengths[np.where(mask, targets, 0)], 0)

    def loss_per_char(self, token_losses, targets) -> float:
        """Σ token cross-entropy (nats, ignored positions excluded) / Σ characters covered."""
        token_losses = np.asarray(token_losses, dtype=float)
        mask = np.asarray(targets) != IGNORE_INDEX
        return float(np.where(mask, token_losses, 0.0).sum() / self.target_chars(targets).sum())

    def optimal_symbol_loss(self) -> np.ndarray:
        """Without a tokenizer: the exact best expected loss (nats) at each target position
        ``t`` (context ``t+1`` symbols): ``H(X | min(t+1, k) previous symbols)``."""
        if self.tokenizer is not None:
            raise ScalelawError("optimal_symbol_loss is defined for symbol-level data (no tokenizer)")
        h = self.source.conditional_entropies()
        t = np.arange(self.context_length)
        return h[np.minimum(t + 1, self.source.k)]
