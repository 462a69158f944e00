"""Objectives: the per-point loss ρ applied to residuals in log or linear space.

Residual convention: ``r = log(pred) − log(obs)`` (``space="log"``) or ``pred − obs``
(``space="linear"``); positive r means the law over-predicts.

* ``loss="huber"``: ρ(r) = r²/2 for |r| ≤ δ, δ(|r| − δ/2) beyond (``scipy.special.huber``);
  the default δ = 1e-3 on log loss is Hoffmann et al.'s choice.
* ``loss="l2"``: ρ(r) = r²/2 (least squares).

The objective is the weighted SUM Σ wᵢ·ρ(rᵢ) (not the mean: L-BFGS stops early on a tiny
mean objective, which is what produced the published Chinchilla numbers).  With
``overpredict = κ > 0`` residuals with r > 0 weigh (1 + κ) times as much.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ScalelawError


@dataclass(frozen=True)
class Objective:
    loss: str = "huber"
    delta: float = 1e-3
    space: str = "log"
    overpredict: float = 0.0

    def __post_init__(self):
        if self.loss not in ("huber", "l2"):
            raise ScalelawError(f"unknown objective {self.loss!r}; use 'huber' or 'l2'")
        if self.space not in ("log", "linear"):
            raise ScalelawError(f"unknown space {self.space!r}; use 'log' or 'linear'")
        if not self.delta > 0:
            raise ScalelawError(f"Huber delta must be > 0, got {self.delta}")
        if self.overpredict < 0:
            raise ScalelawError(f"overpredict penalty must be >= 0, got {self.overpredict}")

    # residuals -------------------------------------------------------------------------
    def residual(self, pred, y, logy=None):
        """Residuals and d r / d pred.  Non-positive predictions in log space give r = +inf."""
        if self.space == "log":
            if logy is not None and pred.ndim == 1 and pred.min() > 0:   # fast path
                return np.log(pred) - logy, 1.0 / pred
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = pred > 0
                r = np.where(ok, np.log(np.where(ok, pred, 1.0)) - np.log(y), np.inf)
                d = np.where(ok, 1.0 / np.where(ok, pred, 1.0), 0.0)
            return r, d
        return pred - y, np.ones_like(pred)

    # ρ and its derivatives -------------------------------------------------------------
    def _scale(self, r):
        if self.overpredict:
            return np.where(r > 0, 1.0 + self.overpredict, 1.0)
        return 1.0

    def rho(self, r):
        a = np.abs(r)
        if self.loss == "huber":
            d = self.delta
            m = np.minimum(a, d)          # = huber: m*(a - m/2)
            v = m * (a - 0.5 * m)
        else:
            v = 0.5 * r * r
        return v * self._scale(r)

    def psi(self, r):
        """dρ/dr."""
        if self.loss == "huber":
            v = np.clip(r, -self.delta, self.delta)
        else:
            v = r
        return v * self._scale(r)

    def psi_prime(self, r):
        """d²ρ/dr² (0 outside the Huber quadratic zone)."""
        if self.loss == "huber":
            v = (np.abs(r) <= self.delta).astype(float)
        else:
            v = np.ones_like(r)
        return v * self._scale(r)

    def irls_weight(self, r):
        """ψ(r)/r: the weight of each point in iteratively reweighted least squares."""
        if self.loss == "huber":
            a = np.maximum(np.abs(r), 1e-300)
            v = np.minimum(1.0, self.delta / a)
        else:
            v = np.ones_like(r)
        return v * self._scale(r)

    def value(self, pred, y, w):
        """Σ w ρ(r) along the last axis (batched predictions allowed)."""
        r, _ = self.residual(pred, y)
        with np.errstate(invalid="ignore"):
            v = np.sum(w * self.rho(r), axis=-1)
        return np.where(np.isfinite(v), v, np.inf)

    def describe(self) -> str:
        s = f"{'Huber(delta=%g)' % self.delta if self.loss == 'huber' else 'squared error'} on {self.space} {'residuals'}"
        if self.overpredict:
            s += f", over-prediction weighted x{1 + self.overpredict:g}"
        return s

    def to_dict(self):
        return {"loss": self.loss, "delta": self.delta, "space": self.space,
                "overpredict": self.overpredict}


def dof(n: int, n_estimated: int) -> int:
    """Residual degrees of freedom: observations minus estimated parameters (free and
    anchored; fixed ones do not count).  The one definition every estimate uses."""
    return int(n) - int(n_estimated)
