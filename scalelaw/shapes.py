"""Transformer shapes for a parameter count: the nearest ``(n_layer, d_model, n_heads)``.

Convention (Kaplan et al. 2020, Table 1): a decoder block has ``4·d_model²`` attention
weights (Q, K, V, output) and ``8·d_model²`` MLP weights (``d_ff = 4·d_model``), so the
non-embedding count is ``N = 12·n_layer·d_model²`` (biases and layer norms, ``O(d_model)``
per layer, left out).  With a vocabulary size ``vocab`` the token embedding adds
``vocab·d_model`` (tied input/output embedding) or ``2·vocab·d_model`` (untied), and the
target ``N`` is then the *total* count (the Chinchilla convention); without it, ``N`` is
non-embedding (the Kaplan convention).  Position embeddings are not counted (rotary).

Constraints: ``d_model`` a multiple of the head dimension (``n_heads = d_model/head_dim``), the
aspect ratio ``d_model/n_layer`` within a range (Kaplan et al. find the loss flat for aspect
ratios of roughly 20-200; GPT-3 175B has 12288/96 = 128, Chinchilla 70B 8192/80 = 102).
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np

from .errors import ScalelawError, ScalelawWarning

__all__ = ["transformer_shapes", "shape_params"]


def shape_params(n_layer, d_model, *, vocab: int | None = None, tied: bool = True) -> np.ndarray:
    """Parameters of a shape: ``12·n_layer·d_model²`` (+ ``vocab·d_model``, twice if untied)."""
    n_layer = np.asarray(n_layer, dtype=float)
    d_model = np.asarray(d_model, dtype=float)
    emb = 0.0 if vocab is None else (1 if tied else 2) * float(vocab) * d_model
    return 12.0 * n_layer * d_model ** 2 + emb


def _ints(values, what: str) -> list[int]:
    if isinstance(values, (int, float, np.integer, np.floating)):
        values = [values]
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ScalelawError(f"{what} must be whole numbers, got {v!r}") from None
        if not (math.isfinite(f) and f.is_integer() and f >= 1):
            raise ScalelawError(f"{what} must be whole numbers >= 1, got {v!r}")
        out.append(int(f))
    if not out:
        raise ScalelawError(f"give at least one {what}")
    return sorted(set(out))


def transformer_shapes(N: float, *, aspect: Sequence[float] = (32.0, 256.0),
                       head_dim: int | Sequence[int] = (64, 128), vocab: int | None = None,
                       tied: bool = True, top: int = 10):
    """The shapes whose parameter count is nearest ``N``, as a ranked tidy frame.

    Parameters
    ----------
    N
        The target parameter count: non-embedding (``12·n_layer·d_model²``) without
        ``vocab``, total (plus the embedding) with it.
    aspect
        ``(lo, hi)``: allowed range of ``d_model/n_layer``.
    head_dim
        One head dimension or several; ``d_model`` is a multiple of it and
        ``n_heads = d_model/head_dim``.
    vocab, tied
        Vocabulary size of the embedding (None: not counted) and whether the input and
        output embeddings share one matrix.
    top
        How many candidates to return.

    Returns
    -------
    DataFrame ranked by ``|rel_error|`` (then by the aspect ratio's distance from the
    geometric middle of the range, in log): ``rank``, ``n_layer``, ``d_model``, ``n_heads``,
    ``head_dim``, ``d_ff`` (``4·d_model``), ``aspect``, ``N`` (the shape's count in the
    target's convention), ``N_nonembed``, ``N_embed``, ``rel_error`` (``N/target − 1``).
    ``attrs``: ``target``, ``convention``.  A best candidate more than 5 % from ``N`` gives a
    ScalelawWarning (the constraints are too tight for this size).
    """
    import pandas as pd

    try:
        target = float(N)
    except (TypeError, ValueError):
        raise ScalelawError(f"the parameter count must be a number, got {N!r}") from None
    if not (math.isfinite(target) and target > 0):
        raise ScalelawError(f"the parameter count must be positive and finite, got {N!r}")
    try:
        lo, hi = (float(a) for a in aspect)
    except (TypeError, ValueError):
        raise ScalelawError(f"the aspect range must be two numbers lo, hi (d_model/n_layer), "
                            f"got {aspect!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
        raise ScalelawError(f"the aspect range must satisfy 0 < lo <= hi, got {lo:g}, {hi:g}")
    heads = _ints(head_dim, "head dimensions")
    if vocab is not None:
        vocab = _ints(vocab, "vocabulary size")[0]
    top = _ints(top, "number of candidates")[0]
    emb_per_d = 0 if vocab is None else (1 if tied else 2) * vocab
    frames = []
    for h in heads:
        # widest d_model with at least one layer: 12·d² + emb·d <= target (and aspect <= hi)
        d_max = (-emb_per_d + math.sqrt(emb_per_d ** 2 + 48.0 * target)) / 24.0
        k = np.arange(1, int(d_max // h) + 2, dtype=np.int64)
        d = k * h
        ne = target - emb_per_d * d
        d, ne = d[ne > 0], ne[ne > 0]
        if d.size == 0:
            continue
        L_real = ne / (12.0 * d.astype(float) ** 2)
        # N grows with n_layer at fixed d_model, so the nearest allowed layer count is
        # floor/ceil of L_real or, when those fall outside d/hi <= n_layer <= d/lo, the
        # allowed end nearest to them: ceil(d/hi) and floor(d/lo) are candidates too
        ends = (np.ceil(d / hi), np.floor(d / lo))
        for L in (np.floor(L_real), np.ceil(L_real)) + ends:
            L = np.maximum(L, 1).astype(np.int64)
            frames.append(pd.DataFrame({"n_layer": L, "d_model": d, "head_dim": h}))
    if not frames:
        raise ScalelawError(f"no transformer shape has {target:.4g} parameters: the embedding alone "
                            f"exceeds it; check the vocabulary size and whether N counts embeddings")
    cand = pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
    cand["aspect"] = cand["d_model"] / cand["n_layer"]
    cand = cand[(cand["aspect"] >= lo) & (cand["aspect"] <= hi)]
    if cand.empty:
        raise ScalelawError(f"no transformer shape with d_model/n_layer in [{lo:g}, {hi:g}] and "
                            f"d_model a multiple of {'/'.join(map(str, heads))} comes near "
                            f"{target:.4g} parameters; widen the aspect range or use a smaller "
                            f"head dimension")
    n_ne = 12.0 * cand["n_layer"].to_numpy(float) * cand["d_model"].to_numpy(float) ** 2
    n_emb = emb_per_d * cand["d_model"].to_numpy(float)
    cand = cand.assign(n_heads=cand["d_model"] // cand["head_dim"], d_ff=4 * cand["d_model"],
                       N=n_ne + n_emb, N_nonembed=n_ne, N_embed=n_emb)
    cand["rel_error"] = cand["N"] / target - 1.0
    mid = 0.5 * (math.log(lo) + math.log(hi))
    cand = cand.assign(_e=cand["rel_error"].abs().round(12),
                       _a=(np.log(cand["aspect"]) - mid).abs())
    cand = cand.sort_values(["_e", "_a", "head_dim"], ascending=[True, True, False], kind="stable")
    out = cand.head(top).drop(columns=["_e", "_a"]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = out[["rank", "n_layer", "d_model", "n_heads", "head_dim", "d_ff", "aspect", "N",
               "N_nonembed", "N_embed", "rel_error"]]
    conv = ("N = 12·n_layer·d_model² (non-embedding)" if vocab is None else
            f"N = 12·n_layer·d_model² + {'' if tied else '2·'}{vocab}·d_model (total, "
            f"{'tied' if tied else 'untied'} embedding)")
    out.attrs.update(target=target, convention=conv, aspect=(lo, hi), head_dim=heads)
    best = float(out["rel_error"].abs().iloc[0])
    if best > 0.05:
        warnings.warn(f"the nearest shape misses {target:.4g} parameters by {100 * best:.1f}%: the "
                      f"aspect range and head dimension allow only coarse steps at this size",
                      ScalelawWarning, stacklevel=2)
    return out
