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
in backward (8 instead of 6 ``N V d`` FLOPs), partly repaid by working on cache-sized
chunks in place.  The default chunk holds about 2^23 logits (32 MiB in float32).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["chunked_cross_entropy", "ChunkedCrossEntropy", "default_chunk_rows"]

#: logits kept per chunk by default (rows = this // vocab; 256 rows at V = 32,768); chosen
#: on the bench (bench/RESULTS.md): smaller chunks pay per-op overhead, larger ones memory
CHUNK_ELEMENTS = 1 << 23


def default_chunk_rows(vocab: int) -> int:
    return max(1, CHUNK_ELEMENTS // max(1, int(vocab)))


class ChunkedCrossEntropy(torch.autograd.Function):
    """Autograd function behind :func:`chunked_cross_entropy` (per-row losses out).

    Per chunk the logits buffer is worked on in place (max, subtract, exp), and the
    incoming per-row gradient scales the small ``chunk x d`` operands of the two backward
    matmuls instead of the ``chunk x V`` softmax, so each chunk costs one matmul and three
    passes over its logits forward, and two matmuls, one addmm and two passes backward.
    """

    @staticmethod
    def forward(ctx, h, W, y, ignore_index, label_smoothing, chunk_rows):
        N = h.shape[0]
        acc = torch.promote_types(h.dtype, torch.float32)   # float32, or float64 for float64 input
        lse = torch.empty(N, dtype=acc, device=h.device)
        losses = torch.empty(N, dtype=acc, device=h.device)
        valid = y != ignore_index
        ysafe = torch.where(valid, y, torch.zeros_like(y))
        eps = label_smoothing
        Wt = W.t()
        for a in range(0, N, chunk_rows):
            b = min(a + chunk_rows, N)
            z = (h[a:b] @ Wt).to(acc)
            score = z.gather(1, ysafe[a:b, None]).squeeze(1)      # target logit
            if eps:
                score = (1.0 - eps) * score + eps * z.mean(dim=1)
            m = z.amax(dim=1, keepdim=True)
            z.sub_(m).exp_()
            lse[a:b] = m.squeeze(1) + z.sum(dim=1).log_()
            losses[a:b] = torch.where(valid[a:b], lse[a:b] - score, torch.zeros_like(score))
        ctx.save_for_backward(h, W, ysafe, valid, lse)
        ctx.eps, ctx.chunk_rows = eps, chunk_rows
        return losses

    @staticmethod
    def backward(ctx, g):
        h, W, ysafe, valid, lse = ctx.saved_tensors
        eps, chunk_rows = ctx.eps, ctx.chunk_rows
        N, V = h.shape[0], W.shape[0]
        need_h, need_W = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        acc = lse.dtype
        dh = torch.empty_like(h) if need_h else None
        dW = torch.zeros(W.shape, dtype=acc, device=W.device) if need_W else None
        gv = torch.where(valid, g.to(acc), torch.zeros((), dtype=acc, device=g.device))  # 0 at ignored rows
        Wt, Wa = W.t(), W.to(acc)
        for a in range(0, N, chunk_rows):
            b = min(a + chunk_rows, N)
            hc = h[a:b]
            p = (hc @ Wt).to(acc)
            p.sub_(lse[a:b, None]).exp_()              # softmax, in place of the logits
            if eps:
                p.sub_(eps / V)
            p.scatter_add_(1, ysafe[a:b, None], torch.full((b - a, 1), -(1.0 - eps), dtype=acc, device=p.device))
            ga = gv[a:b, None]
            if need_h:
                dh[a:b] = (p @ Wa) * ga
            if need_W:
                dW.addmm_(p.t(), hc.to(acc) * ga)
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
