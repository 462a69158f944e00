"""The momentum law and its relatives (Tissue et al. 2024): loss from the LR history's
forward area S1 and annealing area S2 (REFERENCE §5).

* :class:`MomentumLaw`  ``L0 + A·S1^−α − C·S2`` (warmup steps counted at ``η_max``; ``λ``
  fixed (default 0.999) or fitted with ``fit_lambda=True``).
* :class:`MomentumSizeLaw`  ``L0 + A·S1^−α + B·N^−β − C·S2·N^γ``.
* :class:`S1PowerLaw`  ``L0 + A·S1^−α`` (no-annealing baseline, momentum warmup convention).

S1 in LR·steps; parameters in the order of ``param_names``.
"""
from __future__ import annotations

import numpy as np

from ..errors import ScalelawError
from ..schedules import momentum_lrs, s1_area, s2_momentum
from .curves import INF, CurveLaw, _power_part

class MomentumLaw(CurveLaw):
    """``L(s) = L0 + A·S1(s)^−α − C·S2(s)`` (Tissue et al. 2024).

    ``S1(s) = Σ_{i=1..s} η_i``; ``S2`` from the momentum ``m_i = λ·m_{i−1} + (η_{i−1} − η_i)``
    (``m_1 = 0``); during warmup (steps ``1..W``, ``W`` from the ``warmup`` option or detected
    as the initial rise of the LR) the LR counts as ``η_max``.  ``λ`` is fixed (``lam``,
    default 0.999) unless ``fit_lambda=True`` adds the parameter ``lam``.
    """

    name = "momentum"
    formula = "L0 + A*S1^-alpha - C*S2"
    linear_params = ("L0", "A", "C")
    log_params = ("A",)
    conventions = ("tissue", "actual")
    auto_conventions = ("tissue", "actual")

    def __init__(self, lam: float = 0.999, fit_lambda: bool = False, warmup: int | None = None,
                 schedule: str | None = None, convention: str = "tissue"):
        if convention not in ("tissue", "actual"):
            raise ScalelawError(f"momentum convention must be 'tissue' or 'actual', not {convention!r}")
        self.convention = convention
        self.lam = float(lam)
        self.fit_lambda = bool(fit_lambda)
        if not 0 < self.lam < 1:
            raise ScalelawError(f"lam must be in (0, 1), got {lam}")
        self.param_names = ("L0", "A", "alpha", "C") + (("lam",) if self.fit_lambda else ())
        super().__init__(warmup, schedule)

    def config(self) -> dict:
        c = super().config()
        c["lam"] = self.lam
        if self.fit_lambda:
            c["fit_lambda"] = True
        if self.convention != "tissue":
            c["convention"] = self.convention
        return c

    def _lrs(self, r):
        """Per-step LRs the areas are computed from: Tissue et al.'s convention counts the
        warmup at η_max; ``convention='actual'`` uses the real LR, ramp included."""
        if self.convention == "actual":
            return np.asarray(r.eta, dtype=float), r.warmup
        return momentum_lrs(r.eta, r.warmup)

    def default_bounds(self):
        b = {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "C": (0.0, INF)}
        if self.fit_lambda:
            b["lam"] = (0.9, 0.99999)
        return b

    def default_grid(self):
        # α of loss-vs-area power laws sits in (0.1, 1.5); λ spans the published 0.99–0.999
        g = {"alpha": [0.2, 0.4, 0.7, 1.0, 1.5]}
        if self.fit_lambda:
            g["lam"] = [0.99, 0.995, 0.999]
        return g

    def features(self, runs):
        S1, S2, st = [], [], []
        for r in runs:
            e, W = self._lrs(r)
            r.cache["eta_m"] = e
            a1 = s1_area(e)
            _, a2 = s2_momentum(e, self.lam)
            S1.append(a1[r.steps])
            S2.append(a2[r.steps])
            st.append(r.steps.astype(float))
        x = {"S1": np.concatenate(S1), "S2": np.concatenate(S2), "step": np.concatenate(st),
             "_runs": runs}
        return x

    def _s2(self, x, lam, deriv: bool = False):
        """S2 at the design rows for a given λ (and dS2/dλ with ``deriv``)."""
        out = np.empty(len(x["S1"]))
        der = np.empty(len(x["S1"])) if deriv else None
        from scipy.signal import lfilter
        for r in x["_runs"]:
            m, s2 = s2_momentum(r.cache["eta_m"], lam)
            out[r.rows] = s2[r.steps]
            if deriv:
                dm = lfilter([1.0], [1.0, -lam], np.r_[0.0, m[:-1]])
                der[r.rows] = np.cumsum(dm)[r.steps]
        return out, der

    def _S2_for(self, x, p):
        if self.fit_lambda:
            return self._s2(x, float(p[4]))[0]
        return x["S2"]

    def basis(self, x, p):
        def one(x, q):
            S2 = self._S2_for(x, q)
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2], -S2], axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return q[0] + q[1] * x["S1"] ** -q[2] - q[3] * self._S2_for(x, q)
        return self._batched(x, p, one)

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        """Prediction and Jacobian sharing one S2 filter pass (and dS2/dλ when λ is fitted)."""
        p = np.asarray(p, dtype=float)
        power, cols_ = _power_part(x["S1"], p[0], p[1], p[2])
        if self.fit_lambda:
            S2, dS2 = self._s2(x, float(p[4]), deriv=True)
            cols_ += [-S2, -p[3] * dS2]
        else:
            S2 = x["S2"]
            cols_ += [-S2]
        return power - p[3] * S2, np.stack(cols_, axis=-1)


class S1PowerLaw(MomentumLaw):
    """``L(s) = L0 + A·S1(s)^−α``: the no-annealing baseline (S1 as in the momentum law)."""

    name = "s1power"
    formula = "L0 + A*S1^-alpha"
    linear_params = ("L0", "A")

    def __init__(self, warmup: int | None = None, schedule: str | None = None,
                 convention: str = "tissue"):
        super().__init__(warmup=warmup, schedule=schedule, convention=convention)
        self.param_names = ("L0", "A", "alpha")
        self.bounds = {k: v for k, v in self.bounds.items() if k in self.param_names}

    def config(self) -> dict:
        c = CurveLaw.config(self)
        if self.convention != "tissue":
            c["convention"] = self.convention
        return c

    def basis(self, x, p):
        def one(x, q):
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2]], axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return q[0] + q[1] * x["S1"] ** -q[2]
        return self._batched(x, p, one)

    def evaluate_with_jacobian(self, x, p):   # not the momentum law's shared pass
        return self.evaluate(x, p), self.jacobian(x, p)

    def jacobian(self, x, p):
        p = np.asarray(p, dtype=float)
        t = x["S1"] ** -p[2]
        return np.stack([np.ones_like(t), t, -p[1] * t * np.log(x["S1"])], axis=-1)


class MomentumSizeLaw(MomentumLaw):
    """``L(s, N) = L0 + A·S1^−α + B·N^−β − C·S2·N^γ`` (Tissue et al. 2024, with model size N
    in parameters, one N per run)."""

    name = "momentum_n"
    variables = ("step", "lr", "N")
    formula = "L0 + A*S1^-alpha + B*N^-beta - C*S2*N^gamma"
    linear_params = ("L0", "A", "B", "C")
    log_params = ("A", "B")
    _need_N = True

    def __init__(self, lam: float = 0.999, warmup: int | None = None, schedule: str | None = None,
                 convention: str = "tissue"):
        super().__init__(lam=lam, fit_lambda=False, warmup=warmup, schedule=schedule,
                         convention=convention)
        self.param_names = ("L0", "A", "alpha", "B", "beta", "C", "gamma")
        self.bounds = dict(self.default_bounds())
        self.start_grid = {k: np.asarray(v, dtype=float) for k, v in self.default_grid().items()}

    def config(self):
        c = CurveLaw.config(self)
        c["lam"] = self.lam
        if self.convention != "tissue":
            c["convention"] = self.convention
        return c

    def default_bounds(self):
        return {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "B": (0.0, INF),
                "beta": (1e-3, 2.0), "C": (0.0, INF), "gamma": (-1.0, 1.0)}

    def default_grid(self):
        return {"alpha": [0.3, 0.6, 1.0], "beta": [0.1, 0.3, 0.6], "gamma": [-0.3, 0.0, 0.3]}

    def features(self, runs):
        x = super().features(runs)
        x["N"] = np.concatenate([np.full(len(r.steps), r.N) for r in runs])
        return x

    def basis(self, x, p):
        def one(x, q):
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2], x["N"] ** -q[4],
                             -x["S2"] * x["N"] ** q[6]], axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return (q[0] + q[1] * x["S1"] ** -q[2] + q[3] * x["N"] ** -q[4]
                    - q[5] * x["S2"] * x["N"] ** q[6])
        return self._batched(x, p, one)

    def evaluate_with_jacobian(self, x, p):   # not the momentum law's shared pass
        return self.evaluate(x, p), self.jacobian(x, p)

    def jacobian(self, x, p):
        p = np.asarray(p, dtype=float)
        S1, N, S2 = x["S1"], x["N"], x["S2"]
        t1, t2, t3 = S1 ** -p[2], N ** -p[4], S2 * N ** p[6]
        return np.stack([np.ones_like(S1), t1, -p[1] * t1 * np.log(S1), t2, -p[3] * t2 * np.log(N),
                         -t3, -p[5] * t3 * np.log(N)], axis=-1)



__all__ = ["MomentumLaw", "MomentumSizeLaw", "S1PowerLaw"]
