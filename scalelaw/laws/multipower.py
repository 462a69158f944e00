"""The multi-power law (Luo et al. 2025) and its loss-drop kernel (REFERENCE §6).

``L(t) = L0 + A·(S1(t) + S_W)^−α − LD(t)``; the LD sum is evaluated exactly on the steps
where the LR changes, vectorized and chunked (:func:`ld_terms`; :func:`ld_naive` is the
O(T²) reference loop the tests compare against).
"""
from __future__ import annotations

import numpy as np

from .._blas import single_threaded_blas
from ..errors import ScalelawError
from ..schedules import warmup_area
from .base import AnchorStage, Law
from .curves import INF, CurveLaw, _power_part

#: elements per chunk of the (observations × LR changes) LD matrix
_CHUNK = 1 << 21


def ld_terms(Pt, d, eta_k, Pkm1, C, beta, gamma, jac=False, dtype=np.float64, cache=None):
    """``Σ_k d_k·G(η_k^−γ·max(P_t − P_{k−1}, 0))`` for each ``P_t`` (vectorized, chunked).

    ``G(x) = 1 − (C·x + 1)^−β``.  Terms with ``P_{k−1} ≥ P_t`` (changes after ``t``)
    vanish, so each block of observations only touches the changes before its last step.
    With ``jac=True`` also returns the derivatives w.r.t. ``C, β, γ`` (shape ``(n, 3)``).
    ``dtype=np.float32`` evaluates the transcendental part in single precision (each term's
    absolute error stays below ~1e-7·|d_k|; sums are accumulated in double precision).
    ``cache``: a list that keeps the area blocks ``S_k(t)`` between calls (same data).
    """
    Pt = np.asarray(Pt, dtype=float)
    n, K = len(Pt), len(d)
    out = np.zeros(n)
    J = np.zeros((n, 3)) if jac else None
    if K == 0 or n == 0:
        return (out, J) if jac else out
    with np.errstate(over="ignore"):   # an LR of 0 gives η^-γ = inf: G saturates at 1
        a = np.minimum(np.maximum(eta_k, 1e-300) ** -gamma, np.finfo(dtype).max / 1e8).astype(dtype)
    loge = np.log(np.maximum(eta_k, 1e-300)) if jac else None
    C_, mb = dtype(C), dtype(-beta)
    if cache is not None and cache:
        blocks = cache
    else:
        order = np.argsort(Pt, kind="stable")
        rows = int(min(max(1, _CHUNK // K), 64))
        blocks = []
        for c0 in range(0, n, rows):
            sel = order[c0:c0 + rows]
            kmax = int(np.searchsorted(Pkm1, Pt[sel].max(), side="left"))  # P_{k-1} < P_t
            if kmax:
                blocks.append((sel, kmax, None))
        if cache is not None:
            cache.extend((sel, kmax, _areas(Pt, Pkm1, sel, kmax, dtype)) for sel, kmax, _ in blocks)
            blocks = cache
    # work buffers reused by every block: fresh multi-megabyte arrays per block cost more in
    # page faults than the arithmetic (a fit spent a third of its time in the kernel)
    if not blocks:   # every evaluated step comes before the first LR change
        return (out, J) if jac else out
    size = max(len(sel) * kmax for sel, kmax, _ in blocks)
    buf = {}

    def work(name, shape, dt=dtype):
        b = buf.get(name)
        if b is None:
            b = buf[name] = np.empty(size, dtype=dt)
        return b[:shape[0] * shape[1]].reshape(shape)

    def wide64(arr):
        """``arr`` in double precision (a reused buffer when it is single)."""
        if arr.dtype == np.float64:
            return arr
        w = work("wide", arr.shape, np.float64)
        w[...] = arr
        return w

    dkl = d * loge if jac else None
    for sel, kmax, S in blocks:
        dk = d[:kmax]
        shape = (len(sel), kmax)
        M = work("M", shape)
        if S is None:
            _areas(Pt, Pkm1, sel, kmax, dtype, out=M)
            M *= a[:kmax]
        else:
            np.multiply(S, a[:kmax], out=M)      # x = η_k^-γ·S_k(t)
        if jac:
            x = work("x", shape)
            x[...] = M
        M *= C_
        M += 1.0
        np.log(M, out=M)                         # u = log(1 + Cx)
        if jac:
            u = work("u", shape)
            u[...] = M
        M *= mb
        np.exp(M, out=M)                         # v = (1 + Cx)^-β; G = 1 - v
        out[sel] = dk.sum() - wide64(M) @ dk    # sums in double precision
        if jac:
            np.multiply(M, u, out=u)
            J[sel, 1] = wide64(u) @ dk                                     # dG/dβ
            den = work("den", shape)
            np.multiply(x, C_, out=den)
            den += 1.0
            M /= den                                                       # (1 + Cx)^(-β-1)
            M *= x
            v = wide64(M)
            J[sel, 0] = beta * (v @ dk)                                    # dG/dC
            J[sel, 2] = -(beta * C) * (v @ dkl[:kmax])                     # dG/dγ
    return (out, J) if jac else out


def _areas(Pt, Pkm1, sel, kmax, dtype, out=None):
    """``max(P_t − P_{k−1}, 0)`` for the rows ``sel`` and the first ``kmax`` changes (into
    ``out`` when given)."""
    if out is not None:
        np.subtract(Pt[sel, None], Pkm1[None, :kmax], out=out, casting="unsafe")
        return np.maximum(out, 0.0, out=out)
    S = np.subtract(Pt[sel, None], Pkm1[None, :kmax])
    np.maximum(S, 0.0, out=S)
    return S.astype(dtype, copy=False)


class _SaturatedDrop(Law):
    """The multi-power law's saturated limit (every LR decrease fully acted, G ≡ 1):
    ``L0 + A·S1^−α − B·drop`` with ``drop = Σ_k (η_{k−1} − η_k)`` over the law's LD range.
    Linear in ``L0, A, B``; only α is searched.  Used by :meth:`MultiPowerLaw.anchor_stage`."""

    name = "multipower_saturated"
    variables = ("S1", "drop")
    param_names = ("L0", "A", "alpha", "B")
    formula = "L0 + A*S1^-alpha - B*drop"
    linear_params = ("L0", "A", "B")
    log_params = ("A",)

    def default_bounds(self):
        return {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "B": (0.0, INF)}

    def default_grid(self):
        return {"alpha": np.geomspace(0.05, 2.0, 12)}

    def basis(self, x, p):
        p = np.asarray(p, dtype=float)
        t = x["S1"] ** -p[..., 2, None]
        return np.stack([np.ones_like(t), t, np.broadcast_to(-x["drop"], t.shape)], axis=-1)

    def evaluate(self, x, p):
        p = np.asarray(p, dtype=float)
        return (p[..., 0, None] + p[..., 1, None] * x["S1"] ** -p[..., 2, None]
                - p[..., 3, None] * x["drop"])

    def evaluate_with_jacobian(self, x, p):
        return self.evaluate(x, p), self.jacobian(x, p)

    def jacobian(self, x, p):
        p = np.asarray(p, dtype=float)
        power, cols_ = _power_part(x["S1"], p[0], p[1], p[2])
        return np.column_stack(cols_ + [-x["drop"]])


def ld_naive(eta, t, C, beta, gamma, k0=1):
    """Reference O(T²) loop: ``Σ_{k=k0..t} (η_{k−1} − η_k)·G(η_k^−γ·Σ_{τ=k..t} η_τ)``."""
    tot = 0.0
    for k in range(k0, t + 1):
        S = float(np.sum(eta[k:t + 1]))
        tot += (eta[k - 1] - eta[k]) * (1.0 - (C * eta[k] ** -gamma * S + 1.0) ** -beta)
    return tot


class MultiPowerLaw(CurveLaw):
    """Multi-power law (Luo et al. 2025):
    ``L(t) = L0 + A·(S1(t) + S_W)^−α − LD(t)``,
    ``LD(t) = B·Σ_k (η_{k−1} − η_k)·G(η_k^−γ·S_k(t))``, ``S_k(t) = Σ_{τ=k..t} η_τ``,
    ``G(x) = 1 − (C·x + 1)^−β``.

    ``convention='released'`` (default; the parameters published with the paper's code use
    it): ``S1 + S_W = Σ_{τ=0..t} η_τ`` over the real LR including the warmup ramp, and LD is
    summed over every step ``k = 1..t``.  ``convention='paper'``: steps counted from the end
    of warmup ``W``, ``S_W = ½·η_max·W``, LD summed over ``k > W``.  Only steps where the LR
    changes contribute to LD; the sum is evaluated exactly on those steps, vectorized.

    ``amplitude`` says how ``B`` (loss drop per unit of LR decrease once the decrease has
    fully acted, G → 1) is estimated.  ``'anchored'`` (default): first the law's saturated
    limit ``L0 + A·(S1 + S_W)^−α − B·Σ_k (η_{k−1} − η_k)`` (G ≡ 1, four parameters) is
    fitted by the same engine, then the other six parameters with that ``B`` held (see
    :meth:`anchor`; the bootstrap repeats both stages).  ``'free'``: all seven jointly, the
    exact optimum of the paper's objective.  On curves up to 24k steps B is weakly identified
    jointly (it trades against β and C: 531–7,262 across six training splits of the paper's
    25M curves) and a large B with an unsaturated G extrapolates the annealing gain far past
    the data; the saturated limit pins B (317–384 on the same splits).  docs/lr.md has the
    numbers.
    """

    name = "multipower"
    param_names = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
    formula = "L0 + A*(S1+S_W)^-alpha - B*sum_k (eta_{k-1}-eta_k)*(1-(C*eta_k^-gamma*S_k(t)+1)^-beta)"
    linear_params = ("L0", "A", "B")
    log_params = ("A", "B", "C")

    conventions = ("released", "paper")
    #: area blocks cached per run up to this many elements (memory: 4 or 8 bytes each)
    cache_elements = 20_000_000
    #: each evaluation touches every (observation, LR change) pair: polish two starts
    n_polish = 2
    costly = True

    def __init__(self, convention: str = "released", warmup: int | None = None,
                 schedule: str | None = None, precision: str = "single",
                 amplitude: str = "anchored"):
        if convention not in ("released", "paper"):
            raise ScalelawError(f"multipower convention must be 'released' or 'paper', not {convention!r}")
        if precision not in ("single", "double"):
            raise ScalelawError(f"precision must be 'single' or 'double', not {precision!r}")
        if amplitude not in ("anchored", "free"):
            raise ScalelawError(f"multipower amplitude must be 'anchored' or 'free', not {amplitude!r}")
        self.convention = convention
        self.precision = precision
        self.amplitude = amplitude
        super().__init__(warmup, schedule)

    def config(self):
        c = super().config()
        if self.convention != "released":
            c["convention"] = self.convention
        if self.precision != "single":
            c["precision"] = self.precision
        if self.amplitude != "anchored":
            c["amplitude"] = self.amplitude
        return c

    def anchor_stage(self, x, weights, fixed):
        """The stage that anchors ``B`` (``amplitude='anchored'``): the saturated limit
        :class:`_SaturatedDrop` on the same rows, solved by the engine before its search
        (with the main fit's weights, objective and any fixed ``L0, A, alpha``).  None when B
        is fixed or ``amplitude='free'``; None with a note when no run's LR changes over the
        fitted steps (B is then left to the joint fit)."""
        if self.amplitude != "anchored" or "B" in fixed:
            return None, None
        drop = np.zeros(len(x["S1"]))
        for r in x["_runs"]:
            c = r.cache
            cum = np.concatenate([[0.0], np.cumsum(c["d"])])
            drop[r.rows] = cum[np.searchsorted(c["k"], r.steps, side="right")]
        fitted = np.asarray(weights) > 0
        span = np.ptp(drop[fitted]) if fitted.any() else 0.0
        if not span > 1e-9 * max(np.max(np.abs(drop)), 1e-300):
            return None, ("B not anchored: the LR does not change over the fitted steps of any run "
                          "(B fitted jointly and weakly identified)")
        note = ("B = {B:.6g} anchored by the saturated limit G ≡ 1 "
                "(L0 + A·S1^-alpha - B·Σ LR decreases); asymptotic errors are "
                "conditional on it, the bootstrap refits both stages")
        return AnchorStage(_SaturatedDrop(), {"S1": x["S1"], "drop": drop}, ("B",), note), None

    def default_bounds(self):
        return {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "B": (0.0, INF),
                "C": (1e-6, 1e6), "beta": (1e-3, 1.0), "gamma": (1e-3, 1.0)}

    def default_grid(self):
        # β, γ ∈ (0, 1) by construction; C spans decades (log-scale parameter)
        return {"alpha": [0.3, 0.6], "C": [0.3, 3.0], "beta": [0.3, 0.7], "gamma": [0.3, 0.7]}

    def features(self, runs):
        S1, st = [], []
        for r in runs:
            eta = r.eta
            P = np.cumsum(eta)                      # P_t = Σ_{τ=0..t} η_τ
            if self.convention == "released":
                k0, base = 1, P
            else:
                W = r.warmup
                k0 = W + 1
                SW = warmup_area(eta, W)
                base = np.zeros_like(P)
                base[W:] = P[W:] - P[W] + SW       # Σ_{τ=W+1..t} η_τ + S_W
                if np.any(r.steps <= W):
                    base[: W + 1] = np.maximum(P[: W + 1], 1e-300)  # inside warmup: plain area
            d = np.zeros_like(eta)
            d[1:] = eta[:-1] - eta[1:]
            d[:k0] = 0.0
            ks = np.flatnonzero(d != 0)
            r.cache.update(P=P, k=ks, d=d[ks], eta_k=eta[ks], Pkm1=P[ks - 1] if len(ks) else ks.astype(float))
            S1.append(base[r.steps])
            st.append(r.steps.astype(float))
        return {"S1": np.concatenate(S1), "step": np.concatenate(st), "_runs": runs}

    def ld(self, x, C, beta, gamma, jac=False):
        """``Σ_k (η_{k−1} − η_k)·G(...)`` at every design row (without the factor B)."""
        n = len(x["S1"])
        out = np.zeros(n)
        J = np.zeros((n, 3)) if jac else None
        dt = np.float32 if self.precision == "single" else np.float64
        with single_threaded_blas():  # matvecs on thin blocks: threads only spin
            for r in x["_runs"]:
                c = r.cache
                key = ("blocks", dt)
                if key not in c and len(r.steps) * len(c["d"]) <= self.cache_elements:
                    c[key] = []
                res = ld_terms(c["P"][r.steps], c["d"], c["eta_k"], c["Pkm1"], C, beta, gamma,
                               jac, dt, c.get(key))
                if jac:
                    out[r.rows], J[r.rows] = res
                else:
                    out[r.rows] = res
        return (out, J) if jac else out

    def basis(self, x, p):
        def one(x, q):
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2], -self.ld(x, q[4], q[5], q[6])],
                            axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return q[0] + q[1] * x["S1"] ** -q[2] - q[3] * self.ld(x, q[4], q[5], q[6])
        return self._batched(x, p, one)

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        """Prediction and Jacobian from one pass over the LD terms."""
        p = np.asarray(p, dtype=float)
        power, cols_ = _power_part(x["S1"], p[0], p[1], p[2])
        ld, J = self.ld(x, p[4], p[5], p[6], jac=True)
        return power - p[3] * ld, np.column_stack(cols_ + [-ld, -p[3] * J[:, 0], -p[3] * J[:, 1],
                                                           -p[3] * J[:, 2]])


__all__ = ["MultiPowerLaw", "ld_terms", "ld_naive"]
