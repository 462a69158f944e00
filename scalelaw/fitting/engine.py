"""The one fitting engine: global search by variable projection, then a tight polish.

For a law with linear parameters (``E + Σ A_i·x_i^−α_i``), the prediction for fixed
nonlinear parameters is linear in the others.  The engine

1. lays a product grid over the free *nonlinear* parameters (the law's ``grid_for``,
   overridden by ``grid=`` / ``start=``) and, for every grid point at once (batched numpy),
   solves the linear parameters: a bound-respecting least-squares fit of relative errors
   (exact active-set enumeration for up to 4 coefficients) refined by a few iteratively
   reweighted Gauss-Newton steps on the true objective;
2. scores every grid point on the exact objective and polishes the best few distinct
   candidates on the full parameter vector (positive scales on a log scale): Levenberg-
   Marquardt on the iteratively reweighted objective, then L-BFGS-B with the law's
   analytic Jacobian on the SUM objective normalized to 1 at its start, at tight
   tolerance, restarting until it stops improving.

Laws without linear structure get a grid over all free parameters evaluated in one batched
call instead of step 1.
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._blas import single_threaded_blas  # noqa: F401  (re-exported for the bootstrap)
from ..errors import ScalelawError
from .objective import Objective

_MAX_GRID = 20000        # grid points kept (random subsample beyond)
_CHUNK_ELEMS = 4_000_000  # batch size limit (grid points x observations x columns)


def law_jacobian(law, x, p) -> np.ndarray:
    """d evaluate / d p, shape (n, k): the law's analytic Jacobian, else central differences
    from one batched evaluation of the 2k perturbed parameter vectors."""
    p = np.asarray(p, dtype=float)
    J = law.jacobian(x, p)
    if J is not None:
        return np.asarray(J, dtype=float)
    k = len(p)
    h = 1e-6 * np.maximum(np.abs(p), 1e-4)
    P = np.repeat(p[None, :], 2 * k, axis=0)
    idx = np.arange(k)
    P[idx, idx] += h
    P[k + idx, idx] -= h
    F = np.asarray(law.evaluate(x, P), dtype=float)
    return ((F[:k] - F[k:]) / (2 * h[:, None])).T


#: relative distance to a finite bound below which an estimate counts as on the bound
BOUND_RTOL = 1e-6


def params_at_bound(names, p, bounds, check=None, log_params=()) -> dict[str, str]:
    """``{name: "lower" | "upper"}`` for the parameters (of ``check``, default all) whose
    value in ``p`` lies on (within :data:`BOUND_RTOL` relative of) a finite bound.

    A bound of 0 counts when the value is within 1e-12 of it; for a log-scale parameter
    (``log_params``) the fit's scale cannot reach 0, and a value below 1e-200 is on it (no
    physical scale parameter is that small; the search drives such a one towards 1e-300)."""
    out = {}
    check = set(names if check is None else check)
    for name, v in zip(names, np.asarray(p, dtype=float)):
        if name not in check or not np.isfinite(v) or name not in bounds:
            continue
        lo, hi = bounds[name]
        for side, b, beyond in (("lower", lo, v <= lo), ("upper", hi, v >= hi)):
            if not np.isfinite(b):
                continue
            if b == 0:
                tol = 1e-200 if name in log_params else 1e-12
            else:
                tol = BOUND_RTOL * abs(b)
            if beyond or abs(v - b) <= tol:
                out[name] = side
                break
    return out


@dataclass
class SolveInfo:
    """How :meth:`Problem.solve` went (``problem.last_info``; ``FitResult.convergence``).

    n_evaluations : objective/Jacobian evaluations at single parameter vectors during the
        polish (Levenberg-Marquardt trial points and Jacobians, L-BFGS-B calls)
    n_grid : grid points scored in the global search (batched, not in n_evaluations)
    n_starts : starts polished
    converged : the winning start's optimizer stopped by its own criterion (L-BFGS-B
        success, or no further decrease on a fresh restart, or a projected gradient below
        1e-8 of the objective), not at an iteration limit
    message : the optimizer's stop message for the winning start
    at_bound : ``{parameter: "lower" | "upper"}`` for free parameters whose estimate is on
        a finite bound of the fit (within :data:`BOUND_RTOL` relative)
    grad_norm : largest projected gradient component at the end, relative to the objective
        (on the fit scale: log for scale parameters)
    notes : one line per problem found (a parameter on a bound, no convergence)
    """

    n_evaluations: int = 0
    n_grid: int = 0
    n_starts: int = 0
    converged: bool = True
    message: str = ""
    at_bound: dict[str, str] = field(default_factory=dict)
    grad_norm: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        g = float(self.grad_norm)
        return {"n_evaluations": int(self.n_evaluations), "n_grid": int(self.n_grid),
                "n_starts": int(self.n_starts), "converged": bool(self.converged),
                "message": str(self.message), "at_bound": dict(self.at_bound),
                "grad_norm": g if np.isfinite(g) else None, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> "SolveInfo":
        if not isinstance(d, dict):
            raise ScalelawError("not a scalelaw fit JSON: \"convergence\" must be an object")
        at = d.get("at_bound") or {}
        if not isinstance(at, dict) or any(v not in ("lower", "upper") for v in at.values()):
            raise ScalelawError("not a scalelaw fit JSON: \"convergence.at_bound\" must map "
                                "parameters to \"lower\" or \"upper\"")
        g = d.get("grad_norm")
        return cls(n_evaluations=int(d.get("n_evaluations") or 0), n_grid=int(d.get("n_grid") or 0),
                   n_starts=int(d.get("n_starts") or 0), converged=bool(d.get("converged", True)),
                   message=str(d.get("message") or ""), at_bound={str(k): v for k, v in at.items()},
                   grad_norm=np.nan if g is None else float(g), notes=list(d.get("notes") or []))


def bound_note(name: str, value: float, side: str, bound: float, pulled: bool = True) -> str:
    """The results' note for a parameter whose estimate is on a bound."""
    want = f": the data want it {'lower' if side == 'lower' else 'higher'}" if pulled else ""
    return (f"{name} = {value:.6g} is on its {side} bound {bound:.6g}{want}; widen the bound or "
            "fix it (its asymptotic standard error assumes an interior estimate)")


class Problem:
    """A law, prepared data, weights, objective, fixed values and bounds.

    After :meth:`solve`, :attr:`last_info` holds a :class:`SolveInfo` (evaluations,
    convergence, parameters on a bound)."""

    def __init__(self, law, design, objective: Objective, weights=None, fixed=None, bounds=None):
        self.law = law
        self.design = design
        self.x = design.x
        self.y = np.asarray(design.y, dtype=float)
        self.n = len(self.y)
        self.w = np.ones(self.n) if weights is None else np.asarray(weights, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            self._logy = np.log(self.y) if objective.space == "log" else None
        self.obj = objective
        names = law.param_names
        self.k = len(names)
        fixed = dict(fixed or {})
        for p in fixed:
            if p not in names:
                raise ScalelawError(f"cannot fix {p!r}: {law.name} has parameters {', '.join(names)}")
        self.fixed = {p: float(v) for p, v in fixed.items()}
        b = dict(law.bounds)
        for p, v in (bounds or {}).items():
            if p not in names:
                raise ScalelawError(f"bounds for unknown parameter {p!r}; {law.name} has {', '.join(names)}")
            b[p] = (float(v[0]), float(v[1]))
        self.bounds = b
        #: parameters the law estimates before the search (its ``anchor_stage``, e.g. the
        #: multi-power law's B from its saturated limit); held like fixed ones afterwards
        self.anchored: dict[str, float] = {}
        self.notes: list[str] = []
        self._last_info: SolveInfo | None = None
        self._info_args: tuple | None = None
        self.n_evaluations = 0    # objective/Jacobian evaluations at single vectors
        self._stop = ("", False, True)   # last polish: message, hit an iteration limit, converged
        self._lm_stop = ("", False)
        self._n_grid = 0
        if design.y is not None:
            self._run_anchor_stage(objective)
        #: boolean mask of the free parameters in ``param_names`` order (names: ``free_names``)
        self.free_mask = np.array([p not in self.fixed for p in names])
        self.free_names = [p for p in names if p not in self.fixed]
        self.is_log = np.array([p in law.log_params for p in names])
        self.base = np.array([self.fixed.get(p, np.nan) for p in names])

    def _run_anchor_stage(self, objective):
        """Solve the extra stage the law declares (:meth:`Law.anchor_stage`) on this
        problem's observations, weights, objective, bounds and fixed values, and hold the
        parameters it names at the values found."""
        from ..laws.base import Design
        stage, note = self.law.anchor_stage(self.x, self.w, self.fixed)
        if stage is not None:
            names = stage.law.param_names
            sub = Problem(stage.law, Design(x=stage.x, y=self.y), objective, weights=self.w,
                          fixed={p: v for p, v in self.fixed.items() if p in names},
                          bounds={p: self.bounds[p] for p in names if p in self.bounds})
            p, _ = sub.solve(n_polish=2)
            self.anchored = {t: float(p[names.index(t)]) for t in stage.take}
            self.fixed.update(self.anchored)
            note = stage.note.format(**self.anchored) if stage.note else None
            on = params_at_bound(list(names), p, sub.bounds, check=stage.take,
                                 log_params=stage.law.log_params)
            for t, side in on.items():
                self.notes.append(f"{t} = {self.anchored[t]:.6g} (anchored) is on its {side} bound "
                                  f"{sub.bounds[t][0 if side == 'lower' else 1]:.6g}: widen the bound or fix it")
        if note:
            self.notes.append(note)

    @property
    def last_info(self) -> SolveInfo | None:
        """The :class:`SolveInfo` of the last :meth:`solve` (None before one).  Built on
        first access (one gradient evaluation, not counted), so solves whose info nobody
        reads (the anchor stage of every bootstrap resample) pay nothing for it."""
        if self._last_info is None and self._info_args is not None:
            self._last_info = self._info(*self._info_args)
        return self._last_info

    @property
    def user_fixed(self) -> dict[str, float]:
        """The fixed parameters as given (without anchored ones)."""
        return {p: v for p, v in self.fixed.items() if p not in self.anchored}

    # parameter transforms ----------------------------------------------------------------
    def to_u(self, p):
        p = np.asarray(p, dtype=float)[..., self.free_mask]
        lg = self.is_log[self.free_mask]
        with np.errstate(divide="ignore"):
            return np.where(lg, np.log(np.maximum(p, 1e-300)), p)

    def to_p(self, u):
        u = np.asarray(u, dtype=float)
        lg = self.is_log[self.free_mask]
        p = np.broadcast_to(self.base, u.shape[:-1] + (self.k,)).copy()
        p[..., self.free_mask] = np.where(lg, np.exp(np.clip(u, -700, 700)), u)
        return p

    def u_bounds(self):
        out = []
        for name, lg in zip(self.law.param_names, self.is_log):
            if name in self.fixed:
                continue
            lo, hi = self.bounds.get(name, (-np.inf, np.inf))
            if lg:
                lo = np.log(lo) if lo > 0 else -700.0
                hi = np.log(hi) if np.isfinite(hi) else None
            else:
                lo = lo if np.isfinite(lo) else None
                hi = hi if np.isfinite(hi) else None
            out.append((lo, hi))
        return out

    # objective -------------------------------------------------------------------------
    def predict(self, p):
        return np.asarray(self.law.evaluate(self.x, p), dtype=float)

    def value(self, p):
        if np.ndim(p) == 1:
            self.n_evaluations += 1
        return self.obj.value(self.predict(p), self.y, self.w)

    def jacobian(self, p):
        """d pred / d p, shape (n, k) (analytic if the law has it, else central differences)."""
        return law_jacobian(self.law, self.x, p)

    def value_grad_u(self, u):
        """Objective and its gradient with respect to the free parameters on fit scale."""
        f, r, J = self._residual_jacobian_u(u)
        if J is None:
            return np.inf, np.zeros(len(u))
        return f, J.T @ (self.w * self.obj.psi(r))

    # global search ---------------------------------------------------------------------
    def grid(self, grid=None, start=None):
        """Grid over the free parameters that need one (dict name -> values)."""
        g = dict(self.law.grid_for(self.design))
        g.update({k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in (grid or {}).items()})
        for k, v in (start or {}).items():
            g[k] = np.atleast_1d(np.asarray(v, dtype=float))
        use_basis = self.law.has_basis()
        lin = set(self.law.linear_params) if use_basis else set()
        need = [p for p in self.free_names if p not in lin]
        axes = []
        for p in need:
            if p in g:
                vals = np.asarray(g[p], dtype=float)
            else:  # no grid given: a neutral default within bounds
                lo, hi = self.bounds.get(p, (-np.inf, np.inf))
                vals = np.array([1.0]) if lo <= 1.0 <= hi else np.array([lo if np.isfinite(lo) else hi])
            lo, hi = self.bounds.get(p, (-np.inf, np.inf))
            vals = vals[(vals >= lo) & (vals <= hi)]
            if vals.size == 0:
                raise ScalelawError(f"no start value for {p} inside its bounds [{lo:g}, {hi:g}]")
            axes.append(vals)
        return need, axes, use_basis

    def search(self, grid=None, start=None, n_best: int = 4, rng=None):
        """Score the grid; return up to ``n_best`` distinct candidate parameter vectors,
        best first, as an array (c, k) with their objective values."""
        need, axes, use_basis = self.grid(grid, start)
        names = self.law.param_names
        total = int(np.prod([len(a) for a in axes])) if axes else 1
        if total > _MAX_GRID:
            rng = rng or np.random.default_rng(0)
            pts = np.column_stack([rng.choice(a, _MAX_GRID) for a in axes])
        elif axes:
            pts = np.array(list(itertools.product(*axes)), dtype=float)
        else:
            pts = np.zeros((1, 0))
        G = len(pts)
        self._n_grid = G
        P = np.broadcast_to(self.base, (G, self.k)).copy()
        for j, p in enumerate(need):
            P[:, names.index(p)] = pts[:, j]
        for p in self.free_names:  # neutral placeholders for linear params
            i = names.index(p)
            if p not in need:
                P[:, i] = 1.0
        m = len(self.law.linear_params) if use_basis else 1
        step = max(1, _CHUNK_ELEMS // max(1, self.n * m))
        vals = np.empty(G)
        for s in range(0, G, step):
            blk = P[s:s + step]
            if use_basis:
                blk[:] = self._solve_linear(blk)
            vals[s:s + step] = self.value(blk)
        order = np.argsort(vals, kind="stable")
        chosen, seen = [], []
        for i in order:
            if not np.isfinite(vals[i]):
                break
            key = np.round(self.to_u(P[i]), 6)
            if any(np.allclose(key, s, rtol=1e-3, atol=1e-6) for s in seen):
                continue
            seen.append(key)
            chosen.append(i)
            if len(chosen) >= n_best:
                break
        return P[chosen], vals[chosen]

    def _solve_linear(self, P):
        """For each row of P (nonlinear params set), solve the linear params (batched)."""
        law, names = self.law, self.law.param_names
        lin = list(law.linear_params)
        li = [names.index(p) for p in lin]
        free_l = np.array([p not in self.fixed for p in lin])
        B = np.asarray(law.basis(self.x, P), dtype=float)           # (G, n, m)
        fixed_c = np.array([self.fixed.get(p, 0.0) for p in lin])
        offset = B[..., ~free_l] @ fixed_c[~free_l] if (~free_l).any() else 0.0
        Bf = B[..., free_l]
        G, n, m = Bf.shape
        lo = np.array([self.bounds.get(p, (-np.inf, np.inf))[0] for p, f in zip(lin, free_l) if f])
        hi = np.array([self.bounds.get(p, (-np.inf, np.inf))[1] for p, f in zip(lin, free_l) if f])
        y, w = self.y, self.w
        if m == 0:
            return P
        s = np.sqrt(w) / (np.abs(y) if self.obj.space == "log" else 1.0)
        c = self._bounded_ls(Bf, y, offset, s, lo, hi)
        if self.obj.space == "log" or self.obj.loss == "huber":
            c = self._irls(Bf, offset, c, lo, hi)
        out = P.copy()
        out[:, [li[j] for j in range(len(lin)) if free_l[j]]] = c
        return out

    def _bounded_ls(self, B, y, offset, s, lo, hi):
        """min ||s(Bc + offset − y)||² subject to c ≥ lo (exact by enumerating active sets
        when there are at most 4 coefficients; clipped otherwise)."""
        G, n, m = B.shape
        Bs = B * s[:, None]
        t = (y - offset) * s
        norms = np.sqrt(np.einsum("gnm,gnm->gm", Bs, Bs))
        norms = np.where(norms > 0, norms, 1.0)
        Bn = Bs / norms[:, None, :]
        M = np.einsum("gni,gnj->gij", Bn, Bn)
        v = np.einsum("gni,gn->gi", Bn, np.broadcast_to(t, (G, n)))
        finite_lo = np.isfinite(lo)
        subsets = [()]
        if m <= 4 and finite_lo.any():
            idx = np.flatnonzero(finite_lo)
            subsets = [c for r in range(len(idx) + 1) for c in itertools.combinations(idx, r)]
        best_c = np.zeros((G, m))
        best_cost = np.full(G, np.inf)
        eye = np.eye(m)
        for act in subsets:
            act = list(act)
            Ma, va = M.copy(), v.copy()
            shift = np.zeros((G, m))
            if act:
                # clamp active coefficients at their lower bound
                shift[:, act] = lo[act] * norms[:, act]
                va = va - np.einsum("gij,gj->gi", M, shift)
                Ma[:, act, :] = 0.0
                Ma[:, :, act] = 0.0
                Ma[:, act, act] = 1.0
                va[:, act] = 0.0
            Ma = Ma + 1e-13 * eye
            try:
                z = np.linalg.solve(Ma, va[..., None])[..., 0]
            except np.linalg.LinAlgError:
                z = np.einsum("gij,gj->gi", np.linalg.pinv(Ma), va)
            z = z + shift
            c = z / norms
            feas = np.all((c >= lo - 1e-12 * np.abs(np.where(finite_lo, lo, 0))) | ~finite_lo, axis=1)
            res = np.einsum("gnm,gm->gn", Bn, z) - t
            cost = np.einsum("gn,gn->g", res, res)
            better = feas & (cost < best_cost)
            best_c[better] = c[better]
            best_cost[better] = cost[better]
        none = ~np.isfinite(best_cost)
        if none.any():  # no feasible subset (only with >4 coefficients): clip
            z = np.linalg.solve(M[none] + 1e-13 * eye, v[none][..., None])[..., 0]
            best_c[none] = z / norms[none]
        return np.clip(best_c, lo, hi)

    def _irls(self, B, offset, c, lo, hi, iters: int = 6):
        """A few damped Gauss-Newton steps on Σ w ρ(r(c)) for the linear coefficients."""
        y, w, obj = self.y, self.w, self.obj
        G, n, m = B.shape
        eye = np.eye(m)

        def score(c):
            pred = np.einsum("gnm,gm->gn", B, c) + offset
            return obj.value(pred, y, w), pred

        cur, pred = score(c)
        for _ in range(iters):
            r, drdf = obj.residual(pred, y)
            r = np.where(np.isfinite(r), r, 0.0)
            om = w * obj.irls_weight(r)
            J = B * drdf[..., None]                        # d r / d c
            JW = J * om[..., None]
            H = np.einsum("gni,gnj->gij", JW, J)
            g = np.einsum("gni,gn->gi", JW, r)
            scale = np.sqrt(np.maximum(np.einsum("gii->gi", H), 1e-300))
            Hs = H / scale[:, :, None] / scale[:, None, :] + 1e-10 * eye
            try:
                step = -np.linalg.solve(Hs, (g / scale)[..., None])[..., 0] / scale
            except np.linalg.LinAlgError:
                break
            new = np.clip(c + step, lo, hi)
            val, npred = score(new)
            ok = val < cur
            if not ok.any():
                break
            c = np.where(ok[:, None], new, c)
            cur = np.where(ok, val, cur)
            pred = np.where(ok[:, None], npred, pred)
        return c

    # local polish ----------------------------------------------------------------------
    def _u_box(self):
        bnds = self.u_bounds()
        lo = np.array([b[0] if b[0] is not None else -np.inf for b in bnds])
        hi = np.array([b[1] if b[1] is not None else np.inf for b in bnds])
        return bnds, lo, hi

    def _residual_jacobian_u(self, u):
        """Objective, residuals and d r / d u at ``u``."""
        self.n_evaluations += 1
        p = self.to_p(u)
        pred, J = self.law.evaluate_with_jacobian(self.x, p)
        r, drdf = self.obj.residual(np.asarray(pred, dtype=float), self.y, self._logy)
        with np.errstate(invalid="ignore", over="ignore"):
            f = float(np.sum(self.w * self.obj.rho(r)))
        if not np.isfinite(f):
            return np.inf, r, None
        J = (self.jacobian(p) if J is None else np.asarray(J, dtype=float))[:, self.free_mask] * drdf[:, None]
        J = np.where(self.is_log[self.free_mask], J * p[self.free_mask], J)
        return f, r, J

    def gauss_newton(self, u, max_iter: int = 200, rtol: float = 1e-10):
        """Levenberg-Marquardt on the iteratively reweighted objective: each step solves
        (Jᵀ Ω J + μ·diag) Δ = −Jᵀ w ψ(r) with Ω = w·ψ(r)/r (for Huber a majorizer of the
        objective), accepts it only if the exact objective decreases, and adapts μ.
        Converges in tens of Jacobians where L-BFGS-B needs hundreds (the multi-power
        law's 7-parameter valley: 3 s instead of 15 s, to a lower objective)."""
        _, lo, hi = self._u_box()
        f, r, J = self._residual_jacobian_u(u)
        self._lm_stop = ("non-finite objective at the start", False)
        if J is None:
            return u, f
        mu = 1e-3
        k = len(u)
        self._lm_stop = (f"Levenberg-Marquardt: iteration limit ({max_iter}) reached", True)
        for _ in range(max_iter):
            om = self.w * self.obj.irls_weight(r)
            H = (J * om[:, None]).T @ J
            g = J.T @ (self.w * self.obj.psi(r))
            dg = np.sqrt(np.maximum(np.diag(H), 1e-300))
            # parameters on a bound whose descent direction points outward stay there this
            # step (a clipped step would only crawl along the bound)
            act = ((u <= lo) & (g > 0)) | ((u >= hi) & (g < 0))
            fr = ~act
            if not fr.any():   # a corner of the box: nothing can move
                self._lm_stop = ("Levenberg-Marquardt: every parameter held on a bound", False)
                break
            Hs = H[np.ix_(fr, fr)] / np.outer(dg[fr], dg[fr])
            accepted = False
            for _ in range(12):
                try:
                    step = np.zeros(k)
                    step[fr] = -np.linalg.solve(Hs + mu * np.eye(int(fr.sum())), g[fr] / dg[fr]) / dg[fr]
                except np.linalg.LinAlgError:
                    mu *= 10
                    continue
                un = np.clip(u + step, lo, hi)
                fn = float(self.value(self.to_p(un)))
                if fn < f:
                    accepted = True
                    break
                mu *= 10
            if not accepted:
                self._lm_stop = ("Levenberg-Marquardt: no decreasing step", False)
                break
            gain = (f - fn) / max(abs(f), 1e-300)
            fn2, rn, Jn = self._residual_jacobian_u(un)
            if Jn is None:
                self._lm_stop = ("Levenberg-Marquardt: non-finite Jacobian", False)
                break
            u, f, r, J = un, fn2, rn, Jn
            mu = max(mu / 3, 1e-12)
            if gain < rtol:
                self._lm_stop = ("Levenberg-Marquardt: relative decrease below tolerance", False)
                break
        return u, f

    def polish(self, p0, maxiter: int = 3000, ftol: float = 1e-15, restarts: int = 3,
               thorough: bool = True, seen: list | None = None, lbfgs: bool = True,
               lm_iter: int = 200):
        """Levenberg-Marquardt (:meth:`gauss_newton`) from ``p0``, then L-BFGS-B on the
        normalized sum objective to tight tolerance; L-BFGS-B restarts (fresh curvature
        memory) while that still improves the objective by more than 1e-10 relative.

        With ``thorough`` and a law not marked ``costly``, L-BFGS-B also runs from ``p0``
        itself and the better end point wins: on a Huber objective
        the two routes can stop on neighbouring kinks (seen: 1e-13 relative apart).
        ``seen``: Gauss-Newton end points of earlier starts; a start that lands on one of
        them is not polished again.  ``lbfgs=False`` stops after Levenberg-Marquardt (bootstrap
        refits of costly laws, whose draws need far less precision than the estimate).
        ``lm_iter``: Levenberg-Marquardt's iteration limit.

        How the polish stopped is kept in ``self._stop`` (message, hit an iteration limit,
        converged) for :meth:`solve`'s :class:`SolveInfo`."""
        bnds, lo, hi = self._u_box()
        u0 = np.clip(self.to_u(p0), lo, hi)
        with np.errstate(all="ignore"):
            u, f_lm = self.gauss_newton(u0, max_iter=lm_iter)
        msg, hit = self._lm_stop
        self._stop = (msg, hit, not hit)
        if not lbfgs:
            return self.to_p(u), float(f_lm)
        cheap = not getattr(self.law, "costly", False)
        if seen is not None:  # another start already led here: its polish stands
            if any(np.allclose(u, v, rtol=1e-2, atol=1e-2) for v in seen):
                return self.to_p(u), float(self.value(self.to_p(u)))
            seen.append(u)
        best = self._lbfgs(u, bnds, maxiter, ftol, restarts)
        stop = self._stop
        if thorough and cheap:
            other = self._lbfgs(u0, bnds, maxiter, ftol, restarts)
            if other[1] < best[1]:
                best = other
            else:
                self._stop = stop
        return best

    def _lbfgs(self, u, bnds, maxiter, ftol, restarts):
        from scipy.optimize import minimize   # here: scipy.optimize takes ~0.3 s to import

        f0, _ = self.value_grad_u(u)
        if not np.isfinite(f0):
            return self.to_p(u), np.inf
        scale = f0 if f0 > 0 else 1.0
        best_u, best_f = u, f0
        self._stop = ("L-BFGS-B: not run", False, True)

        def fun(v):
            f, g = self.value_grad_u(v)
            if not np.isfinite(f):
                return 1e300, np.zeros_like(v)
            return f / scale, g / scale

        for _ in range(1 + restarts):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                r = minimize(fun, best_u, jac=True, method="L-BFGS-B", bounds=bnds,
                             options={"maxiter": maxiter, "ftol": ftol, "gtol": 1e-14, "maxcor": 30})
            f = r.fun * scale
            improved = best_f - f
            if f <= best_f:
                best_u, best_f = r.x, f
            msg = str(r.message).strip().rstrip(":")
            hit = r.status == 1          # iteration or evaluation limit
            stalled = not improved > 1e-10 * abs(best_f)
            if stalled and not r.success:
                msg += "; a fresh restart found no further decrease"
            # converged: its own criterion, or a fresh restart that no longer improves
            self._stop = (f"L-BFGS-B: {msg}", hit and not stalled, bool(r.success) or stalled)
            if stalled:
                break
        return self.to_p(best_u), float(best_f)

    def solve(self, grid=None, start=None, n_polish: int = 4, extra_starts=(), rng=None,
              maxiter: int | None = None):
        """Global search then polish; returns (params, objective) and keeps a
        :class:`SolveInfo` in :attr:`last_info`.  ``maxiter`` caps each optimizer run
        (default: 200 Levenberg-Marquardt and 3000 L-BFGS-B iterations)."""
        with single_threaded_blas():
            return self._solve(grid, start, n_polish, extra_starts, rng, maxiter)

    def _solve(self, grid, start, n_polish, extra_starts, rng, maxiter=None):
        n0 = self.n_evaluations
        self._last_info = self._info_args = None
        if not self.free_mask.any():   # every parameter fixed: nothing to search, just evaluate
            p = self.to_p(np.zeros(0))
            f = float(self.value(p))
            if not np.isfinite(f):
                raise ScalelawError(f"the fixed parameters of {self.law.name} give non-finite predictions")
            self._last_info = SolveInfo(n_evaluations=self.n_evaluations - n0, message="all parameters fixed")
            return p, f
        cands, _ = self.search(grid, start, n_best=n_polish, rng=rng)
        n_grid = self._n_grid
        starts = list(cands) + [np.asarray(s, dtype=float) for s in extra_starts]
        if not starts:
            raise ScalelawError(f"no valid start for {self.law.name}: every grid point gives "
                                "non-finite predictions; give start values or bounds")
        best_p, best_f, stop = None, np.inf, ("", False, True)
        seen: list = []
        lim = {} if maxiter is None else {"maxiter": int(maxiter), "lm_iter": int(maxiter)}
        for p0 in starts:
            p, f = self.polish(p0, seen=seen, **lim)
            if f < best_f:
                best_p, best_f, stop = p, f, self._stop
        if best_p is None:
            raise ScalelawError(f"fit of {self.law.name} failed: the objective is not finite at any start")
        self._last_info = None
        self._info_args = (best_p, best_f, stop, len(starts), n_grid, self.n_evaluations - n0)
        return best_p, best_f

    def _info(self, p, f, stop, n_starts, n_grid, n_eval) -> SolveInfo:
        """The :class:`SolveInfo` of an optimum ``p`` (one gradient evaluation, not counted)."""
        msg, hit, conv = stop
        names = self.law.param_names
        at = params_at_bound(names, p, self.bounds, check=self.free_names, log_params=self.law.log_params)
        g = np.full(len(self.free_names), np.nan)
        with np.errstate(all="ignore"):
            fu, gu = self.value_grad_u(self.to_u(p))
        self.n_evaluations -= 1
        if np.isfinite(fu):
            g = np.asarray(gu, dtype=float)
        # projected gradient: a component pushing outward at an active bound is no defect
        free_at = np.array([at.get(q) for q in self.free_names], dtype=object)
        proj = np.where(((free_at == "lower") & (g > 0)) | ((free_at == "upper") & (g < 0)), 0.0, g)
        grad = float(np.max(np.abs(proj)) / max(abs(f), 1e-300)) if len(proj) else 0.0
        converged = bool(not hit and (conv or grad < 1e-8))
        notes = []
        for q, side in at.items():
            i = self.free_names.index(q)
            # the data pull it outward when the objective still falls beyond the bound
            pulled = bool(g[i] > 0) if side == "lower" else bool(g[i] < 0)
            b = self.bounds[q][0 if side == "lower" else 1]
            notes.append(bound_note(q, float(p[names.index(q)]), side, b, pulled))
        if not converged:
            notes.append(f"the optimizer did not converge ({msg}): the estimate may not be the "
                         "optimum; give start values, narrower bounds or fix parameters")
        return SolveInfo(n_evaluations=n_eval, n_grid=n_grid, n_starts=n_starts, converged=converged,
                         message=msg, at_bound=at, grad_norm=grad, notes=notes)
