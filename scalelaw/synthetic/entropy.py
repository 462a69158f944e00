"""Exact information quantities of k-th order Markov sources (all in nats).

Conventions (REFERENCE §7): a k-th order source over the alphabet ``{0, ..., m-1}`` has a
kernel ``P[s, a]`` indexed by the state ``s = x_{t-k}·m^(k-1) + ... + x_{t-1}`` (oldest
symbol most significant) and the next symbol ``a``; the state chain moves
``s -> (s·m + a) mod m^k`` with probability ``P[s, a]``.  ``mu`` is its stationary
distribution.

* block entropy ``H_j`` = entropy of ``j`` consecutive symbols under stationarity;
* conditional entropy with a ``j``-symbol context ``h_j = H_{j+1} - H_j``
  (``h_0 = H(pi)``, the unigram entropy; ``h_k = H_inf``, the entropy rate; ``h_j`` for
  ``j > k`` equals ``H_inf``).

Everything here is computed exactly from the kernel (no sampling).
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "shannon_entropy",
    "state_transition_matrix",
    "stationary_distribution",
    "symbol_marginal",
    "entropy_rate",
    "unigram_entropy",
    "block_distribution",
    "block_entropies",
    "conditional_entropies",
    "binary_entropy",
]


def shannon_entropy(p, axis=-1) -> np.ndarray | float:
    """Shannon entropy ``-Σ p ln p`` in nats along ``axis`` (0 ln 0 = 0)."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return t.sum(axis=axis)


def binary_entropy(x: float) -> float:
    """``h(x) = -x ln x - (1-x) ln(1-x)`` in nats."""
    return float(shannon_entropy([x, 1.0 - x]))


def _check_kernel(kernel: np.ndarray, k: int) -> tuple[int, int]:
    kernel = np.asarray(kernel)
    S, m = kernel.shape
    if S != m ** k:
        raise ValueError(f"kernel has {S} rows; a k={k} source over m={m} symbols needs {m ** k}")
    return S, m


def state_transition_matrix(kernel: np.ndarray, k: int):
    """Sparse ``(m^k, m^k)`` transition matrix of the order-k state chain (scipy CSR)."""
    import scipy.sparse as sp

    S, m = _check_kernel(kernel, k)
    rows = np.repeat(np.arange(S), m)
    cols = ((np.arange(S)[:, None] * m + np.arange(m)[None, :]) % S).ravel()
    return sp.csr_matrix((np.asarray(kernel, float).ravel(), (rows, cols)), shape=(S, S))


def stationary_distribution(kernel: np.ndarray, k: int) -> np.ndarray:
    """Stationary distribution ``mu`` (length ``m^k``) of the order-k state chain.

    For an irreducible chain this is the unique solution of ``mu T = mu``, ``Σ mu = 1``.
    For a reducible chain (e.g. a switching source with ``p = q = 0``) the Cesàro limit
    from the uniform start is returned, which is the ``p, q -> 0`` limit for that case.
    """
    S, m = _check_kernel(kernel, k)
    if S == 1:
        return np.ones(1)
    T = state_transition_matrix(kernel, k)
    if S <= 2048:
        Td = T.toarray()
        A = Td.T - np.eye(S)
        A[-1, :] = 1.0  # replace one (redundant) balance equation by the normalisation
        b = np.zeros(S)
        b[-1] = 1.0
        try:
            mu = np.linalg.solve(A, b)
            if np.all(mu > -1e-12) and np.allclose(mu @ Td, mu, atol=1e-10):
                mu = np.clip(mu, 0.0, None)
                return mu / mu.sum()
        except np.linalg.LinAlgError:
            pass
        # reducible: Cesàro limit via the lazy chain (same stationary set, aperiodic)
        Q = 0.5 * (Td + np.eye(S))
        for _ in range(64):
            Q = Q @ Q
        mu = np.full(S, 1.0 / S) @ Q
        return mu / mu.sum()
    # large state spaces: sparse iterative solve on the lazy chain
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    A = (T.T - sp.eye(S)).tolil()
    A[-1, :] = np.ones(S)
    b = np.zeros(S)
    b[-1] = 1.0
    mu = spla.spsolve(A.tocsc(), b)
    mu = np.clip(mu, 0.0, None)
    return mu / mu.sum()


def block_distribution(mu: np.ndarray, m: int, k: int, j: int) -> np.ndarray:
    """Distribution of ``j <= k`` consecutive symbols (flat, length ``m^j``) under ``mu``."""
    if not 0 <= j <= k:
        raise ValueError(f"block length j={j} must be in [0, k={k}]")
    if j == 0:
        return np.ones(1)
    return np.asarray(mu, float).reshape((m ** (k - j), m ** j)).sum(axis=0)


def symbol_marginal(mu: np.ndarray, m: int, k: int) -> np.ndarray:
    """``pi``: the stationary marginal of one symbol (length ``m``)."""
    return block_distribution(mu, m, k, 1)


def entropy_rate(kernel: np.ndarray, mu: np.ndarray) -> float:
    """``H_inf = Σ_s mu(s)·H(P[s, ·])`` in nats per symbol."""
    return float(np.dot(mu, shannon_entropy(kernel, axis=1)))


def unigram_entropy(mu: np.ndarray, m: int, k: int) -> float:
    """``H(pi)`` in nats: the loss of the best context-free (unigram) predictor."""
    return float(shannon_entropy(symbol_marginal(mu, m, k)))


def block_entropies(kernel: np.ndarray, k: int, mu: np.ndarray | None = None) -> np.ndarray:
    """Exact block entropies ``H_0 .. H_{k+1}`` in nats (``H_0 = 0``)."""
    S, m = _check_kernel(kernel, k)
    if mu is None:
        mu = stationary_distribution(kernel, k)
    H = [float(shannon_entropy(block_distribution(mu, m, k, j))) for j in range(k + 1)]
    H.append(float(shannon_entropy(mu)) + entropy_rate(kernel, mu))  # H_{k+1} = H(mu) + H_inf
    return np.array(H)


def conditional_entropies(kernel: np.ndarray, k: int, mu: np.ndarray | None = None,
                          max_context: int | None = None) -> np.ndarray:
    """``h_j = H(X_t | X_{t-j..t-1}) = H_{j+1} - H_j`` for ``j = 0..max_context`` (nats).

    ``max_context`` defaults to ``k``; entries beyond ``k`` equal the entropy rate.
    """
    H = block_entropies(kernel, k, mu)
    h = np.diff(H)
    if max_context is None:
        max_context = k
    if max_context > k:
        h = np.concatenate([h, np.full(max_context - k, h[-1])])
    return h[: max_context + 1]
