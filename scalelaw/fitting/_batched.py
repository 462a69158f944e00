"""Batched bootstrap refits: every resample of a chunk refitted at once (private).

The per-resample path (:func:`scalelaw.fitting.uncertainty._refit_chunk`) builds a
:class:`~scalelaw.fitting.engine.Problem` per resample and polishes it (Levenberg-Marquardt,
then L-BFGS-B) from the full-data optimum, then scores a coarse grid to catch another basin.
Here the same objective (the problem's: Huber or squared error, same δ, log or linear
residuals, same bounds and fixed values) is minimised for all resamples together:

1. **Levenberg-Marquardt, vectorised over resamples**, as the engine's
   (:meth:`Problem.gauss_newton`) but with ρ's own curvature: each step solves
   (JᵀΩJ + μ·D) Δ = −Jᵀwψ(r) with Ω = w·ψ′(r) (Gauss-Newton on the exact objective; the
   engine's Ω = w·ψ(r)/r majorizes Huber but converges only linearly for a small δ, where
   most residuals lie outside ±δ: 90 Jacobians per Chinchilla resample against 17 here),
   D the diagonal of the majorizer's matrix (the scaling; positive where ψ′ vanishes), on
   the fit scale (log for scale parameters), parameters on a bound whose descent points
   outward held there, a step accepted only where the exact objective decreases, μ adapted
   per resample (the trust region that makes the undamped Newton step safe).  A resample
   stops when its relative decrease falls below :data:`RTOL` (tighter than the polish's
   1e-10, since no L-BFGS-B follows), when no damped step decreases it, or at
   :data:`MAX_ITER` iterations.  The Jacobian is the law's analytic one
   (:func:`~scalelaw.fitting.engine.law_jacobian`: central differences where it has none),
   one call per resample; predictions and objective values are batched calls.
2. **Another basin.**  The coarse grid of the per-resample path (the same points, their
   linear coefficients solved once on the full data) is scored on every resample's data
   in one matrix product.  These scores are upper bounds of each grid point's best value
   on the resample (its linear coefficients are not re-solved), so where the best grid
   point lies elsewhere (by the per-resample path's 5% criterion) and scores within
   :data:`GRID_RATIO` of the warm-started optimum (looser than the per-resample path's
   1.05, to make up for the bound), the resample is refitted from that grid point too
   (again batched) and the lower end point wins.
3. **Fall-back.**  A resample that reaches the iteration limit, whose start or end is not
   finite, or that stopped without converging (a step along the scaled gradient would
   still decrease its objective by more than :data:`DTOL` relative: the iteration stalled
   in a flat, curved valley, as on the broken-power laws), is refitted by the
   per-resample polish.

Every resample's arithmetic is its own (per-resample matrix products and solves, row-wise
sums), so a draw does not depend on which other resamples share its batch: the draws are
the same serially, in chunks, on worker processes or a pool.

Used for every law not marked ``costly`` or ``batched = False`` and without an anchor stage;
costly laws (the multi-power law) and the broken power laws keep the per-resample path.
"""
from __future__ import annotations

import numpy as np

from .engine import law_jacobian

#: Levenberg-Marquardt iteration limit per resample (the engine's default)
MAX_ITER = 200
#: relative objective decrease below which a resample's iteration stops
RTOL = 1e-12
#: a stopped resample counts as converged only if a scaled gradient step would gain less than
#: DTOL relative (:meth:`_Batch.decrement`); at Chinchilla's optima it is below 1e-15, where
#: the iteration stalls in a flat valley (the broken-power laws) 1e-7 and more
DTOL = 1e-10
#: a grid point scoring below GRID_RATIO × the warm-started optimum (and lying elsewhere)
#: gets a refit of its own
GRID_RATIO = 1.10
#: resamples × grid points × observations per block when scoring the grid on replaced y
_BLOCK_ELEMS = 2_000_000
MU0 = 1e-6
MU_DOWN = 10


def applies(problem) -> bool:
    """Whether :func:`refit` handles this problem: a law not marked ``costly`` and not
    opted out (``batched = False``: the broken power laws), no anchored parameters (their
    anchor stage is re-solved per resample) and something free to fit."""
    return (not getattr(problem.law, "costly", False) and getattr(problem.law, "batched", True)
            and not problem.anchored and bool(problem.free_mask.any()))


def grid_points(problem, grid) -> tuple[np.ndarray, np.ndarray]:
    """The coarse ``grid``'s points as full parameter vectors (linear coefficients solved on
    the full data, as :meth:`Problem.search` does) and their predictions ``(G, n)``; points
    with non-finite predictions left out."""
    import itertools
    need, axes, use_basis = problem.grid(grid)
    names = problem.law.param_names
    if not axes:
        return np.zeros((0, problem.k)), np.zeros((0, problem.n))
    pts = np.array(list(itertools.product(*axes)), dtype=float)
    P = np.broadcast_to(problem.base, (len(pts), problem.k)).copy()
    for j, p in enumerate(need):
        P[:, names.index(p)] = pts[:, j]
    for p in problem.free_names:
        if p not in need:
            P[:, names.index(p)] = 1.0
    with np.errstate(all="ignore"):
        if use_basis:
            P = problem._solve_linear(P)
        pred = np.asarray(problem.predict(P), dtype=float).reshape(len(P), problem.n)
    ok = np.all(np.isfinite(pred), axis=1) & np.all(np.isfinite(P), axis=1)
    if problem.obj.space == "log":
        ok &= np.all(pred > 0, axis=1)
    return P[ok], pred[ok]


class _Batch:
    """One chunk's resamples: weights ``W`` (R, n) and observations ``Y`` (R, n) or (n,)."""

    def __init__(self, problem, W, Y):
        self.pr = problem
        self.obj = problem.obj
        self.W = W
        self.Y = Y
        self.log = problem.obj.space == "log"
        with np.errstate(divide="ignore", invalid="ignore"):
            self.FY = np.log(Y) if self.log else np.asarray(Y, dtype=float)
        _, self.lo, self.hi = problem._u_box()
        self.lg = problem.is_log[problem.free_mask]
        self.free = problem.free_mask

    def _rows(self, A, idx):
        return A[idx] if A.ndim == 2 else A

    def residual(self, pred, idx):
        """Residuals on the fit scale and d r / d pred for the resamples ``idx``."""
        fy = self._rows(self.FY, idx)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = pred > 0
                safe = np.where(ok, pred, 1.0)
                return np.where(ok, np.log(safe) - fy, np.inf), np.where(ok, 1.0 / safe, 0.0)
        return pred - fy, np.ones_like(pred)

    def value(self, U, idx):
        """Σ w ρ(r) for the resamples ``idx`` at fit-scale parameters ``U`` (m, kf)."""
        P = self.pr.to_p(U)
        with np.errstate(all="ignore"):
            pred = np.asarray(self.pr.law.evaluate(self.pr.x, P), dtype=float).reshape(len(U), -1)
            r, _ = self.residual(pred, idx)
            v = np.sum(self.W[idx] * self.obj.rho(r), axis=-1)
        return np.where(np.isfinite(v), v, np.inf)

    def jacobian(self, U, idx):
        """Residuals (m, n) and d r / d u (m, n, kf) at ``U`` (one law call per resample)."""
        P = self.pr.to_p(U)
        law, x = self.pr.law, self.pr.x
        m = len(U)
        pred = np.empty((m, self.pr.n))
        J = np.empty((m, self.pr.n, self.pr.k))
        with np.errstate(all="ignore"):
            for i in range(m):
                f, j = law.evaluate_with_jacobian(x, P[i])
                pred[i] = f
                J[i] = law_jacobian(law, x, P[i]) if j is None else j
            r, drdf = self.residual(pred, idx)
            Ju = J[:, :, self.free] * drdf[:, :, None]
            Ju = np.where(self.lg, Ju * P[:, None, self.free], Ju)
        return r, Ju

    def lm(self, U):
        """Levenberg-Marquardt from ``U`` (R, kf) for every resample; returns the end points,
        their objective values and whether each stopped by its own criterion."""
        R, k = U.shape
        U = np.clip(U, self.lo, self.hi)
        idx_all = np.arange(R)
        F = self.value(U, idx_all)
        mu = np.full(R, MU0)
        done = ~np.isfinite(F)
        ok = np.isfinite(F)
        eye = np.eye(k)
        for _ in range(MAX_ITER):
            act = np.flatnonzero(~done)
            if not len(act):
                break
            r, J = self.jacobian(U[act], act)
            w = self.W[act]
            bad = ~np.all(np.isfinite(J), axis=(1, 2)) | ~np.all(np.isfinite(r), axis=1)
            r = np.where(np.isfinite(r), r, 0.0)
            Jt = J.transpose(0, 2, 1)
            Hm = (Jt * (w * self.obj.irls_weight(r))[:, None, :]) @ J   # majorizer's
            H = (Jt * (w * self.obj.psi_prime(r))[:, None, :]) @ J      # ρ's own curvature
            g = (Jt @ (w * self.obj.psi(r))[:, :, None])[:, :, 0]
            u = U[act]
            held = ((u <= self.lo) & (g > 0)) | ((u >= self.hi) & (g < 0))
            corner = np.all(held, axis=1)
            dg = np.sqrt(np.maximum(np.einsum("rii->ri", Hm), 1e-300))
            Hs = H / dg[:, :, None] / dg[:, None, :]
            hm = held[:, :, None] | held[:, None, :]
            Hs = np.where(hm, 0.0, Hs) + held[:, :, None] * eye
            rhs = np.where(held, 0.0, g / dg)
            m_act = mu[act]
            accepted = np.zeros(len(act), dtype=bool)
            un = u.copy()
            fn = F[act].copy()
            pend = np.flatnonzero(~corner & ~bad)
            for _ in range(12):
                if not len(pend):
                    break
                A = Hs[pend] + m_act[pend, None, None] * eye
                step = _solve(A, rhs[pend])
                good = np.all(np.isfinite(step), axis=1)
                step = np.where(good[:, None], -step / dg[pend], 0.0)
                trial = np.clip(u[pend] + step, self.lo, self.hi)
                ft = self.value(trial, act[pend])
                acc = good & (ft < F[act[pend]])
                un[pend[acc]] = trial[acc]
                fn[pend[acc]] = ft[acc]
                accepted[pend[acc]] = True
                m_act[pend[~acc]] *= 10
                pend = pend[~acc]
            gain = (F[act] - fn) / np.maximum(np.abs(F[act]), 1e-300)
            U[act] = np.where(accepted[:, None], un, u)
            F[act] = np.where(accepted, fn, F[act])
            mu[act] = np.where(accepted, np.maximum(m_act / MU_DOWN, 1e-12), m_act)
            stop = corner | ~accepted | (accepted & (gain < RTOL))
            ok[act[bad]] = False
            done[act[stop | bad]] = True
        ok &= done   # still iterating at the limit: not converged
        idx = np.flatnonzero(ok)
        if len(idx):   # stalled rather than converged: a diagonal step would still gain
            ok[idx] = self.decrement(U[idx], idx) <= DTOL * np.maximum(np.abs(F[idx]), 1e-300)
        return U, F, ok

    def decrement(self, U, idx):
        """Σ gᵢ²/Dᵢ at ``U``: the objective decrease a step along the scaled projected
        gradient promises (g the gradient on the fit scale, zero where a bound holds the
        parameter; D the majorizer's diagonal).  Invariant to the parameters' scales."""
        r, J = self.jacobian(U, idx)
        w = self.W[idx]
        if not (np.all(np.isfinite(J)) and np.all(np.isfinite(r))):
            bad = ~np.all(np.isfinite(J), axis=(1, 2)) | ~np.all(np.isfinite(r), axis=1)
            J = np.where(np.isfinite(J), J, 0.0)
            r = np.where(np.isfinite(r), r, 0.0)
        else:
            bad = np.zeros(len(idx), dtype=bool)
        g = (J.transpose(0, 2, 1) @ (w * self.obj.psi(r))[:, :, None])[:, :, 0]
        d = np.einsum("rni,rn,rni->ri", J, w * self.obj.irls_weight(r), J)
        held = ((U <= self.lo) & (g > 0)) | ((U >= self.hi) & (g < 0))
        g = np.where(held, 0.0, g)
        out = np.sum(g * g / np.maximum(d, 1e-300), axis=1)
        return np.where(bad, np.inf, out)


def _solve(A, b):
    """Solve each (k, k) system; rows whose matrix is singular get NaN."""
    try:
        return np.linalg.solve(A, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(len(A)):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out


def _grid_scores(batch: _Batch, pred_g: np.ndarray) -> np.ndarray:
    """(R, G): every grid point's objective on every resample's data (its linear
    coefficients as solved on the full data)."""
    R, G = len(batch.W), len(pred_g)
    if batch.FY.ndim == 1:   # same observations, resampled weights: one product
        r, _ = batch.residual(pred_g, None)
        with np.errstate(invalid="ignore"):
            rho = batch.obj.rho(r)
        rho = np.where(np.isfinite(rho), rho, np.inf)
        finite = np.all(np.isfinite(rho), axis=1)
        rho = np.where(finite[:, None], rho, 0.0)
        # row by row (a matrix-vector product each): a resample's scores do not depend on
        # the others in its batch
        out = (batch.W[:, None, :] @ rho.T[None, :, :])[:, 0, :]
        return np.where(finite[None, :], out, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        fp = np.log(pred_g) if batch.log else pred_g
    out = np.empty((R, G))
    step = max(1, _BLOCK_ELEMS // max(1, G * batch.FY.shape[1]))
    for s in range(0, R, step):
        r = fp[None, :, :] - batch.FY[s:s + step, None, :]
        with np.errstate(invalid="ignore"):
            v = np.sum(batch.W[s:s + step, None, :] * batch.obj.rho(r), axis=-1)
        out[s:s + step] = np.where(np.isfinite(v), v, np.inf)
    return out


def refit(problem, p0, W, Y, grid_P, grid_pred, fallback):
    """Refit all resamples (weights ``W`` (R, n); observations ``Y``: (R, n) per resample or
    (n,) shared) of ``problem``'s objective from ``p0``; returns the (R, k) end points.

    ``grid_P``, ``grid_pred``: the coarse grid (:func:`grid_points`).  ``fallback(i)``: the
    per-resample refit of resample ``i`` (used where the batched iteration does not
    converge)."""
    pr = problem
    R = len(W)
    batch = _Batch(pr, W, Y)
    u0 = np.clip(pr.to_u(np.asarray(p0, dtype=float)), batch.lo, batch.hi)
    U, F, ok = batch.lm(np.repeat(u0[None, :], R, axis=0))
    if len(grid_P):
        S = _grid_scores(batch, grid_pred)
        best = np.argmin(S, axis=1)
        sb = S[np.arange(R), best]
        gu = pr.to_u(grid_P)[best]
        far = ~np.all(np.abs(gu - U) <= 0.05 + 0.05 * np.abs(U), axis=1)   # np.allclose, per row
        cand = np.flatnonzero(ok & far & (sb < GRID_RATIO * F))
        if len(cand):
            bg = _Batch(pr, W[cand], Y[cand] if np.ndim(Y) == 2 else Y)
            Uq, Fq, okq = bg.lm(np.clip(gu[cand], batch.lo, batch.hi))
            take = okq & (Fq < F[cand])
            U[cand[take]] = Uq[take]
            F[cand[take]] = Fq[take]
    out = pr.to_p(U)
    for i in np.flatnonzero(~ok):
        out[i] = fallback(i)
    refit.last_fallbacks = int((~ok).sum())
    return out


refit.last_fallbacks = 0
