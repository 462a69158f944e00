"""The data-constrained scaling law of Muennighoff et al. 2023 (REFERENCE §10).

``L = E + A/N'^α + B/D'^β``: the Chinchilla form in *effective* parameters ``N'`` and
*effective* data ``D'`` when the training tokens repeat a smaller pool of unique tokens.

Variables (canonical columns): ``N`` parameters (total, Chinchilla's convention), ``D``
training tokens (all epochs), ``U`` unique tokens in the pool the run draws from.  Loss in
nats per token.

Effective data, with ``U_D = min(U, D)`` the unique tokens seen and ``R_D = D/U_D − 1`` the
repetitions beyond the first epoch::

    D' = U_D + U_D·R*_D·(1 − exp(−R_D/R*_D))

Effective parameters, with ``U_N = min(N, U_D/r)`` the parameter count compute-optimal for
``U_D`` unique tokens at ``r`` tokens per parameter (``tokens_per_param``, default 20) and
``R_N = N/U_N − 1`` the excess of parameters beyond it::

    N' = U_N + U_N·R*_N·(1 − exp(−R_N/R*_N))

``R*_D`` (``R_D_star``) is the number of repetitions after which repeated data is worth
``1 − 1/e`` of what it can ever add; ``R*_N`` (``R_N_star``) the same for excess parameters.
Muennighoff et al. fit ``R*_D ≈ 15.4``, ``R*_N ≈ 5.3``.

The convention for ``U_N``: Muennighoff et al. take ``U_N = min(N, N_opt(U_D))`` with
``N_opt`` from their Chinchilla-form allocation.  With equal exponents (their fit has
``α = β = 0.353``) that allocation is a constant ratio of tokens to parameters (19.6 for their
coefficients), so a fixed ``r`` is their convention; holding it fixed rather than tying it to
the fitted ``A, B, α, β`` keeps ``E, A, B`` linear (variable projection) and the law
identifiable.  ``R*_D`` is identified only by runs with ``D > U`` (repeated data) and ``R*_N``
only by runs with ``N > U_D/r``; without such runs a fit puts them on a bound, and the results
say so.  When ``U ≥ D`` and ``N ≤ D/r`` everywhere the law is the Chinchilla law.
"""
from __future__ import annotations

import numpy as np

from ..errors import ScalelawError
from .base import INF, Design, Law, cols
from .scaling import _EXPONENTS


def _effective(u, R, Rstar):
    """``u + u·R*·(1 − exp(−R/R*))`` and its derivative with respect to ``R*``."""
    z = R / Rstar
    e = np.exp(-z)
    one_minus = -np.expm1(-z)
    return u * (1.0 + Rstar * one_minus), u * (one_minus - z * e)


class DataConstrained(Law):
    """``E + A/N'^α + B/D'^β`` with effective data and parameters under repetition
    (Muennighoff et al. 2023).  See the module docstring for ``N'``, ``D'`` and the
    ``tokens_per_param`` convention for ``U_N``."""

    name = "data_constrained"
    variables = ("N", "D", "U")
    param_names = ("E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star")
    formula = "E + A/Neff**alpha + B/Deff**beta"
    linear_params = ("E", "A", "B")
    log_params = ("E", "A", "B", "R_D_star", "R_N_star")
    #: all runs may repeat one pool of unique tokens
    may_be_constant = ("U",)

    def __init__(self, tokens_per_param: float = 20.0):
        r = float(tokens_per_param)
        if not (np.isfinite(r) and r > 0):
            raise ScalelawError(f"tokens_per_param must be a positive number, not {tokens_per_param!r}")
        self.tokens_per_param = r
        super().__init__()

    def config(self):
        return {"tokens_per_param": self.tokens_per_param}

    def default_bounds(self):
        return {"E": (0.0, INF), "A": (0.0, INF), "B": (0.0, INF),
                "alpha": (0.0, 10.0), "beta": (0.0, 10.0),
                "R_D_star": (0.01, 1e4), "R_N_star": (0.01, 1e4)}

    def default_grid(self):
        return {"alpha": _EXPONENTS[::3], "beta": _EXPONENTS[::3],
                "R_D_star": [1.0, 4.0, 15.0, 60.0, 300.0], "R_N_star": [1.0, 5.0, 25.0, 200.0]}

    def prepare(self, frame, target="y"):
        d = super().prepare(frame, target)
        x = d.x
        for v in self.variables:
            if np.any(~(x[v] > 0)):
                raise ScalelawError(f"law {self.name} needs {v} > 0 (U: unique tokens in the pool); "
                                    f"{int(np.sum(~(x[v] > 0)))} row(s) are not")
        UD = np.minimum(x["U"], x["D"])
        UN = np.minimum(x["N"], UD / self.tokens_per_param)
        x["_UD"], x["_RD"] = UD, x["D"] / UD - 1.0
        x["_UN"], x["_RN"] = UN, x["N"] / UN - 1.0
        return Design(x=x, y=d.y, groups=d.groups, info=d.info)

    def _derived(self, x):
        if "_UD" not in x:   # inputs built without prepare
            x = self.prepare(dict(x), target=None).x
        return x

    def effective(self, x, R_D_star, R_N_star):
        """``(N', D')`` for prepared inputs ``x`` and the two repetition constants."""
        x = self._derived(x)
        Np, _ = _effective(x["_UN"], x["_RN"], R_N_star)
        Dp, _ = _effective(x["_UD"], x["_RD"], R_D_star)
        return Np, Dp

    def basis(self, x, p):
        E, A, B, a, b, rd, rn = cols(p, 7)
        Np, Dp = self.effective(x, rd, rn)
        tn = np.exp(-a * np.log(Np))
        td = np.exp(-b * np.log(Dp))
        tn, td = np.broadcast_arrays(tn, td)
        return np.stack([np.ones_like(tn), tn, td], axis=-1)

    def evaluate(self, x, p):
        E, A, B, a, b, rd, rn = cols(p, 7)
        Np, Dp = self.effective(x, rd, rn)
        return E + A * np.exp(-a * np.log(Np)) + B * np.exp(-b * np.log(Dp))

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        E, A, B, a, b, rd, rn = np.asarray(p, dtype=float)
        x = self._derived(x)
        Np, dNp = _effective(x["_UN"], x["_RN"], rn)
        Dp, dDp = _effective(x["_UD"], x["_RD"], rd)
        lN, lD = np.log(Np), np.log(Dp)
        tn, td = np.exp(-a * lN), np.exp(-b * lD)
        J = np.empty((len(lN), 7))
        J[:, 0] = 1.0
        J[:, 1] = tn
        J[:, 2] = td
        J[:, 3] = -A * tn * lN
        J[:, 4] = -B * td * lD
        J[:, 5] = -b * B * td / Dp * dDp
        J[:, 6] = -a * A * tn / Np * dNp
        return E + A * tn + B * td, J


__all__ = ["DataConstrained"]
