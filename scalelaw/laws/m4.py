"""The M4 law of Alabdulmohsin, Neyshabur and Zhai 2022 (REFERENCE §11).

``(L − L∞) / (L0 − L)^α = β·x^(−c)``: the loss ``L(x)`` is the root of this equation in
``(L∞, L0)``.  ``L0`` is the loss at the start (``x → 0``, e.g. the loss of a uniform
prediction), ``L∞`` the asymptote (``x → ∞``), ``c`` the power-law exponent of the
reducible loss near the asymptote (there ``L − L∞ ≈ β·(L0 − L∞)^α·x^(−c)``) and ``α ≥ 0`` how
the curve bends from the plateau at ``L0`` into that power law (``α = 0``: a power law plus
constant capped by nothing; larger ``α``: a longer plateau, a sigmoid in log x).  One
variable ``x`` (``var=`` N, D, C or step), in its own units; ``β`` in loss^(1−α)·x^c.

The root is found per point, vectorized over leading axes of ``p`` like the other laws: in
the fraction ``u = (L − L∞)/(L0 − L∞)`` the equation reads
``log u − α·log(1 − u) = log s`` with ``s = β·x^(−c)·(L0 − L∞)^(α−1)``, strictly increasing
in ``z = logit(u)``; safeguarded Newton steps on ``z`` inside a bracket that always holds the
root converge to machine precision.  The Jacobian follows from implicit differentiation.
Where ``L0 ≤ L∞`` (no interval to hold a root) the law is undefined and evaluates to NaN,
which the engine treats as a failed candidate.
"""
from __future__ import annotations

import numpy as np

from ._math import sigmoid
from .base import INF, Law, cols

_NEWTON_ITERS = 60


def _softplus(z):
    return np.logaddexp(0.0, z)


def _h(z, alpha, log_s):
    return -_softplus(-z) + alpha * _softplus(z) - log_s


def _solve_z(log_s, alpha):
    """The root ``z`` of ``h(z) = −softplus(−z) + α·softplus(z) − log s`` (elementwise).

    ``h`` increases (``h' = σ(−z) + α·σ(z) > 0``), convex for ``α > 1`` and concave for
    ``α < 1``.  ``h(z) = z − log s + (α − 1)·softplus(z)``, so the start ``log s`` (for
    ``log s < 0``) or ``log s / α`` (else) lies on the side of the root from which Newton's
    method converges monotonically.  The bracket ``[lo, hi]`` always contains the root
    (``h(z) ≤ z + α·log 2 − log s`` for ``z ≤ 0``, ``h(z) ≥ α·z − log 2 − log s`` for
    ``z ≥ 0``); a step that leaves it bisects instead.  Roots beyond ``|z| = 700`` (``u``
    within 1e-304 of 0 or 1, e.g. ``α → 0`` with ``s ≥ 1``) are set to the end of the range.
    """
    log_s, alpha = np.broadcast_arrays(np.asarray(log_s, float), np.asarray(alpha, float))
    a = np.maximum(alpha, 1e-12)
    lo = np.maximum(np.minimum(log_s - a * np.log(2.0), 0.0) - 1.0, -700.0)
    hi = np.minimum(np.maximum((log_s + np.log(2.0)) / a, 0.0) + 1.0, 700.0)
    z = np.clip(np.where(log_s < 0, log_s, log_s / a), lo, hi)
    beyond_hi, beyond_lo = _h(hi, alpha, log_s) <= 0, _h(lo, alpha, log_s) >= 0
    pinned = beyond_hi | beyond_lo
    z = np.where(beyond_hi, hi, np.where(beyond_lo, lo, z))
    for _ in range(_NEWTON_ITERS):
        h = _h(z, alpha, log_s)
        lo = np.where(h < 0, z, lo)
        hi = np.where(h > 0, z, hi)
        sig = sigmoid(z)
        dh = (1.0 - sig) + alpha * sig
        with np.errstate(divide="ignore", invalid="ignore"):
            step = z - h / dh
        bad = ~np.isfinite(step) | (step < lo) | (step > hi)
        new = np.where(pinned, z, np.where(bad, 0.5 * (lo + hi), step))
        converged = np.all(np.abs(new - z) <= 1e-12 * (1.0 + np.abs(z)))
        z = new
        if converged:
            break
    return z


class M4(Law):
    """``(L − L∞)/(L0 − L)^α = β·x^(−c)`` (Alabdulmohsin et al. 2022), solved for L."""

    name = "m4"
    param_names = ("L_inf", "L0", "alpha", "beta", "c")
    log_params = ("beta",)
    #: polish the best two grid points (on simulated curves the same optimum as four, in half
    #: the time).  Not ``costly``: the root solve converges in a few Newton steps, and the
    #: batched bootstrap (which skips costly laws) is then five times faster
    n_polish = 2

    def __init__(self, var: str = "x"):
        self.var = var
        self.variables = (var,)
        self.formula = f"(L - L_inf)/(L0 - L)**alpha = beta*{var}**-c"
        super().__init__()

    def config(self):
        return {"var": self.var}

    def default_bounds(self):
        return {"L_inf": (0.0, INF), "L0": (0.0, INF), "alpha": (0.0, 10.0),
                "beta": (1e-300, INF), "c": (0.0, 10.0)}

    def default_grid(self):
        return {"alpha": [0.05, 0.3, 1.0, 3.0], "c": np.geomspace(0.03, 2.0, 10)}

    def grid_for(self, design):
        """``L∞`` below the smallest observed loss, ``L0`` above the largest, and ``β``
        spanning what puts the middle of the curve inside the observed ``x`` range."""
        g = dict(self.start_grid)
        y = None if design.y is None else np.asarray(design.y, float)
        y = y[np.isfinite(y)] if y is not None else np.array([])
        if y.size:
            lo, hi = float(y.min()), float(y.max())
            g.setdefault("L_inf", np.array([0.0, 0.5, 0.8, 0.95, 0.99]) * lo)
            g.setdefault("L0", hi + (hi - lo) * np.array([0.05, 0.5, 2.0]) + 0.01 * hi)
        v = np.asarray(design.x[self.var], float)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size and "beta" not in g:
            lv = np.log(v)
            cs = np.asarray(g.get("c", self.start_grid["c"]), float)
            ends = np.concatenate([cs * lv.min(), cs * lv.max()])
            g["beta"] = np.exp(np.linspace(ends.min() - 3, ends.max() + 3, 16))
        return g

    def _fraction(self, x, Linf, L0, a, b, c):
        """``u = (L − L∞)/(L0 − L∞)`` and ``Δ = L0 − L∞`` (NaN where ``Δ ≤ 0``)."""
        lv = np.log(x[self.var])
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = L0 - Linf
            log_s = np.log(b) - c * lv + (a - 1.0) * np.log(np.where(delta > 0, delta, np.nan))
        z = _solve_z(np.where(np.isfinite(log_s), log_s, 0.0), np.broadcast_to(a, log_s.shape))
        u = sigmoid(z)
        return np.where(np.isfinite(log_s), u, np.nan), z, delta

    def evaluate(self, x, p):
        Linf, L0, a, b, c = cols(p, 5)
        u, _, delta = self._fraction(x, Linf, L0, a, b, c)
        return Linf + delta * u

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        Linf, L0, a, b, c = np.asarray(p, dtype=float)
        u, z, delta = self._fraction(x, Linf, L0, a, b, c)
        L = Linf + delta * u
        # F(L, p) = log(L − L∞) − α log(L0 − L) − log β + c log x = 0;  dL/dp = −F_p / F_L
        # with L − L∞ = Δu and L0 − L = Δ(1 − u), written through z to keep the tails exact
        log_u = -_softplus(-z)
        log_1mu = -_softplus(z)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inv_lo = np.exp(-log_u) / delta       # 1/(L − L∞)
            inv_hi = np.exp(-log_1mu) / delta     # 1/(L0 − L)
            FL = inv_lo + a * inv_hi
            J = np.column_stack([
                inv_lo / FL,                                  # L∞
                a * inv_hi / FL,                              # L0
                (np.log(delta) + log_1mu) / FL,               # α
                np.full_like(L, 1.0 / b) / FL,                # β
                -np.log(x[self.var]) / FL,                    # c
            ])
        return L, J


__all__ = ["M4"]
