"""Which runs to do next: the candidate runs that shrink a forecast's interval the most per
FLOP spent, and fresh IsoFLOP grids.

The forecast is one number ``q(θ)`` of the fitted law: the compute-optimal loss ``L*(C)`` at
a target compute ``C`` (the law at the compute-optimal ``(N*, D*)`` under ``C = k·N·D``), or
the law at a given ``(N, D)``.  To first order (local linearisation) its variance is

    V = gᵀ Σ g,        g = ∂q/∂θ over the free parameters,  Σ = the fit's covariance

on the fit's scale (log loss for a log-space fit: ``g`` is then ``∂ log q/∂θ``).  By the
envelope theorem ``∂L*(C)/∂θ = ∂L/∂θ`` at ``(N*, D*)`` (the optimum's own shift is of second
order), so both readings of a compute target give the same ``g``.

One new run at ``x = (N, D)`` observes the law with noise of variance ``σ²`` (the new-run
variance of the fit: run-to-run plus evaluation noise when replicates identified them,
else the squared residual scale; ``new_run_sd=`` overrides it).  Its Jacobian row
``j = ∂f(x)/∂θ`` adds ``j jᵀ/σ²`` to the information, ``Σ_new = (Σ⁻¹ + j jᵀ/σ²)⁻¹``, which
by Sherman–Morrison is

    Σ_new = Σ − (Σ j)(Σ j)ᵀ / (σ² + jᵀ Σ j),   ΔV = (gᵀ Σ j)² / (σ² + jᵀ Σ j)

and needs no inverse of Σ (a singular Σ is fine).  :func:`suggest_runs` picks runs greedily:
at each step the affordable candidate of largest ``ΔV / charged`` (variance reduction per
FLOP charged), then updates Σ and repeats, until ``n`` runs are chosen or no candidate fits in
what is left of the budget.  A run is charged its cost, or, when it is cheaper, an even share
of what is left of the budget over the runs still to choose (``left / (n − chosen)``): each
run takes one of the ``n`` places, and without that charge a greedy ratio rule fills them
with the cheapest runs and leaves most of the budget unspent.

Units: ``N`` parameters (in the count the law was fitted on), ``D`` tokens, ``C = k·N·D``
training FLOPs with ``k = flops_per_token`` (6), costs in FLOPs (``cost(N, D)``; default
``k·N·D``), losses in nats.  Assumptions: the law is right, the linearisation holds over the
parameters' uncertainty, ``σ`` is known, and a run yields one independent loss.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ScalelawError, ScalelawWarning

__all__ = ["suggest_runs", "isoflop_grid", "target_forecast", "information_update",
           "fitted_region", "CHINCHILLA_PUBLISHED"]

_INSIDE = 1.0 + 1e-6        # bands.INTERPOLATION_TOL: a distance above it is outside

#: Hoffmann et al. (2022) Approach 3 parameters, as published (REFERENCE.md §2): the prior
#: guess of the compute-optimal allocation when no fit is given to :func:`isoflop_grid`
CHINCHILLA_PUBLISHED = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


# --------------------------------------------------------------------------- linear algebra
def information_update(cov: Any, rows: Any, sigma2: float) -> np.ndarray:
    """The covariance after observing the rows ``rows`` (``(m, k)`` Jacobian rows, or one row
    ``(k,)``) each with noise variance ``sigma2``: ``(Σ⁻¹ + JᵀJ/σ²)⁻¹``, computed without
    inverting Σ as ``Σ − ΣJᵀ(σ²I + JΣJᵀ)⁻¹JΣ`` (Woodbury; Sherman–Morrison for one row)."""
    S = np.asarray(cov, dtype=float)
    J = np.atleast_2d(np.asarray(rows, dtype=float))
    s2 = float(sigma2)
    if not s2 > 0:
        raise ScalelawError(f"the noise variance of a new run must be positive, got {s2:g}")
    SJ = S @ J.T
    M = s2 * np.eye(len(J)) + J @ SJ
    out = S - SJ @ np.linalg.solve(M, SJ.T)
    return (out + out.T) / 2


def _reductions(S: np.ndarray, g: np.ndarray, J: np.ndarray, s2: float):
    """Per candidate row of ``J``: the target variance reduction ``(gᵀΣj)²/(σ²+jᵀΣj)``, and
    ``Σj`` and ``σ²+jᵀΣj`` for the update."""
    SJ = J @ S                            # (m, k): row i is (Σ j_i)ᵀ
    gSj = SJ @ g
    denom = s2 + np.einsum("ik,ik->i", SJ, J)
    return gSj ** 2 / denom, SJ, denom


# --------------------------------------------------------------------------- the fit
def _check_fit(fit):
    """The law of a fit of a scaling law (not an LR-schedule law, not allocation JSON)."""
    law = getattr(fit, "law", None)
    if law is None or not hasattr(fit, "params") or not hasattr(fit, "cov"):
        raise ScalelawError(f"suggestions need a fitted scaling law (a FitResult from "
                            f"scalelaw.fit), not {type(fit).__name__}")
    if getattr(law, "predicts_curves", False):
        raise ScalelawError(f"the fit is of the LR-schedule law {law.name}, which predicts loss "
                            "curves of schedules, not runs of a size N and data D: suggest runs "
                            "from a scaling-law fit (e.g. chinchilla)")
    if not law.variables:
        raise ScalelawError(f"law {law.name} reads no variables: nothing to choose runs in")
    if getattr(law, "target", "loss") != "loss":
        raise ScalelawError(f"the fit's law {law.name} predicts a {law.target}, not a loss: suggest "
                            "works on loss forecasts; fit the loss (e.g. chinchilla) and suggest "
                            "runs for that")
    return law


def _frame_x(law, cols: Mapping[str, np.ndarray]):
    frame = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in cols.items()})
    return law.prepare(frame, target=None).x


def _predict(law, p, cols):
    return np.asarray(law.evaluate(_frame_x(law, cols), p), dtype=float).reshape(-1)


def _jacobian(law, p, cols):
    from .fitting.engine import law_jacobian
    return np.atleast_2d(np.asarray(law_jacobian(law, _frame_x(law, cols), p), dtype=float))


def _is_nd(law) -> bool:
    return set(law.variables) == {"N", "D"}


def _optimum(fit, law, C: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal ``(N*, D*)`` of the fitted law at each budget ``C`` under ``C = k·N·D``:
    the closed form of :func:`scalelaw.allocate.compute_optimal` for the chinchilla law, else
    a bounded search over ``ln N`` of the law itself."""
    C = np.asarray(C, dtype=float)
    if law.name == "chinchilla":
        from .allocate import compute_optimal
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalelawWarning)     # the stacked note: said once
            out = compute_optimal(dict(fit.params), C, flops_per_token=k)
        return out["N_opt"].to_numpy(), out["D_opt"].to_numpy()
    from scipy.optimize import minimize_scalar
    p = fit.params.to_numpy(dtype=float)
    Ns, Ds = [], []
    for c in C:
        half = math.log(c / k) / 2                # N = D = sqrt(C/k) in the middle
        u = np.linspace(half - 14, half + 14, 401)
        with np.errstate(all="ignore"):
            f = _predict(law, p, {"N": np.exp(u), "D": c / (k * np.exp(u))})
        f = np.where(np.isfinite(f), f, np.inf)
        i = int(np.argmin(f))
        if not np.isfinite(f[i]) or i in (0, len(u) - 1):
            raise ScalelawError(f"the fitted {law.name} law has no compute-optimal size at "
                                f"C = {c:.3g} FLOPs (its loss does not turn up along C = k·N·D): "
                                "give the target as N and D")
        r = minimize_scalar(lambda v: float(_predict(law, p, {"N": [math.exp(v)],
                                                              "D": [c / (k * math.exp(v))]})[0]),
                            bounds=(u[i - 1], u[i + 1]), method="bounded",
                            options={"xatol": 1e-9})
        Ns.append(math.exp(r.x))
        Ds.append(c / (k * math.exp(r.x)))
    return np.array(Ns), np.array(Ds)


def _parse_target(law, target) -> dict[str, float]:
    if not isinstance(target, Mapping) or not target:
        raise ScalelawError("the target is a mapping: {'C': FLOPs} for the compute-optimal loss "
                            "at C, or {'N': ..., 'D': ...} for the law at one run")
    t = {}
    for key, v in target.items():
        try:
            t[str(key)] = float(v)
        except (TypeError, ValueError):
            raise ScalelawError(f"target {key}={v!r} is not a number") from None
        if not (math.isfinite(t[str(key)]) and t[str(key)] > 0):
            raise ScalelawError(f"target {key}={v!r} must be a positive, finite number")
    if "C" in t:
        extra = [n for n in t if n != "C"]
        if extra:
            raise ScalelawError(f"the target gives C and {', '.join(extra)}: give C alone (the "
                                f"compute-optimal run at C) or the law's variables "
                                f"{', '.join(law.variables)}")
        if not _is_nd(law):
            raise ScalelawError(f"a compute target C needs a law in N and D; law {law.name} reads "
                                f"{', '.join(law.variables)}: give the target as "
                                + ", ".join(f"{v}=..." for v in law.variables))
        return t
    missing = [v for v in law.variables if v not in t]
    unknown = [n for n in t if n not in law.variables]
    if missing or unknown:
        raise ScalelawError(f"the target needs C (FLOPs) or every variable of law {law.name} "
                            f"({', '.join(law.variables)})"
                            + (f"; missing {', '.join(missing)}" if missing else "")
                            + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    return t


def _covariance(fit, cov, notes: list[str]) -> tuple[np.ndarray, list[str], str]:
    """Σ over the free parameters, their names, and where Σ came from."""
    free = list(fit.cov.columns)
    source = "asymptotic"
    if cov is None:
        cov = "asymptotic"
    if isinstance(cov, str) and cov == "asymptotic":
        S = fit.cov.to_numpy(dtype=float)
        if not np.all(np.isfinite(S)) and getattr(fit, "boot", None) is not None:
            cov = "bootstrap"
            notes.append("the asymptotic covariance is not finite: the covariance of the "
                         "bootstrap draws is used instead")
    if isinstance(cov, str) and cov == "bootstrap":
        boot = getattr(fit, "boot", None)
        if boot is None or len(boot) < 3:
            raise ScalelawError("cov='bootstrap' needs bootstrap draws: fit with bootstrap=N "
                                "(or call .bootstrap(N)), or use the asymptotic covariance")
        free = [c for c in boot.columns if c in fit.free]
        S = np.atleast_2d(np.cov(boot[free].to_numpy(dtype=float), rowvar=False))
        source = "bootstrap"
    elif not isinstance(cov, str):
        S = np.atleast_2d(np.asarray(cov, dtype=float))
        if S.shape != (len(free), len(free)):
            raise ScalelawError(f"cov must be {len(free)}x{len(free)} over the free parameters "
                                f"({', '.join(free)}); got shape {S.shape}")
        source = "given"
    elif cov != "asymptotic":
        raise ScalelawError(f"unknown covariance {cov!r}: use 'asymptotic', 'bootstrap' or a matrix")
    if not free:
        raise ScalelawError("the fit has no free parameters: every parameter is fixed, so no "
                            "run can shrink the forecast's interval")
    if not np.all(np.isfinite(S)):
        raise ScalelawError("the fit's covariance is not finite (some parameters are not "
                            "identified by the data): bootstrap the fit, fix a parameter, or add "
                            "runs over a wider range before asking which runs to do next")
    S = (S + S.T) / 2
    d = np.sqrt(np.clip(np.diag(S), 0, None))
    if not np.any(d > 0):
        raise ScalelawError("the fit's covariance is zero: no sampling variance to reduce")
    scale = np.where(d > 0, d, 1.0)
    w = np.linalg.eigvalsh(S / np.outer(scale, scale))   # of the correlation: scale-free
    if w.min() < -1e-8:
        raise ScalelawError("the fit's covariance is not positive semi-definite: refit (or use "
                            "cov='bootstrap') before asking which runs to do next")
    if np.any(d == 0) or w.min() <= 1e-10:
        msg = ("the fit's covariance is singular (a combination of the parameters has no "
               "sampling variance): the update needs no inverse, but the reductions along the "
               "other directions are only as good as that covariance")
        warnings.warn(msg, ScalelawWarning, stacklevel=3)
        notes.append(msg)
    return S, free, source


def _scale(fit) -> bool:
    return getattr(getattr(fit, "settings", None), "space", "log") == "log"


def _target(fit, law, target, k, free):
    """(value q, gradient g over ``free`` on the fit's scale, the run it is evaluated at)."""
    t = _parse_target(law, target)
    p = fit.params.to_numpy(dtype=float)
    if "C" in t:
        N, D = _optimum(fit, law, np.array([t["C"]]), k)
        cols = {"N": N, "D": D}
    else:
        cols = {v: np.array([t[v]]) for v in law.variables}
    q = float(_predict(law, p, cols)[0])
    if not (np.isfinite(q) and q > 0):
        raise ScalelawError(f"the fitted law's loss at the target is {q:.4g}: outside its valid "
                            "region (a loss in nats is positive); check the fit")
    g = _jacobian(law, p, cols)[0, [law.param_names.index(c) for c in free]]
    if _scale(fit):
        g = g / q
    run = {v: float(np.asarray(a)[0]) for v, a in cols.items()}
    if "C" in t:
        run["C"] = t["C"]
    return q, g, run


def _extrapolation_note(fit, run) -> str | None:
    """A note when the target lies outside the fitted region (as ``predict`` labels it)."""
    from .fitting.bands import extrapolation_distance, interval_labels
    x = {v: np.array([run[v]]) for v in fit.law.variables if v in run}
    dist, which = extrapolation_distance(getattr(fit, "domain", None) or {}, x,
                                         getattr(fit, "compute_range", None))
    if not len(dist) or not dist[0] > 1.5:
        return None
    return (f"the target is an {interval_labels(dist, which)[0]} beyond the fitted runs: its "
            "interval assumes the law holds that far")


def _band(q: float, sd: float, log: bool, alpha: float) -> tuple[float, float]:
    from scipy.special import ndtri       # = scipy.stats.norm.ppf, without importing scipy.stats
    z = float(ndtri(1 - alpha / 2))
    if log:
        with np.errstate(over="ignore"):
            return float(q * np.exp(-z * sd)), float(q * np.exp(z * sd))
    return float(q - z * sd), float(q + z * sd)


def target_forecast(fit, target: Mapping[str, float], *, flops_per_token: float | None = None,
                    cov: Any = None, alpha: float = 0.05) -> dict:
    """The forecast at ``target`` and its delta-method interval from the fit's covariance.

    ``target``: ``{"C": FLOPs}`` (the compute-optimal loss ``L*(C)`` under ``C = k·N·D``, ``k``
    the fit's own by default, see :func:`suggest_runs`) or the law's variables (``{"N": ..., "D": ...}``).  Returns a dict: ``loss`` (nats), the
    run it is evaluated at (``N``, ``D``, and ``C`` for a compute target), ``sd`` (on the
    fit's scale: log loss for a log-space fit), ``var`` (its square), ``loss_lower`` /
    ``loss_upper`` (the ``1 − alpha`` interval) and ``free`` (the parameters of Σ).
    ``cov``: None / ``"asymptotic"`` (``FitResult.cov``), ``"bootstrap"`` (the covariance of
    the bootstrap draws) or a matrix over the free parameters.
    """
    law = _check_fit(fit)
    k = _fit_k(fit, flops_per_token)
    notes: list[str] = []
    S, free, _ = _covariance(fit, cov, notes)
    q, g, run = _target(fit, law, target, k, free)
    var = float(g @ S @ g)
    sd = math.sqrt(max(var, 0.0))
    lo, hi = _band(q, sd, _scale(fit), alpha)
    return {"loss": q, **run, "sd": sd, "var": var, "loss_lower": lo, "loss_upper": hi,
            "free": free}


def _fit_k(fit, k) -> float:
    """``flops_per_token``, checked against the k the fit used to derive a variable
    (``D = C/(k·N)``, recorded in its columns): None takes the fit's k (6 when it derived
    nothing); a different k is refused, as :func:`scalelaw.compare.compare` does."""
    from .compare import _recorded_k
    recorded = _recorded_k(fit) if hasattr(fit, "mapping") else None
    if k is None:
        return recorded if recorded is not None else 6.0
    k = _check_k(k)
    if recorded is not None and k != recorded:
        raise ScalelawError(f"the fit derived its variables with C = {recorded:g}·N·D, not the "
                            f"{k:g}·N·D asked for: use flops_per_token={recorded:g} (--flops-per-token "
                            f"{recorded:g}), or refit with {k:g}")
    return k


def _check_k(k) -> float:
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise ScalelawError(f"flops_per_token={k!r} is not a number (6: forward and backward "
                            "pass)") from None
    if not (math.isfinite(k) and k > 0):
        raise ScalelawError(f"flops_per_token must be positive and finite (6 for the forward and "
                            f"backward pass of a dense transformer); got {k:g}")
    return k


# --------------------------------------------------------------------------- grids
def _budgets(budgets) -> np.ndarray:
    try:
        c = np.atleast_1d(np.asarray(budgets, dtype=float)).ravel()
    except (TypeError, ValueError):
        raise ScalelawError(f"compute budgets must be numbers (FLOPs), got {budgets!r}") from None
    if c.size == 0:
        raise ScalelawError("no compute budget given: give one or more FLOP counts, e.g. 1e19")
    bad = c[~(np.isfinite(c) & (c > 0))]
    if bad.size:
        raise ScalelawError(f"a compute budget must be a positive, finite FLOP count; got {bad[0]:g}")
    return c


def isoflop_grid(budgets: Sequence[float] | float, *, points: int = 7, fit: Any = None,
                 spread: float = 4.0, flops_per_token: float = 6.0) -> pd.DataFrame:
    """A fresh IsoFLOP grid: per compute budget ``C`` (FLOPs), ``points`` model sizes
    log-spaced from ``N*/spread`` to ``N*·spread`` around a prior guess of the
    compute-optimal ``N*(C)``, each trained on ``D = C/(k·N)`` tokens.

    The prior guess is the compute-optimal allocation of ``fit`` (a fitted law in ``N`` and
    ``D``: a FitResult, or a mapping of chinchilla parameters), else of Chinchilla's
    published law (:data:`CHINCHILLA_PUBLISHED`, Hoffmann et al. 2022: about 20 tokens per
    parameter near 1e21 FLOPs).  Returns a frame with ``budget`` (0, 1, ... per C), ``C``,
    ``N`` (parameters), ``D`` (tokens), ``tokens_per_param`` and ``N_prior`` (the guess of
    ``N*`` the sizes are spread around); ``attrs["prior"]`` says where the guess came from.
    """
    C = _budgets(budgets)
    k = _check_k(flops_per_token)
    try:
        points = int(points)
        spread = float(spread)
    except (TypeError, ValueError):
        raise ScalelawError("points must be a whole number and spread a number") from None
    if points < 1:
        raise ScalelawError(f"points={points}: give at least 1 model size per budget (5-9 are usual)")
    if not (math.isfinite(spread) and spread >= 1):
        raise ScalelawError(f"spread={spread:g}: give a factor >= 1 (the sizes run from N*/spread "
                            "to N*·spread; 4 is usual)")
    if points > 1 and spread == 1:
        raise ScalelawError("spread=1 puts every size of a budget at N*: give spread > 1 or points=1")
    N_star, prior = _prior_optimum(fit, C, k)
    f = np.geomspace(1 / spread, spread, points) if points > 1 else np.ones(1)
    N = (N_star[:, None] * f[None, :]).ravel()
    Cs = np.repeat(C, points)
    D = Cs / (k * N)
    out = pd.DataFrame({"budget": np.repeat(np.arange(len(C)), points), "C": Cs, "N": N, "D": D,
                        "tokens_per_param": D / N, "N_prior": np.repeat(N_star, points)})
    out.attrs.update(prior=prior, flops_per_token=k, spread=spread, points=points)
    return out


def _prior_optimum(fit, C, k):
    if fit is None:
        from .allocate import compute_optimal
        return (compute_optimal(CHINCHILLA_PUBLISHED, C, flops_per_token=k)["N_opt"].to_numpy(),
                "Chinchilla's published law (Hoffmann et al. 2022, Approach 3)")
    law = getattr(fit, "law", None)
    if law is not None and hasattr(fit, "params"):
        _check_fit(fit)
        if not _is_nd(law):
            raise ScalelawError(f"a grid around the compute-optimal size needs a law in N and D; "
                                f"the fit's law {law.name} reads {', '.join(law.variables)}")
        return _optimum(fit, law, C, k)[0], f"the fitted {law.name} law"
    from .allocate import compute_optimal
    return compute_optimal(fit, C, flops_per_token=k)["N_opt"].to_numpy(), "the given chinchilla parameters"


def _default_candidates(fit, law, budget, n, k, points, spread, ratio=None, cost=None):
    """IsoFLOP lines, two per decade, from the fit's smallest run's compute (or budget/1000)
    up to the budget, sizes spread around the fitted compute-optimal frontier."""
    rng = getattr(fit, "compute_range", None)
    lo = k * float(rng[0]) if rng is not None and rng[0] > 0 else budget / 1e3
    lo = max(lo, budget * 1e-4)
    hi = max(budget, lo)
    n_levels = max(1, int(math.floor(2 * math.log10(hi / lo) + 1e-9)) + 1)
    levels = hi / 10 ** (np.arange(n_levels)[::-1] / 2)
    if n > 1 and budget / n >= lo:                # the even split of the budget over n runs
        levels = np.unique(np.r_[levels, budget / n])
    grid = isoflop_grid(levels, points=points, fit=fit, spread=spread, flops_per_token=k)[["N", "D", "C"]]
    if ratio is not None:                         # along the target's tokens per parameter too
        f = np.geomspace(1 / spread, spread, points) if points > 1 else np.ones(1)
        N = (np.sqrt(levels / (k * ratio))[:, None] * f[None, :]).ravel()
        C = np.repeat(levels, len(f))
        grid = pd.concat([grid, pd.DataFrame({"N": N, "D": C / (k * N), "C": C})], ignore_index=True)
    if cost is not None and hasattr(cost, "tokens"):   # along equal-cost curves of the cost model
        D = np.asarray(cost.tokens(grid["N"].to_numpy(), grid["C"].to_numpy()), dtype=float)
        grid = grid.assign(D=D)[np.isfinite(D) & (D >= 1)]
        if grid.empty:
            raise ScalelawError(f"the cost model buys no tokens at any default candidate up to the "
                                f"budget ({budget:.3g} FLOPs): give a larger budget or candidates")
    return grid[["N", "D"]].reset_index(drop=True)


def fitted_region(fit) -> dict | None:
    """The fitted runs' range of model sizes and of tokens per parameter:
    ``{"N": (lo, hi), "tokens_per_param": (lo, hi)}``, or None when the fit records no range
    of N and D.  The tokens per parameter are bounded by what the fit records (its ranges of
    N, of D and of the compute N·D): from ``max(D_lo/N_hi, (N·D)_lo/N_hi²)`` to
    ``min(D_hi/N_lo, (N·D)_hi/N_lo²)``, the widest range of D/N those runs can have."""
    dom = dict(getattr(fit, "domain", None) or {})
    if "N" not in dom or "D" not in dom:
        return None
    (n_lo, n_hi), (d_lo, d_hi) = (tuple(map(float, dom["N"])), tuple(map(float, dom["D"])))
    if not (0 < n_lo <= n_hi and 0 < d_lo <= d_hi):
        return None
    r_lo, r_hi = d_lo / n_hi, d_hi / n_lo
    nd = getattr(fit, "compute_range", None)
    if nd is not None and nd[0] > 0:
        r_lo = max(r_lo, float(nd[0]) / n_hi ** 2)
        r_hi = min(r_hi, float(nd[1]) / n_lo ** 2)
    if not r_lo <= r_hi:
        r_lo, r_hi = d_lo / n_hi, d_hi / n_lo
    return {"N": (n_lo, n_hi), "tokens_per_param": (r_lo, r_hi)}


def _check_outside(outside) -> float:
    if outside is None:
        return math.inf
    try:
        f = float(outside)
    except (TypeError, ValueError):
        raise ScalelawError(f"outside={outside!r} is not a number (a factor >= 1; None for no "
                            "limit)") from None
    if not f >= 1:
        raise ScalelawError(f"outside={f:g}: give a factor >= 1 (1 keeps the default candidates "
                            "inside the fitted region; None or inf for no limit)")
    return f


def _keep_inside(grid: pd.DataFrame, fit, factor: float) -> pd.DataFrame:
    """The default candidates whose N and tokens per parameter lie within ``factor`` of the
    fitted runs' (:func:`fitted_region`)."""
    region = fitted_region(fit)
    if region is None or not math.isfinite(factor):
        return grid
    (n_lo, n_hi), (r_lo, r_hi) = region["N"], region["tokens_per_param"]
    N, r = grid["N"].to_numpy(float), grid["D"].to_numpy(float) / grid["N"].to_numpy(float)
    tol = 1 + 1e-9
    keep = ((N * factor * tol >= n_lo) & (N <= n_hi * factor * tol)
            & (r * factor * tol >= r_lo) & (r <= r_hi * factor * tol))
    if not keep.any():
        raise ScalelawError(f"no default candidate run lies within {factor:g}x of the fitted runs "
                            f"(N {n_lo:.3g} to {n_hi:.3g}, {r_lo:.3g} to {r_hi:.3g} tokens per "
                            "parameter) up to the budget: widen the region (outside=, --outside) or "
                            "give candidates")
    return grid[keep].reset_index(drop=True)


def _as_candidates(candidates, law, k: float = 6.0) -> pd.DataFrame:
    if isinstance(candidates, pd.DataFrame):
        frame = candidates.copy()
    else:
        try:
            frame = pd.DataFrame(candidates)
        except (TypeError, ValueError):
            raise ScalelawError("candidates must be a table (a DataFrame or a mapping of columns) "
                                f"with {', '.join(law.variables)}") from None
    frame = _canonical_columns(frame, law, k)
    missing = [v for v in law.variables if v not in frame]
    if missing:
        from .io.columns import SYNONYMS, show
        tried = "; ".join(f"{v}: " + ", ".join(SYNONYMS.get(v, (v,))[:6]) for v in missing)
        raise ScalelawError(f"the candidates lack {', '.join(missing)} (law {law.name} reads "
                            f"{', '.join(law.variables)}; tried {tried}); they have "
                            f"{show(frame.columns)}: add or rename the column(s)")
    frame = frame.reset_index(drop=True)
    for v in law.variables:
        frame[v] = pd.to_numeric(frame[v], errors="coerce")
        if not np.all(np.isfinite(frame[v]) & (frame[v] > 0)):
            raise ScalelawError(f"candidate {v} must be positive numbers; row "
                                f"{int(np.argmax(~(np.isfinite(frame[v]) & (frame[v] > 0))))} is not")
    if len(frame) == 0:
        raise ScalelawError("no candidate runs given")
    return frame


def _canonical_columns(frame: pd.DataFrame, law, k: float) -> pd.DataFrame:
    """The candidates' columns of the law's variables under their canonical names, found by
    the synonyms ``fit`` uses (:func:`scalelaw.io.columns.resolve`: ``params`` is N,
    ``tokens`` is D, ...); D = C/(k·N) (or N = C/(k·D)) when the table has the other two, as
    :func:`~scalelaw.fitting.data.prepare_frame` derives it."""
    from .io.columns import resolve
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    want = [v for v in law.variables if v not in frame]
    if not want:
        return frame
    found = resolve(frame.columns, want, required=[], ambiguous=want)
    frame = frame.rename(columns={col: v for v, col in found.items() if col not in law.variables})
    if _is_nd(law) and "C" not in law.variables:
        size = {**resolve(frame.columns, ["N", "D", "C"], required=[]),
                **{v: v for v in ("N", "D") if v in frame}}
        if "C" in size:
            c = pd.to_numeric(frame[size["C"]], errors="coerce")
            if "D" not in frame and "N" in frame:
                frame["D"] = c / (k * pd.to_numeric(frame["N"], errors="coerce"))
            elif "N" not in frame and "D" in frame:
                frame["N"] = c / (k * pd.to_numeric(frame["D"], errors="coerce"))
    return frame


def _cost_model(cost):
    """None (k·N·D, or the candidates' ``cost`` column) or a cost model of :mod:`scalelaw.costs`
    (a Cost, a spec text such as ``attention:n_ctx=8192,aspect=128``, or a callable)."""
    if cost is None:
        return None
    from .costs import as_cost
    return as_cost(cost)


def _costs(cost, frame, law, k) -> np.ndarray:
    if cost is None and "cost" in frame:
        c = pd.to_numeric(frame["cost"], errors="coerce").to_numpy(float)
    elif cost is None:
        if not {"N", "D"} <= set(frame):
            raise ScalelawError(f"law {law.name} has no N and D: give cost=callable(N, D) -> FLOPs "
                                "or a 'cost' column in the candidates")
        return k * frame["N"].to_numpy(float) * frame["D"].to_numpy(float)
    else:
        nan = np.full(len(frame), np.nan)
        N = frame["N"].to_numpy(float) if "N" in frame else nan
        D = frame["D"].to_numpy(float) if "D" in frame else nan
        try:
            c = np.asarray(cost(N, D), dtype=float)
            if c.shape != (len(frame),):
                c = np.broadcast_to(c, (len(frame),)).astype(float)
        except (TypeError, ValueError):
            c = np.array([float(cost(n, d)) for n, d in zip(N, D)])
    if not np.all(np.isfinite(c) & (c > 0)):
        raise ScalelawError("the cost model gave a non-positive or non-finite cost for some "
                            "candidates: costs are FLOPs > 0")
    return c


def _distances(fit, law, frame):
    """Per run of ``frame``: how far it lies outside the fitted region
    (:func:`scalelaw.fitting.bands.extrapolation_distance`, as ``predict`` measures it: the
    largest factor over the law's variables and the compute N·D) and its label."""
    from .fitting.bands import extrapolation_distance, interval_labels
    if frame.empty:
        return np.ones(0), []
    x = _frame_x(law, {v: frame[v].to_numpy(float) for v in law.variables})
    dist, which = extrapolation_distance(getattr(fit, "domain", None) or {}, x,
                                         getattr(fit, "compute_range", None))
    if len(dist) != len(frame):
        return np.ones(len(frame)), ["interpolation"] * len(frame)
    return np.asarray(dist, dtype=float), interval_labels(dist, which)


# --------------------------------------------------------------------------- suggestions
def suggest_runs(fit, target: Mapping[str, float], budget: float, n: int = 4, *,
                 candidates: Any = None, cost: Any = None,
                 flops_per_token: float | None = None, new_run_sd: float | None = None,
                 cov: Any = None, alpha: float = 0.05, repeat: bool = False,
                 points: int = 9, spread: float = 8.0,
                 outside: float | None = 2.0) -> pd.DataFrame:
    """The runs that shrink the forecast's interval at ``target`` the most per FLOP.

    Parameters
    ----------
    fit
        A fitted scaling law (:class:`~scalelaw.fitting.FitResult`, e.g. from
        ``scalelaw.fit(runs, "chinchilla")`` or ``FitResult.from_json``).
    target
        ``{"C": 1e24}``: the compute-optimal loss ``L*(C)`` at ``C`` FLOPs (``C = k·N·D``;
        laws in N and D); or the law's variables, ``{"N": 7e10, "D": 1.4e12}``.
    budget
        FLOPs to spend (the sum of the chosen runs' costs is at most this).
    n
        Most runs to suggest.
    candidates
        The runs to choose from: a table with the law's variables under any name ``fit``
        reads (``N``/``params``/..., ``D``/``tokens``/...; or N and the compute ``C``, from
        which ``D = C/(k·N)``, as :func:`scalelaw.fit` derives it; other columns are carried
        along).  Default: IsoFLOP lines two per decade from the fit's smallest run's compute
        (at least ``budget/1e4``) up to ``budget``, plus the line at ``budget/n``; on each,
        ``points`` sizes from ``N*/spread`` to ``N*·spread`` around the fitted
        compute-optimal ``N*(C)`` (:func:`isoflop_grid`), and for a target given as
        ``(N, D)`` as many again around the target's tokens per parameter; of these, those
        within ``outside`` of the fitted region.
    cost
        The cost model, ``cost(N, D) -> FLOPs``: anything :func:`scalelaw.costs.as_cost`
        takes (a cost model, a spec such as ``"attention:n_ctx=8192,aspect=128"``, or any
        vectorised callable).  The default candidates then lie on its equal-cost curves
        (``cost.tokens(N, C)``).  Default: the candidates' ``cost`` column when they have
        one, else ``k·N·D`` with ``k = flops_per_token``.
    new_run_sd
        Standard deviation of one new run's loss about the law, on the fit's scale (log loss
        for a log-space fit).  Default: from the fit (run-to-run plus evaluation noise when
        replicates identified them, else the residual scale;
        :func:`~scalelaw.fitting.bands.new_run_variance`).
    cov
        Σ: None / ``"asymptotic"`` (``fit.cov``, the sandwich covariance), ``"bootstrap"``
        (the covariance of ``fit.boot``) or a matrix over the free parameters.
    alpha
        ``1 − confidence level`` of the intervals reported.
    repeat
        Allow a candidate to be chosen more than once (a second seed of the same run).
    outside
        Keep the default candidates whose ``N`` and tokens per parameter ``D/N`` lie within
        this factor of the fitted runs' ranges (:func:`fitted_region`; default 2: at most
        twice as large or half as small).  ``None`` (or ``inf``): no limit.  The compute of
        a candidate is not limited (runs up to the budget extend the fit in compute, and the
        ``extrapolation`` column says by how much).  Given candidates are never dropped.
    flops_per_token
        ``k`` in ``C = k·N·D``.  Default: the ``k`` the fit derived a variable with
        (``D = C/(k·N)``, in its columns), else 6; another ``k`` than the fit's is refused.

    Returns
    -------
    DataFrame, one row per suggested run in the order chosen: ``rank`` (1 = first),
    the candidate's columns (``N``, ``D``, ...), ``C`` (``k·N·D``, FLOPs), ``cost`` (FLOPs),
    ``cum_cost``, ``loss_pred`` (the fitted law there, nats), ``charged`` (the FLOPs the
    choice charged it: its cost, or an even share ``left / (n − rank + 1)`` of the budget
    left when it is cheaper than that), ``var_reduction`` (the drop of the target's
    variance, on the fit's scale, this run adds given the runs above it),
    ``reduction_per_flop`` (``var_reduction / charged``, what each step maximises),
    ``target_sd`` and ``target_lower`` / ``target_upper`` (the target's sd and interval once
    this run and those above it are added), ``extrapolation`` (how far the run lies outside
    the fitted region, as ``predict`` measures it: the largest factor over N, D and the
    compute N·D, 1 = inside; :func:`~scalelaw.fitting.bands.extrapolation_distance`).  ``attrs``: ``target`` (the forecast now, as
    :func:`target_forecast`), ``sd_before``, ``sd_after``, ``lower_before``/``upper_before``,
    ``lower_after``/``upper_after``, ``budget``, ``spent``, ``new_run_sd``, ``cov``
    (its source), ``unit`` (nats), ``outside`` and ``region`` (the limit on the default
    candidates), ``notes`` (parameters on bounds, a singular Σ, a fit that is not least
    squares, runs outside the fitted region, less than half the budget spent)
    and ``candidates`` (every candidate with its ``cost``, ``charged`` at the first step, its
    one-run ``var_reduction`` and ``reduction_per_flop`` before any choice, and ``chosen``).

    The update adds least-squares information (``j jᵀ/σ²``) to Σ: for a fit with another
    objective (the default Huber, δ = 1e-3 on log loss) the predicted shrink is what a
    least-squares refit would gain, and a ScalelawWarning says so.  Fits of a law that
    predicts a metric rather than a loss (``law.target == "metric"``, e.g. the logit link)
    are refused.
    """
    law = _check_fit(fit)
    k = _fit_k(fit, flops_per_token)
    factor = _check_outside(outside)
    try:
        budget = float(budget)
        n = int(n)
    except (TypeError, ValueError):
        raise ScalelawError("the budget must be a number of FLOPs and n a whole number") from None
    if not (math.isfinite(budget) and budget > 0):
        raise ScalelawError(f"the budget must be a positive number of FLOPs, got {budget:g}")
    if n < 1:
        raise ScalelawError(f"n={n}: ask for at least 1 run")
    _parse_target(law, target)                    # a bad target before any warning
    notes: list[str] = []
    from .fitting.select import stacked_note
    stacked = stacked_note(fit)
    if stacked:
        warnings.warn(stacked, ScalelawWarning, stacklevel=2)
        notes.append(stacked)
    bound = dict(getattr(fit, "at_bound", {}) or {})
    if bound:
        msg = (f"parameter(s) {', '.join(f'{p} (on its {s} bound)' for p, s in bound.items())}: the "
               "covariance treats them as interior estimates, so the suggested runs may aim at a "
               "direction the bound rules out; refit with them fixed (fix=) or with wider bounds")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
    settings = getattr(fit, "settings", None)
    loss_kind = getattr(settings, "loss", "l2")
    if loss_kind != "l2" or getattr(settings, "overpredict", 0.0):
        what = (f"huber (delta {getattr(settings, 'delta', float('nan')):g})" if loss_kind == "huber"
                else str(loss_kind))
        if getattr(settings, "overpredict", 0.0):
            what += f" with an overprediction penalty {settings.overpredict:g}"
        msg = (f"the fit's objective is {what}, not least squares: the predicted shrink adds "
               "least-squares information to its covariance, and a refit with this objective "
               "gains less (docs/suggest.md); fit with objective='l2' (--objective l2) for "
               "figures that hold")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
    S, free, source = _covariance(fit, cov, notes)
    q, g, run = _target(fit, law, target, k, free)
    log = _scale(fit)
    far = _extrapolation_note(fit, run)
    if far:
        notes.append(far)
    if new_run_sd is None:
        from .fitting.bands import new_run_variance
        s2 = new_run_variance(fit)
        if not s2 > 0:
            raise ScalelawError("the fit has no residual scale to take the noise of a new run "
                                "from (a perfect fit?): give new_run_sd")
    else:
        try:
            s2 = float(new_run_sd) ** 2
        except (TypeError, ValueError):
            raise ScalelawError(f"new_run_sd={new_run_sd!r} is not a number") from None
        if not (math.isfinite(s2) and s2 > 0):
            raise ScalelawError(f"new_run_sd must be positive, got {new_run_sd!r}")

    model = _cost_model(cost)
    if candidates is None:
        if not _is_nd(law):
            raise ScalelawError(f"default candidates are IsoFLOP lines in N and D; law {law.name} "
                                f"reads {', '.join(law.variables)}: give the candidate runs")
        ratio = run["D"] / run["N"] if "C" not in run else None
        frame = _keep_inside(_default_candidates(fit, law, budget, n, k, points, spread, ratio,
                                                 model), fit, factor)
    else:
        frame = _as_candidates(candidates, law, k)
    costs = _costs(model, frame, law, k)
    cheapest = float(costs.min())
    if cheapest > budget:
        raise ScalelawError(f"the budget ({budget:.3g} FLOPs) is below the cheapest candidate run "
                            f"({cheapest:.3g} FLOPs): give a budget of at least {cheapest:.3g} "
                            "FLOPs, or cheaper candidates")
    p = fit.params.to_numpy(dtype=float)
    cols = {v: frame[v].to_numpy(float) for v in law.variables}
    pred = _predict(law, p, cols)
    J = _jacobian(law, p, cols)[:, [law.param_names.index(c) for c in free]]
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            J = J / pred[:, None]
    usable = np.isfinite(pred) & (pred > 0) & np.all(np.isfinite(J), axis=1)
    if not usable.all():
        msg = (f"{int((~usable).sum())} candidate(s) where the fitted law's loss is not positive "
               "(outside its valid region) left out")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
        if not usable.any():
            raise ScalelawError("the fitted law's loss is not positive at any candidate run: "
                                "check the fit and the candidates")
    J = np.where(usable[:, None], J, 0.0)

    var0 = float(g @ S @ g)
    first, _, _ = _reductions(S, g, J, s2)
    first = np.where(usable, first, 0.0)
    chosen: list[int] = []
    steps: list[tuple[float, float]] = []
    left = budget
    available = usable.copy()
    var = var0
    tiny = 1e-12 * max(var0, 1e-300)
    for step in range(n):
        affordable = available & (costs <= left * (1 + 1e-12))
        if not affordable.any():
            break
        red, SJ, denom = _reductions(S, g, J, s2)
        charged = np.maximum(costs, left / (n - step))
        ratio = np.where(affordable, red / charged, -np.inf)
        i = int(np.argmax(ratio))
        if not red[i] > tiny:
            notes.append("no remaining candidate reduces the target's variance: stopped early")
            break
        chosen.append(i)
        steps.append((float(red[i]), float(charged[i]), float(red[i] / charged[i])))
        S = S - np.outer(SJ[i], SJ[i]) / denom[i]
        S = (S + S.T) / 2
        var = max(float(g @ S @ g), 0.0)
        left -= costs[i]
        if not repeat:
            available[i] = False
    spent = budget - left

    rows = frame.iloc[chosen].reset_index(drop=True).copy()
    rows.insert(0, "rank", np.arange(1, len(chosen) + 1))
    if {"N", "D"} <= set(rows) and "C" not in rows:
        rows["C"] = k * rows["N"].to_numpy(float) * rows["D"].to_numpy(float)
    rows["cost"] = costs[chosen]
    rows["cum_cost"] = np.cumsum(costs[chosen])
    rows["loss_pred"] = pred[chosen]
    rows["charged"] = [s[1] for s in steps]
    rows["var_reduction"] = [s[0] for s in steps]
    rows["reduction_per_flop"] = [s[2] for s in steps]
    sds = np.sqrt(np.clip(var0 - np.cumsum([s[0] for s in steps]), 0, None))
    rows["target_sd"] = sds
    bands = [_band(q, float(s), log, alpha) for s in sds]
    rows["target_lower"] = [b[0] for b in bands]
    rows["target_upper"] = [b[1] for b in bands]
    dist, labels = _distances(fit, law, rows)
    rows["extrapolation"] = dist
    far = dist > _INSIDE
    if far.any():
        worst = int(np.argmax(dist))
        notes.append(f"{int(far.sum())} of the {len(rows)} suggested run(s) lie outside the fitted "
                     f"region (farthest: rank {worst + 1}, {labels[worst]}; column extrapolation): "
                     "what they are worth assumes the law holds there")

    if spent < 0.5 * budget:
        why = ("no remaining candidate fits in what is left" if len(chosen) < n else
               f"the {len(chosen)} best run(s) per FLOP cost that much")
        hint = ("widen the candidates' region (outside=, --outside) or give candidates"
                if candidates is None and math.isfinite(factor) else
                "give larger candidates, raise n, or a smaller budget")
        notes.append(f"only {spent:.3g} of the {budget:.3g} FLOPs ({100 * spent / budget:.0f}%) are "
                     f"spent: {why}; {hint}")
    table = frame.copy()
    table["cost"] = costs
    table["charged"] = np.maximum(costs, budget / n)
    table["var_reduction"] = first
    table["reduction_per_flop"] = first / table["charged"].to_numpy()
    table["chosen"] = False
    table.loc[table.index[chosen], "chosen"] = True
    sd0, sd1 = math.sqrt(max(var0, 0.0)), math.sqrt(var)
    lo0, hi0 = _band(q, sd0, log, alpha)
    lo1, hi1 = _band(q, sd1, log, alpha)
    rows.attrs.update(target={"loss": q, **run, "sd": sd0, "var": var0, "loss_lower": lo0,
                              "loss_upper": hi0, "free": free},
                      sd_before=sd0, sd_after=sd1, lower_before=lo0, upper_before=hi0,
                      lower_after=lo1, upper_after=hi1, budget=budget, spent=spent,
                      new_run_sd=math.sqrt(s2), cov=source, alpha=alpha, flops_per_token=k,
                      unit="nats", outside=factor, region=fitted_region(fit),
                      scale="log loss" if log else "loss", notes=notes,
                      candidates=table.sort_values("reduction_per_flop", ascending=False,
                                                   kind="stable").reset_index(drop=True))
    return rows
