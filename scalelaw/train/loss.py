"""Memory-efficient cross-entropy over a linear output layer (REFERENCE §9).

``chunked_cross_entropy(h, W, y)`` equals ``F.cross_entropy(h @ W.T, y)`` (nats per token,
same ``ignore_index``, ``label_smoothing`` and reductions) but never holds the ``N x V``
logits of all rows at once: the rows are processed in chunks of ``chunk_rows``.

* forward: per chunk, logits ``z = h_c W^T`` (computed in the input dtype, reduced in
  float32, or float64 for float64 inputs), keep only the log-sum-exp ``lse`` and the loss of each row;
* backward: per chunk, recompute ``z``, form ``p = exp(z - lse)``, subtract the target
  distribution (one-hot, smoothed when ``label_smoothing > 0``), scale by the incoming
  gradient of each row, and accumulate ``dh_c = dz W`` and ``dW += dz^T h_c``.

Extra memory is O(chunk_rows x V) instead of O(N x V); the price is one extra logits matmul
in backward (8 instead of 6 ``N V d`` FLOPs).  The default chunk holds about 2^22 logits
(16 MiB in float32).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["chunked_cross_entropy", "ChunkedCrossEntropy", "default_chunk_rows"]

#: logits kept per chunk by default (rows = this // vocab)
CHUNK_ELEMENTS = 1 << 22


def default_chunk_rows(vocab: int) -> int:
    return max(1, CHUNK_ELEMENTS // max(1, int(vocab)))


def _targets_dist_terms(z32, yc, valid, eps, V):
    """Per-row loss terms given float32 chunk logits: lse, and loss = lse - target score."""
    lse = torch.logsumexp(z32, dim=1)
    ysafe = torch.where(valid, yc, torch.zeros_like(yc))
    zy = z32.gather(1, ysafe[:, None]).squeeze(1)
    if eps:
        target_score = (1.0 - eps) * zy + eps * z32.mean(dim=1)
    else:
        target_score = zy
    loss = torch.where(valid, lse - target_score, torch.zeros_like(lse))
    return lse, loss


class ChunkedCrossEntropy(torch.autograd.Function):
    """Autograd function behind :func:`chunked_cross_entropy` (per-row losses out)."""

    @staticmethod
    def forward(ctx, h, W, y, ignore_index, label_smoothing, chunk_rows):
        N, V = h.shape[0], W.shape[0]
        acc = torch.promote_types(h.dtype, torch.float32)   # float32, or float64 for float64 input
        lse = torch.empty(N, dtype=acc, device=h.device)
        losses = torch.empty(N, dtype=acc, device=h.device)
        valid = y != ignore_index
        for a in range(0, N, chunk_rows):
            b = min(a + chunk_rows, N)
            z = (h[a:b] @ W.t()).to(acc)
            lse[a:b], losses[a:b] = _targets_dist_terms(z, y[a:b], valid[a:b], label_smoothing, V)
        ctx.save_for_backward(h, W, y, lse)
        ctx.ignore_index, ctx.eps, ctx.chunk_rows = ignore_index, label_smoothing, chunk_rows
        return losses

    @staticmethod
    def backward(ctx, g):
        h, W, y, lse = ctx.saved_tensors
        eps, chunk_rows = ctx.eps, ctx.chunk_rows
        N, V = h.shape[0], W.shape[0]
        need_h, need_W = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        dh = torch.empty_like(h) if need_h else None
        acc = lse.dtype
        dW = torch.zeros(W.shape, dtype=acc, device=W.device) if need_W else None
        valid = y != ctx.ignore_index
        g = g.to(acc)
        for a in range(0, N, chunk_rows):
            b = min(a + chunk_rows, N)
            hc = h[a:b]
            z = (hc @ W.t()).to(acc)
            p = torch.exp(z - lse[a:b, None])          # softmax, in place of the logits
            del z
            if eps:
                p -= eps / V
            ya = torch.where(valid[a:b], y[a:b], torch.zeros_like(y[a:b]))
            p.scatter_add_(1, ya[:, None], torch.full((b - a, 1), -(1.0 - eps), dtype=acc, device=p.device))
            p *= torch.where(valid[a:b], g[a:b], torch.zeros_like(g[a:b]))[:, None]
            dz = p.to(h.dtype)
            if need_h:
                dh[a:b] = dz @ W
            if need_W:
                dW += (dz.t() @ hc).to(acc)
        return dh, (dW.to(W.dtype) if need_W else None), None, None, None, None


def chunked_cross_entropy(h, W, y, *, ignore_index: int = -100, label_smoothing: float = 0.0,
                          reduction: str = "mean", chunk_rows: int | None = None):
    """Cross-entropy (nats) of ``softmax(h @ W.T)`` against targets ``y``, chunked.

    ``h``: (..., d) hidden states; ``W``: (V, d) output weight; ``y``: (...) int64 targets.
    ``reduction``: ``"mean"`` over non-ignored targets (as ``F.cross_entropy``), ``"sum"``,
    or ``"none"`` (per target, 0 at ignored positions).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction={reduction!r}; use mean, sum or none")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError("label_smoothing must be in [0, 1)")
    shape = y.shape
    h2 = h.reshape(-1, h.shape[-1])
    y2 = y.reshape(-1)
    rows = int(chunk_rows) if chunk_rows else default_chunk_rows(W.shape[0])
    losses = ChunkedCrossEntropy.apply(h2, W, y2, int(ignore_index), float(label_smoothing), rows)
    if reduction == "none":
        return losses.reshape(shape)
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / (y2 != ignore_index).sum()


def dense_cross_entropy(h, W, y, *, ignore_index: int = -100, label_smoothing: float = 0.0,
                        reduction: str = "mean"):
    """The reference: materialize the logits, then ``F.cross_entropy`` (float32 logits)."""
    z = (h.reshape(-1, h.shape[-1]) @ W.t()).to(torch.promote_types(h.dtype, torch.float32))
    out = F.cross_entropy(z, y.reshape(-1), ignore_index=ignore_index,
                          label_smoothing=label_smoothing, reduction=reduction)
    return out.reshape(y.shape) if reduction == "none" else out
