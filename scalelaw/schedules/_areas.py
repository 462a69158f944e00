"""LR areas and warmup conventions of the LR-schedule laws (per-step LRs in, areas out).

* ``S1(s) = Σ_{i=1..s} η_i`` (LR·steps).
* ``S2`` is the annealing area of Tissue et al. (2024): ``m_i = λ·m_{i−1} + (η_{i−1} − η_i)``,
  ``m_1 = 0``, ``S2(s) = Σ_{i=1..s} m_i``, computed as a linear filter in O(T).
* :func:`momentum_areas` applies their warmup convention (LR taken as ``η_max`` for steps
  ``1..W``); :func:`warmup_area` is the multi-power law's (Luo et al.) ``S_W = ½·η_max·W``.
"""
from __future__ import annotations

import numpy as np


def detect_warmup(eta: np.ndarray) -> int:
    """Warmup length ``W`` of per-step LRs ``eta``: the initial strictly rising stretch
    (steps ``0..W−1``); 0 if the LR does not rise at the start."""
    eta = np.asarray(eta, dtype=float)
    if len(eta) < 2 or eta[1] <= eta[0]:
        return 0
    d = np.diff(eta)
    stop = np.flatnonzero(d <= 0)
    return int(stop[0] + 1) if len(stop) else len(eta)


def s1_area(eta: np.ndarray) -> np.ndarray:
    """``S1(s) = Σ_{i=1..s} η_i`` for ``s = 0..T`` (LR·steps); ``S1(0) = 0``."""
    eta = np.asarray(eta, dtype=float)
    out = np.zeros_like(eta)
    out[1:] = np.cumsum(eta[1:])
    return out


def s2_momentum(eta: np.ndarray, lam: float = 0.999) -> tuple[np.ndarray, np.ndarray]:
    """Annealing momentum ``m_i`` and area ``S2(s) = Σ_{i=1..s} m_i`` for ``s = 0..T``.

    ``m_1 = 0``, ``m_i = λ·m_{i−1} + (η_{i−1} − η_i)`` for ``i ≥ 2`` (a first-order IIR
    filter, O(T)).  ``m_0 = S2(0) = 0``.
    """
    from scipy.signal import lfilter
    eta = np.asarray(eta, dtype=float)
    delta = np.zeros_like(eta)
    if len(eta) > 2:
        delta[2:] = eta[1:-1] - eta[2:]
    m = lfilter([1.0], [1.0, -float(lam)], delta)
    return m, np.cumsum(m)


def momentum_lrs(eta: np.ndarray, warmup: int | None = None) -> tuple[np.ndarray, int]:
    """Per-step LRs under the momentum law's warmup convention: steps ``1..W`` at ``η_max``
    (the largest LR up to step ``W``), so warmup adds ``W·η_max`` to S1 and nothing to S2.
    ``warmup=None`` detects ``W`` (:func:`detect_warmup`).  Returns ``(η', W)``."""
    eta = np.asarray(eta, dtype=float)
    W = detect_warmup(eta) if warmup is None else int(warmup)
    W = min(W, len(eta) - 1)
    out = eta.copy()
    if W > 0:
        out[: W + 1] = np.max(eta[: W + 1])
    return out, W


def momentum_areas(eta: np.ndarray, lam: float = 0.999, warmup: int | None = None):
    """``(S1, S2, W)`` for ``s = 0..T`` with Tissue et al.'s warmup convention."""
    e, W = momentum_lrs(eta, warmup)
    _, s2 = s2_momentum(e, lam)
    return s1_area(e), s2, W


def warmup_area(eta: np.ndarray, warmup: int | None = None) -> float:
    """The multi-power law's ``S_W = ½·η_max·W`` (LR·steps)."""
    eta = np.asarray(eta, dtype=float)
    W = detect_warmup(eta) if warmup is None else int(warmup)
    return 0.5 * float(np.max(eta[: W + 1])) * W if W > 0 else 0.0
