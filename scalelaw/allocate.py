"""Compute-optimal allocation: how to split a FLOP budget between parameters and tokens.

Three routes, after Hoffmann et al. (2022):

* :func:`compute_optimal` / :func:`exponents` -- closed form from a fitted chinchilla law
  ``L(N, D) = E + A/N^alpha + B/D^beta`` (Approach 3), with percentile intervals over
  bootstrap draws of the parameters.
* :func:`isoflop` -- IsoFLOP profiles (Approach 2): per compute budget a robust parabola
  (or, ``profile="cubic"``, a cubic) of loss in log N, its minimum N*(C), then
  ``log N* = a log C + const`` by OLS; a check flags parabola vertices biased by asymmetric
  profiles.
* :func:`lower_envelope` -- Approach 1: the minimum-loss point per log-spaced FLOP bin, then
  the same regression.

Units and conventions
---------------------
* ``C`` is training compute in FLOPs, ``N`` parameters, ``D`` training tokens, loss in
  whatever unit the fit used (nats per token for scalelaw fits).
* ``C = k N D`` with ``k = flops_per_token`` (default 6: forward + backward pass,
  Kaplan et al. 2020). For other cost models (the attention term with context length,
  per-example costs, a cost law fitted to recorded FLOPs: :mod:`scalelaw.costs`) pass
  ``cost=``: :func:`compute_optimal` then minimizes the loss along that cost's equal-cost
  curves, and :func:`isoflop` / :func:`lower_envelope` price the runs by it.
  (``flops_per_token_param``, the old name, still works for one release with a
  DeprecationWarning.)
* Intervals are columns / keys ``<name>_lower`` and ``<name>_upper``.
* The loss is evaluated by the law itself (:class:`scalelaw.laws.scaling.Chinchilla`); this
  module adds only the closed-form optimum of that law under ``C = k N D``.
* ``N`` is whichever parameter count the law was fitted on: Chinchilla counts all parameters
  (embeddings included), Kaplan non-embedding parameters. The allocation is in that count.

All logarithms are natural unless said otherwise; the exponents do not depend on the base.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .errors import ScalelawError, ScalelawWarning, deprecated
from .io.columns import show
from .laws.scaling import Chinchilla

#: the law whose compute-optimal allocation this module computes (it evaluates the loss)
_LAW = Chinchilla()
#: parameter names of the chinchilla law, in the law's order (the column order of array draws)
PARAM_NAMES: tuple[str, ...] = tuple(Chinchilla.param_names)
_ALIASES = {"α": "alpha", "β": "beta", "e": "E", "a": "A", "b": "B"}

__all__ = ["PARAM_NAMES", "exponents", "compute_optimal", "chinchilla_loss",
           "isoflop", "lower_envelope", "IsoFlopResult", "params_from_fit", "frontier_constants"]


# --------------------------------------------------------------------------- parameters
def _law_name(law) -> str | None:
    if law is None:
        return None
    if isinstance(law, str):
        return law
    if isinstance(law, Mapping):
        return law.get("name")
    return getattr(law, "name", None)


def _as_param_dict(params: Any) -> dict[str, float]:
    """A mapping/Series with E, A, B, alpha, beta -> dict of floats (validated)."""
    if isinstance(params, pd.Series):
        params = params.to_dict()
    if not isinstance(params, Mapping):
        raise ScalelawError(f"the parameters must be a mapping of E, A, B, alpha, beta, "
                            f"not {type(params).__name__}")
    p = {}
    for k, v in params.items():
        k = str(k)
        p[_ALIASES.get(k, k) if k not in PARAM_NAMES else k] = v
    missing = [k for k in PARAM_NAMES if k not in p]
    if missing:
        raise ScalelawError(f"the parameters lack {', '.join(missing)}: compute-optimal allocation "
                            f"needs the chinchilla law E + A/N^alpha + B/D^beta; fit that law first")
    out = {}
    for k in PARAM_NAMES:
        try:
            out[k] = float(p[k])
        except (TypeError, ValueError):
            raise ScalelawError(f"parameter {k} is not a number: {p[k]!r}") from None
        if not math.isfinite(out[k]):
            raise ScalelawError(f"parameter {k} is not finite ({out[k]}); refit the law")
    for k in ("A", "B", "alpha", "beta"):
        if out[k] <= 0:
            raise ScalelawError(f"parameter {k} = {out[k]:g} must be positive for a compute-optimal "
                                f"allocation to exist (loss must fall with N and D)")
    return out


def params_from_fit(fit: Any, draws: Any = None) -> tuple[dict[str, float], pd.DataFrame | None]:
    """Split ``fit`` into (params dict, draws DataFrame or None).

    ``fit`` is a :class:`scalelaw.fitting.FitResult`-like object (``.params``, ``.boot``,
    ``.law``), the fit's JSON document as a dict (``params``, optional ``bootstrap``,
    ``law``), or a plain mapping of E, A, B, alpha, beta.  ``draws`` (a DataFrame with those
    columns, or an array with them as columns in that order) overrides any draws in ``fit``.
    A law other than chinchilla is accepted only if it has the same parameters.
    """
    law = None
    boot = None
    from .fitting.select import stacked_note
    note = stacked_note(fit)
    if note:
        import warnings

        from .errors import ScalelawWarning
        warnings.warn(note, ScalelawWarning, stacklevel=3)
    if hasattr(fit, "params") and not isinstance(fit, Mapping):
        law = getattr(fit, "law", None)
        params = fit.params
        boot = getattr(fit, "boot", None)
    elif isinstance(fit, Mapping) and "params" in fit and isinstance(fit["params"], Mapping):
        law = fit.get("law")
        params = fit["params"]
        boot = fit.get("bootstrap")
    else:
        params = fit
    name = _law_name(law)
    if isinstance(params, pd.Series):
        params = params.to_dict()
    if name is not None and str(name).lower() != "chinchilla":
        keys = {(_ALIASES.get(str(k), str(k)) if str(k) not in PARAM_NAMES else str(k))
                for k in (params or {})} if isinstance(params, Mapping) else set()
        if not set(PARAM_NAMES) <= keys:
            raise ScalelawError(f"law {name!r} has no compute-optimal closed form here (needs the "
                                f"chinchilla parameters E, A, B, alpha, beta); fit the chinchilla law")
    p = _as_param_dict(params)
    d = _as_draws(draws if draws is not None else boot)
    return p, d


def _as_draws(draws: Any) -> pd.DataFrame | None:
    if draws is None:
        return None
    if isinstance(draws, Mapping):
        try:
            draws = pd.DataFrame({str(k): list(v) for k, v in draws.items()})
        except (TypeError, ValueError) as e:
            raise ScalelawError(f"bootstrap draws are malformed ({e}); give one list per parameter "
                                f"of equal length") from None
    if isinstance(draws, pd.DataFrame):
        draws = draws.rename(columns={c: _ALIASES.get(str(c), str(c)) for c in draws.columns
                                      if str(c) not in PARAM_NAMES})
        missing = [k for k in PARAM_NAMES if k not in draws.columns]
        if missing:
            raise ScalelawError(f"bootstrap draws lack {', '.join(missing)}")
        df = draws[list(PARAM_NAMES)]
    else:
        arr = np.asarray(draws, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != len(PARAM_NAMES):
            raise ScalelawError(f"bootstrap draws must have {len(PARAM_NAMES)} columns "
                                f"({', '.join(PARAM_NAMES)}); got shape {arr.shape}")
        df = pd.DataFrame(arr, columns=list(PARAM_NAMES))
    try:
        df = df.astype(float)
    except (TypeError, ValueError):
        raise ScalelawError("bootstrap draws contain non-numeric values") from None
    if len(df) == 0:
        return None
    return df.reset_index(drop=True)


def _valid_draws(draws: pd.DataFrame | None) -> pd.DataFrame | None:
    """Drop draws for which no optimum exists (non-positive A, B, alpha, beta; non-finite)."""
    if draws is None:
        return None
    ok = np.isfinite(draws.to_numpy()).all(axis=1)
    for k in ("A", "B", "alpha", "beta"):
        ok &= draws[k].to_numpy() > 0
    n_bad = int((~ok).sum())
    if n_bad:
        warnings.warn(f"{n_bad} of {len(draws)} bootstrap draws have non-positive or non-finite "
                      f"A, B, alpha or beta and were left out of the intervals", ScalelawWarning,
                      stacklevel=3)
    out = draws[ok]
    if len(out) < 2:
        warnings.warn("fewer than 2 usable bootstrap draws: no intervals", ScalelawWarning, stacklevel=3)
        return None
    return out


def _check_level(alpha: float) -> float:
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise ScalelawError(f"the significance level (1 - confidence level) must be between 0 and 1, "
                            f"e.g. 0.05; got {alpha:g}")
    return alpha


def _as_compute(compute: Any) -> np.ndarray:
    c = np.atleast_1d(np.asarray(compute, dtype=float)).ravel()
    if c.size == 0:
        raise ScalelawError("no compute budget given; pass one or more FLOP counts, e.g. 1e24")
    bad = c[~(np.isfinite(c) & (c > 0))]
    if bad.size:
        raise ScalelawError(f"compute must be a positive, finite FLOP count; got {bad[0]:g}")
    return c


def _check_k(k: float) -> float:
    k = float(k)
    if not (math.isfinite(k) and k > 0):
        raise ScalelawError(f"the FLOPs per token (k in C = k·N·D) must be positive and finite, "
                            f"e.g. 6; got {k:g}")
    return k


# --------------------------------------------------------------------------- closed form
def _param_vector(q: Mapping[str, Any]) -> np.ndarray:
    """Parameters by name -> the law's parameter vector, shape ``(..., 5)`` in the order of
    ``Chinchilla.param_names`` (scalars give ``(5,)``, 1-D draws ``(n_draws, 5)``)."""
    return np.stack([np.asarray(q[n], dtype=float) for n in _LAW.param_names], axis=-1)


def _law_loss(q: Mapping[str, Any], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    """The chinchilla law's loss at ``N``, ``D`` through :class:`~scalelaw.laws.scaling.Chinchilla`.

    ``q`` holds scalars (``N``, ``D`` any shape) or 1-D draws of length ``n`` (``N``, ``D``
    of shape ``(n, m)``: one row per draw).
    """
    return _LAW.evaluate({"N": N, "D": D}, _param_vector(q))


def chinchilla_loss(params: Mapping[str, float], N: ArrayLike, D: ArrayLike) -> np.ndarray:
    """``E + A/N^alpha + B/D^beta`` for parameters ``N`` and tokens ``D`` (arrays broadcast).

    A thin wrapper of :class:`scalelaw.laws.scaling.Chinchilla` with validated parameters;
    loss in the unit the law was fitted in.
    """
    p = _as_param_dict(params)
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    shape = np.broadcast_shapes(N.shape, D.shape)
    return _law_loss(p, N, D).reshape(shape)


def _exp_arrays(q: Mapping[str, Any]):
    """Exponents a, b and ln G of the optimum (scalars or one value per draw)."""
    A, B, al, be = (np.asarray(q[n], dtype=float) for n in ("A", "B", "alpha", "beta"))
    s = al + be
    a = be / s
    b = al / s
    logG = (np.log(al * A) - np.log(be * B)) / s
    return a, b, logG


def frontier_constants(q: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``E, K, γ`` of the compute-optimal frontier ``L*(C) = E + K·(C/k)^−γ`` of chinchilla.

    The allocation of :func:`compute_optimal` (``N* = G·(C/k)^a``, ``D* = (C/k)^b / G``)
    substituted into ``E + A/N^α + B/D^β``: ``γ = αβ/(α+β)``, ``K = A·G^−α + B·G^β``,
    ``G = (αA/(βB))^(1/(α+β))``.  ``q`` maps ``E, A, B, alpha, beta`` to scalars or to one
    value per draw (arrays of one shape, not validated here: positive A, B, alpha, beta);
    the three arrays have that shape.  K is in the law's loss unit (nats per token for
    scalelaw fits), C in FLOPs and ``k`` the FLOPs per token of ``C = k·N·D``.
    """
    al, be = (np.asarray(q[n], dtype=float) for n in ("alpha", "beta"))
    A, B = (np.asarray(q[n], dtype=float) for n in ("A", "B"))
    _, _, logG = _exp_arrays(q)
    K = A * np.exp(-al * logG) + B * np.exp(be * logG)
    return np.asarray(q["E"], dtype=float), K, al * be / (al + be)


def _optimum_arrays(q: Mapping[str, Any], logc: np.ndarray):
    """N_opt, D_opt, loss_opt at ``logc = ln(C/k)`` (1-D, one per budget).

    Scalar parameters give arrays of shape ``(budgets,)``; 1-D draws ``(draws, budgets)``.
    The closed form is the allocation; the loss at the optimum is the law's.
    """
    a, b, logG = _exp_arrays(q)
    logN = logG[..., None] + a[..., None] * logc
    logD = -logG[..., None] + b[..., None] * logc
    N, D = np.exp(logN), np.exp(logD)
    return N, D, _law_loss(q, N, D)


def exponents(params: Any, *, draws: Any = None, alpha: float = 0.05) -> dict[str, float]:
    """Allocation exponents of a chinchilla law.

    ``N_opt ∝ C^a`` and ``D_opt ∝ C^b`` with ``a = beta/(alpha+beta)``,
    ``b = alpha/(alpha+beta)`` (so ``a + b = 1``), and the prefactor
    ``G = (alpha·A / (beta·B))^(1/(alpha+beta))`` in ``N_opt = G·(C/k)^a``.

    ``params`` is anything :func:`params_from_fit` accepts.  With bootstrap draws (given or
    carried by ``params``) the result also holds percentile intervals ``a_lower``,
    ``a_upper``, ``b_lower``, ``b_upper``, ``G_lower``, ``G_upper`` at level ``1 - alpha``
    and ``n_draws``.
    """
    alpha = _check_level(alpha)
    p, d = params_from_fit(params, draws)
    a, b, logG = _exp_arrays(p)
    out = {"a": float(a), "b": float(b), "G": float(np.exp(logG))}
    d = _valid_draws(d)
    if d is not None:
        da, db, dlogG = _exp_arrays({n: d[n].to_numpy() for n in PARAM_NAMES})
        q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
        for name, v in (("a", da), ("b", db), ("G", np.exp(dlogG))):
            lo, hi = np.percentile(v, q)
            out[f"{name}_lower"], out[f"{name}_upper"] = float(lo), float(hi)
        out["n_draws"] = int(len(d))
    return out


def _flops_per_token(func: str, k: float, old: float | None) -> float:
    """``k`` from the keyword ``flops_per_token`` or its deprecated name (warns once)."""
    if old is not None:
        deprecated(f"{func}(flops_per_token_param=...)", "flops_per_token=", stacklevel=4)
        if k != 6.0 and float(old) != float(k):
            raise ScalelawError(f"two different FLOPs per token given ({k:g} and {old:g}) under the "
                                f"new and the deprecated name; give it once")
        k = old
    return _check_k(k)


def compute_optimal(params: Any, compute: ArrayLike, *, draws: Any = None,
                    flops_per_token: float = 6.0, alpha: float = 0.05,
                    flops_per_token_param: float | None = None, cost: Any = None) -> pd.DataFrame:
    """Compute-optimal model size and data for each FLOP budget.

    Parameters
    ----------
    params
        The fitted chinchilla law: a FitResult-like object, the fit's JSON document as a
        dict, or a mapping / Series of ``E, A, B, alpha, beta``.
    compute
        One or more training budgets in FLOPs (positive).
    draws
        Bootstrap draws of the parameters (DataFrame with columns E, A, B, alpha, beta, or an
        array with the columns in the order of :data:`PARAM_NAMES`); defaults to the draws
        carried by ``params`` (``.boot`` / ``"bootstrap"``).  Without draws no interval
        columns are produced.
    flops_per_token
        ``k`` in ``C = k·N·D`` (6 = forward + backward, the Chinchilla/Kaplan convention).
    alpha
        ``1 - confidence level`` of the percentile intervals (0.05 -> 95 %).
    flops_per_token_param
        Deprecated name of ``flops_per_token`` (kept for one release).
    cost
        A cost model ``cost(N, D) -> FLOPs`` (:mod:`scalelaw.costs`: a Cost, a spec text such
        as ``"attention:n_ctx=8192,aspect=128"``, a config mapping, or any vectorized
        callable).  ``None`` or a dense cost keeps the closed form under ``C = k·N·D``.  Any
        other cost is allocated along its equal-cost curve: per budget (and per bootstrap
        draw) the law's loss ``L(N, D(N))`` with ``cost(N, D(N)) = C`` is minimized over
        ``ln N`` by a vectorized grid search (its last grid step is ~1e-14 in ``ln N``, but
        the loss is flat at its minimum, so in double precision ``N_opt`` and ``D_opt`` are
        found to ~1e-7 relative, measured 2e-7 against the closed form, and ``loss_opt`` to
        ~1e-12).  The cost must be increasing in N and D (checked on the search grid).

    Returns
    -------
    DataFrame, one row per budget: ``C`` (FLOPs), ``N_opt`` (parameters, in the count the
    law was fitted on), ``D_opt`` (tokens), ``tokens_per_param`` (``D_opt/N_opt``),
    ``loss_opt`` (the law's loss at the optimum), and with draws ``<col>_lower`` /
    ``<col>_upper`` for each of those.  ``N_opt = G·(C/k)^a``, ``D_opt = (C/k)^b / G``.
    ``attrs`` holds ``a``, ``b``, ``G`` (and their intervals with draws),
    ``flops_per_token``, ``alpha``, ``n_draws``.

    With a cost other than dense the exponents are not constants: the frame has no ``a``,
    ``b``, ``G`` in ``attrs`` but ``cost`` (the cost's JSON record), ``method`` ``"numeric"``
    and, for costs with a dense ``k·N·D`` part, a column ``dense_fraction`` (``k·N·D/C`` at
    the optimum: the share of the budget the dense term accounts for).
    """
    alpha = _check_level(alpha)
    k = _flops_per_token("compute_optimal", flops_per_token, flops_per_token_param)
    model = None
    if cost is not None:
        from .costs import DenseCost, as_cost
        model = as_cost(cost)
        if isinstance(model, DenseCost):
            if k != 6.0 and k != model.flops_per_token:
                raise ScalelawError(f"two different FLOPs per token given ({k:g} and the dense "
                                    f"cost's {model.flops_per_token:g}); give it once")
            k, model = model.flops_per_token, None
    p, d = params_from_fit(params, draws)
    c = _as_compute(compute)
    if model is not None:
        return _cost_optimal(p, d, c, model, alpha)
    logc = np.log(c) - np.log(k)
    N, D, loss = _optimum_arrays(p, logc)
    out = pd.DataFrame({"C": c, "N_opt": N, "D_opt": D, "tokens_per_param": D / N,
                        "loss_opt": loss})
    d = _valid_draws(d)
    ex = exponents(p, draws=d, alpha=alpha)     # draws already checked: no second warning
    if d is not None:
        dN, dD, dL = _optimum_arrays({n: d[n].to_numpy() for n in PARAM_NAMES}, logc)
        q = [100 * alpha / 2, 100 * (1 - alpha / 2)]       # arrays above: (draws, budgets)
        for name, v in (("N_opt", dN), ("D_opt", dD), ("tokens_per_param", dD / dN),
                        ("loss_opt", dL)):
            lo, hi = np.percentile(v, q, axis=0)
            out[f"{name}_lower"] = lo
            out[f"{name}_upper"] = hi
    out.attrs.update(ex)
    out.attrs.update(flops_per_token=k, alpha=alpha, n_draws=0 if d is None else int(len(d)))
    return out


# --------------------------------------------------------------------------- any cost model
#: the search along an equal-cost curve: a coarse grid over ln N (±_SPAN around the dense
#: optimum, _GRID points), then _ROUNDS zooms of _ZOOM points over ±1 step of the best point
_SPAN, _GRID, _ZOOM, _ROUNDS = 12.0, 97, 9, 22


def _loss_on(q: Mapping[str, Any], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    """The law's loss at ``N``, ``D`` of shape ``(draws, ...)`` for 1-D draws ``q`` (or any
    shape for scalars); NaN (unreachable budgets) becomes +inf."""
    lead = np.ndim(q["A"])
    shape = N.shape
    if lead:
        N, D = N.reshape(shape[0], -1), D.reshape(shape[0], -1)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        L = _law_loss(q, N, D)
    L = np.where(np.isfinite(L), L, np.inf)
    return L.reshape(shape)


def _curve_tokens(cost, N: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Tokens on the equal-cost curve, NaN where there is less than one parameter or token."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        D = np.asarray(cost.tokens(N, C), dtype=float)
    return np.where((N >= 1) & (D >= 1), D, np.nan)


def _search_cost(q: Mapping[str, Any], logC: np.ndarray, cost, check=None) -> tuple:
    """Minimize ``L(N, D(N))`` on ``cost(N, D(N)) = C`` over ``x = ln N``.

    ``q``: parameter scalars, or 1-D draws of length n; ``logC``: (budgets,).  Returns
    ``(N, D, L, edge)`` of shape (budgets,) or (n, budgets); ``edge`` marks optima at the
    edge of the search window.  ``check(N, D)`` is called on the first grid's reachable
    points (the cost checks) before the search goes on.
    """
    a, b, logG = _exp_arrays(q)
    a, logG = np.asarray(a)[..., None], np.asarray(logG)[..., None]
    C = np.exp(logC)
    # centre: the dense optimum under the cost's FLOPs per token near the k = 6 optimum
    N0 = np.exp(logG + a * (logC - math.log(6.0)))
    D0 = C / (6.0 * N0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        keff = np.asarray(cost(N0, D0), dtype=float) / (N0 * D0)
    keff = np.where(np.isfinite(keff) & (keff > 0), keff, 6.0)
    x0 = logG + a * (logC - np.log(keff))
    step = 2 * _SPAN / (_GRID - 1)
    xs = (x0 - _SPAN)[..., None] + step * np.arange(_GRID)
    Cg = np.broadcast_to(C[:, None], xs.shape)
    lo_edge, hi_edge = xs[..., 0], xs[..., -1]
    for r in range(_ROUNDS + 1):
        N = np.exp(xs)
        D = _curve_tokens(cost, N, Cg)
        if r == 0 and check is not None:
            ok = np.isfinite(D)
            check(N[ok], D[ok])
        L = _loss_on(q, N, D)
        i = np.argmin(L, axis=-1)[..., None]
        best = np.take_along_axis(xs, i, axis=-1)[..., 0]
        if r == _ROUNDS:
            break
        width = step
        step = 2 * width / (_ZOOM - 1)
        xs = (best - width)[..., None] + step * np.arange(_ZOOM)
        Cg = np.broadcast_to(C[:, None], xs.shape)
    N = np.exp(best)
    D = _curve_tokens(cost, N, np.broadcast_to(C, N.shape))
    L = _loss_on(q, N[..., None], D[..., None])[..., 0]
    edge = (best - lo_edge < 2 * (2 * _SPAN / (_GRID - 1))) | (hi_edge - best < 2 * (2 * _SPAN / (_GRID - 1)))
    edge |= ~np.isfinite(L)
    return N, D, L, edge


def _cost_optimal(p, d, c, cost, alpha) -> pd.DataFrame:
    """:func:`compute_optimal` along the equal-cost curves of ``cost`` (any cost model)."""
    from .costs import check_increasing

    logc = np.log(c)
    N, D, L, edge = _search_cost(p, logc, cost, check=lambda n, t: check_increasing(cost, n, t))
    if np.any(~np.isfinite(L)):
        bad = c[~np.isfinite(L)]
        raise ScalelawError(f"no allocation reaches a loss under the cost {cost.spec()} at "
                            f"C = {bad[0]:.3g} FLOPs (the budget buys not even one token at any "
                            f"model size searched); give a larger budget")
    notes = []
    if np.any(edge):
        msg = (f"the optimum under the cost {cost.spec()} lies at the edge of the searched model "
               f"sizes at C = {', '.join(f'{x:.3g}' for x in c[edge])}: it may lie beyond; check "
               f"the cost and the budget")
        warnings.warn(msg, ScalelawWarning, stacklevel=3)
        notes.append(msg)
    out = pd.DataFrame({"C": c, "N_opt": N, "D_opt": D, "tokens_per_param": D / N, "loss_opt": L})
    k = getattr(cost, "flops_per_token", None)
    if k:
        out["dense_fraction"] = k * N * D / c
    d = _valid_draws(d)
    if d is not None:
        q = {n: d[n].to_numpy() for n in PARAM_NAMES}
        dN, dD, dL, dedge = _search_cost(q, logc, cost)
        keep = ~dedge                                     # (draws, budgets)
        n_edge = int((~keep).any(axis=1).sum())
        if n_edge:
            msg = (f"{n_edge} of {len(d)} bootstrap draws put the optimum at the edge of the "
                   f"searched sizes (or reach no finite loss) and were left out of the intervals")
            warnings.warn(msg, ScalelawWarning, stacklevel=3)
            notes.append(msg)
        qs = [100 * alpha / 2, 100 * (1 - alpha / 2)]
        for name, v in (("N_opt", dN), ("D_opt", dD), ("tokens_per_param", dD / dN),
                        ("loss_opt", dL)):
            v = np.where(keep, v, np.nan)
            lo, hi = np.nanpercentile(v, qs, axis=0)
            out[f"{name}_lower"] = lo
            out[f"{name}_upper"] = hi
    out.attrs.update(cost=cost.to_dict(), method="numeric", flops_per_token=k, alpha=alpha,
                     n_draws=0 if d is None else int(len(d)), notes=notes)
    return out


# --------------------------------------------------------------------------- IsoFLOP / envelope
@dataclass
class IsoFlopResult:
    """Outcome of :func:`isoflop` or :func:`lower_envelope`.

    ``budgets``: one row per compute budget (``C`` FLOPs, ``N_star`` parameters, ``D_star``
    tokens, ``loss_star``, ``n_points``, ``status``, ``used``).  ``a`` / ``b``: the fitted
    exponents of ``N* ∝ C^a``, ``D* ∝ C^b`` with OLS confidence intervals
    ``[a_lower, a_upper]``, ``[b_lower, b_upper]`` at level ``1 - alpha``; ``log_kN`` /
    ``log_kD`` the intercepts (natural log), so ``N* = exp(log_kN)·C^a``.
    ``flops_per_token``: ``k`` in ``C = k·N·D``.  The tuples ``a_ci`` / ``b_ci`` and
    ``flops_per_token_param`` are deprecated read-only aliases (kept for one release).
    """

    method: str
    budgets: pd.DataFrame
    a: float
    a_lower: float
    a_upper: float
    a_se: float
    b: float
    b_lower: float
    b_upper: float
    b_se: float
    log_kN: float
    log_kD: float
    n_budgets: int
    flops_per_token: float = 6.0
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)
    #: the IsoFLOP profile per budget: "parabola" or "cubic" (in ln N)
    profile: str = "parabola"
    #: the cost model's JSON record when one other than C = k·N·D priced the runs, else None
    cost: dict | None = None

    def _cost_text(self) -> str:
        return self.cost["formula"] if self.cost else f"C = {self.flops_per_token:g}·N·D"

    @property
    def a_ci(self) -> tuple[float, float]:
        """Deprecated: ``(a_lower, a_upper)``."""
        deprecated("IsoFlopResult.a_ci", "a_lower and a_upper")
        return (self.a_lower, self.a_upper)

    @property
    def b_ci(self) -> tuple[float, float]:
        """Deprecated: ``(b_lower, b_upper)``."""
        deprecated("IsoFlopResult.b_ci", "b_lower and b_upper")
        return (self.b_lower, self.b_upper)

    @property
    def flops_per_token_param(self) -> float:
        """Deprecated: :attr:`flops_per_token`."""
        deprecated("IsoFlopResult.flops_per_token_param", "flops_per_token")
        return self.flops_per_token

    def predict(self, compute: ArrayLike) -> pd.DataFrame:
        """Extrapolated ``N_opt`` (parameters), ``D_opt`` (tokens) and their ratio at ``compute`` FLOPs."""
        c = _as_compute(compute)
        n = np.exp(self.log_kN + self.a * np.log(c))
        dd = np.exp(self.log_kD + self.b * np.log(c))
        return pd.DataFrame({"C": c, "N_opt": n, "D_opt": dd, "tokens_per_param": dd / n})

    def to_dict(self) -> dict:
        """JSON-serializable summary (budgets as a list of records)."""
        b = self.budgets.replace({np.nan: None})
        return {"method": self.method, "a": self.a, "a_lower": self.a_lower,
                "a_upper": self.a_upper, "a_se": self.a_se,
                "b": self.b, "b_lower": self.b_lower, "b_upper": self.b_upper, "b_se": self.b_se,
                "log_kN": self.log_kN, "log_kD": self.log_kD, "n_budgets": self.n_budgets,
                "flops_per_token": self.flops_per_token, "alpha": self.alpha,
                "convention": f"{self._cost_text()}; natural-log intercepts",
                "notes": list(self.notes), "budgets": b.to_dict(orient="records"),
                **({"profile": self.profile} if self.method == "isoflop" else {}),
                **({"cost": self.cost} if self.cost else {})}

    def summary(self) -> str:
        """Human-readable table of per-budget optima and the exponent fits."""
        lvl = f"{100 * (1 - self.alpha):g}%"
        title = "IsoFLOP profiles (Approach 2)" if self.method == "isoflop" else \
            "Lower envelope (Approach 1)"
        if self.method == "isoflop" and self.profile == "cubic":
            title += ", cubic in ln N"
        lines = [f"{title}, {self._cost_text()}",
                 f"{'C [FLOPs]':>11} {'points':>6} {'N* [params]':>12} {'D* [tokens]':>12} "
                 f"{'D*/N*':>8} {'loss*':>8}  status"]
        for r in self.budgets.itertuples(index=False):
            nstar = f"{r.N_star:12.4g}" if np.isfinite(r.N_star) else f"{'-':>12}"
            dstar = f"{r.D_star:12.4g}" if np.isfinite(r.D_star) else f"{'-':>12}"
            ratio = f"{r.D_star / r.N_star:8.3g}" if np.isfinite(r.N_star) else f"{'-':>8}"
            lstar = f"{r.loss_star:8.4f}" if np.isfinite(r.loss_star) else f"{'-':>8}"
            lines.append(f"{r.C:11.3g} {r.n_points:6d} {nstar} {dstar} {ratio} {lstar}  {r.status}")
        lines.append(f"N* ∝ C^a: a = {self.a:.4f}  [{lvl} CI {self.a_lower:.4f}, {self.a_upper:.4f}]"
                     f"  ({self.n_budgets} budgets, OLS)")
        lines.append(f"D* ∝ C^b: b = {self.b:.4f}  [{lvl} CI {self.b_lower:.4f}, {self.b_upper:.4f}]")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


def _tokens(C, N, k, cost):
    """Tokens that spend ``C`` FLOPs at ``N`` parameters: ``C/(k·N)``, or on ``cost``'s curve."""
    if cost is None:
        return C / (k * N)
    return np.asarray(cost.tokens(np.asarray(N, dtype=float), np.asarray(C, dtype=float)), dtype=float)


def _runs_cost(func: str, k: float, cost):
    """(k, cost model or None): a dense cost becomes its k (the closed-form convention)."""
    if cost is None:
        return k, None
    from .costs import DenseCost, as_cost
    model = as_cost(cost)
    if isinstance(model, DenseCost):
        if k != 6.0 and k != model.flops_per_token:
            raise ScalelawError(f"two different FLOPs per token given ({k:g} and the dense cost's "
                                f"{model.flops_per_token:g}); give it once")
        return model.flops_per_token, None
    return k, model


#: recorded C and a cost model's cost(N, D) may differ by this fraction (a cost law fitted to
#: recorded FLOPs misses by a few per cent); beyond it in the median run the table is refused,
#: beyond it in some runs only they are said in a warning and a note
COST_RTOL = 0.05


def _check_recorded_cost(df, D, cost) -> list[str]:
    """Runs with N, D and a recorded C priced by ``cost``: refuse a table whose C was not
    counted by the cost (median ``|C/cost(N, D) − 1| > COST_RTOL``), warn about single runs."""
    N, C = df["N"].to_numpy(float), df["C"].to_numpy(float)
    ok = np.isfinite(N) & np.isfinite(C) & np.isfinite(D) & (N > 0) & (C > 0) & (D > 0)
    if not ok.any():
        return []
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        priced = np.asarray(cost(N[ok], D[ok]), dtype=float)
        rel = C[ok] / priced - 1.0
    rel = rel[np.isfinite(rel)]
    if rel.size == 0:
        return []
    med = float(np.median(np.abs(rel)))
    if med > COST_RTOL:
        kc = float(np.median(C[ok] / (N[ok] * D[ok])))
        kp = float(np.median(priced / (N[ok] * D[ok])))
        raise ScalelawError(
            f"the runs' recorded C differs from the cost {cost.spec()} at their N and D by "
            f"{100 * med:.0f}% (median; C/(N·D) = {kc:.3g}, cost/(N·D) = {kp:.3g}): C was counted "
            f"another way; drop the C column to price the runs by the cost, or give the cost "
            f"that counted C")
    bad = int((np.abs(rel) > COST_RTOL).sum())
    if bad == 0:
        return []
    msg = (f"{bad} of {rel.size} runs have a recorded C more than {100 * COST_RTOL:g}% from the "
           f"cost {cost.spec()} at their N and D (largest {100 * float(np.abs(rel).max()):.0f}%): "
           f"their C is used as recorded; check how those runs were counted")
    warnings.warn(msg, ScalelawWarning, stacklevel=4)
    return [msg]


def _prepare_runs(frame, columns, k, cost=None):
    """The runs as N, loss, C, D (C = k·N·D or cost(N, D) from D where C is missing; D from C
    where D is missing).  With a cost model and both C and D recorded, C is checked against
    ``cost(N, D)`` (:data:`COST_RTOL`); ``attrs["notes"]`` holds what that check said."""
    from .io.columns import resolve

    if not isinstance(frame, pd.DataFrame):
        try:
            frame = pd.DataFrame(frame)
        except Exception:
            raise ScalelawError("runs must be a table (DataFrame or mapping of columns)") from None
    cols = resolve(frame.columns, ("N", "loss", "C", "D"), mapping=columns, required=("N", "loss"))
    if "C" not in cols and "D" not in cols:
        raise ScalelawError(f"runs need a compute column C (FLOPs) or a token column D; "
                            f"the table has: {show(frame.columns)}")
    df = pd.DataFrame({"N": pd.to_numeric(frame[cols["N"]], errors="coerce"),
                       "loss": pd.to_numeric(frame[cols["loss"]], errors="coerce")})
    if "C" in cols:
        df["C"] = pd.to_numeric(frame[cols["C"]], errors="coerce")
    else:
        D = pd.to_numeric(frame[cols["D"]], errors="coerce").to_numpy(dtype=float)
        df["C"] = k * df["N"] * D if cost is None else np.asarray(cost(df["N"].to_numpy(float), D), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = pd.Series(_tokens(df["C"].to_numpy(float), df["N"].to_numpy(float), k, cost),
                            index=df.index)
    notes = []
    if "D" in cols and "C" in cols:  # D only informative; fill gaps from C
        recorded = pd.to_numeric(frame[cols["D"]], errors="coerce")
        if cost is not None:
            notes = _check_recorded_cost(df, recorded.to_numpy(dtype=float), cost)
        df["D"] = recorded.fillna(derived)
    elif "C" in cols:
        df["D"] = derived
    else:
        df["D"] = pd.to_numeric(frame[cols["D"]], errors="coerce")
    ok = np.isfinite(df[["N", "loss", "C"]].to_numpy()).all(axis=1) \
        & (df["N"] > 0).to_numpy() & (df["C"] > 0).to_numpy()
    n_bad = int((~ok).sum())
    if n_bad:
        warnings.warn(f"{n_bad} rows with missing, non-numeric or non-positive N, C or loss dropped",
                      ScalelawWarning, stacklevel=3)
    df = df[ok].reset_index(drop=True)
    if len(df) == 0:
        raise ScalelawError("no usable rows: N and C (or D) must be positive numbers and loss numeric")
    df.attrs["notes"] = notes
    return df


def group_budgets(C: ArrayLike, *, rtol: float = 0.1,
                  bins: int | Sequence[float] | None = None) -> np.ndarray:
    """Integer budget label per entry of ``C`` (FLOPs).

    Default: budgets are single-linkage clusters in log C -- sorted values whose neighbour
    differs by at most a factor ``1 + rtol`` share a budget (``rtol=0`` groups exact equals).
    ``bins``: an int (that many log-spaced bins over the range) or a sequence of bin edges in
    FLOPs; overrides ``rtol``.
    """
    C = np.asarray(C, dtype=float)
    logc = np.log(C)
    if bins is not None:
        if np.isscalar(bins):
            nb = int(bins)
            if nb < 1:
                raise ScalelawError(f"the number of compute bins must be at least 1, got {bins}")
            lo, hi = logc.min(), logc.max()
            edges = np.linspace(lo, hi if hi > lo else lo + 1e-12, nb + 1)
        else:
            e = np.asarray(bins, dtype=float)
            if e.ndim != 1 or e.size < 2 or np.any(e <= 0) or np.any(np.diff(e) <= 0):
                raise ScalelawError("bin edges must be an increasing sequence of positive FLOP counts")
            edges = np.log(e)
        lab = np.digitize(logc, edges[1:-1], right=False)
        inside = (logc >= edges[0] - 1e-12) & (logc <= edges[-1] + 1e-12)
        lab = np.where(inside, lab, -1)
        return lab
    if rtol < 0:
        raise ScalelawError(f"budget tolerance must be >= 0, got {rtol:g}")
    order = np.argsort(logc, kind="stable")
    gaps = np.diff(logc[order])
    new = np.concatenate([[0], (gaps > np.log1p(rtol) + 1e-12).astype(int)])
    lab = np.empty(len(C), dtype=int)
    lab[order] = np.cumsum(new)
    return lab


def _fit_poly(x, y, degree=2, robust=True):
    """Coefficients ``(c0, ..., c_degree)`` of ``y = Σ c_j x^j`` (x centred by the caller),
    their covariance (NaN without residual degrees of freedom) and whether the fit is robust
    (Huber T M-estimate, :func:`_huber_irls`, when there are more points than coefficients)."""
    X = np.column_stack([x ** j for j in range(degree + 1)])
    p = degree + 1
    if robust and len(x) > p:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                coef, cov = _huber_irls(y, X)
                if np.all(np.isfinite(coef)):
                    return coef, cov, True
            except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
                pass
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    cov = np.full((p, p), np.nan)
    if len(x) > p:
        r = y - X @ coef
        try:
            cov = float(r @ r) / (len(x) - p) * np.linalg.inv(X.T @ X)
        except np.linalg.LinAlgError:
            pass
    return coef, cov, False


def _fit_parabola(x, y, robust=True):
    """Coefficients (c0, c1, c2) of y = c0 + c1 x + c2 x^2 (x centred by the caller)."""
    coef, _, was_robust = _fit_poly(x, y, 2, robust)
    return coef, was_robust


def _poly_minimum(coef, cov):
    """The local minimum ``u`` of a parabola or cubic (NaN if none), its standard error by the
    delta method (implicit differentiation of ``p'(u) = 0``) and the loss there."""
    c = [float(v) for v in coef] + [0.0] * (4 - len(coef))
    c0, c1, c2, c3 = c
    if c3 == 0.0:
        if not c2 > 0:
            return np.nan, np.nan, np.nan
        u = -c1 / (2 * c2)
    else:
        disc = c2 * c2 - 3 * c1 * c3
        if disc < 0:
            return np.nan, np.nan, np.nan
        r = math.sqrt(disc)
        if r == 0.0:                               # an inflection, not a minimum
            return np.nan, np.nan, np.nan
        # the root of c1 + 2 c2 u + 3 c3 u^2 where p'' = 2 r > 0, in a cancellation-free form
        u = -c1 / (c2 + r) if c2 > 0 else (r - c2) / (3 * c3)
    curv = 2 * c2 + 6 * c3 * u                     # p''(u) > 0 at a minimum
    grad = -np.array([0.0, 1.0, 2 * u, 3 * u * u][:len(coef)]) / curv
    var = float(grad @ cov @ grad) if np.all(np.isfinite(cov)) else np.nan
    se = math.sqrt(var) if var >= 0 else np.nan
    return u, se, c0 + c1 * u + c2 * u * u + c3 * u ** 3


def _fit_exponent(logC, logY, alpha):
    """OLS of logY = slope·logC + const -> slope, (lo, hi), se, const."""
    from scipy.special import stdtrit          # = scipy.stats.t.ppf

    X = np.column_stack([np.ones_like(logC), logC])
    pinv = _pinv(X)
    params = np.dot(pinv, logY)
    wresid = logY - X.dot(params)
    df_resid = X.shape[0] - np.linalg.matrix_rank(X)
    bse = np.sqrt(np.diag(np.dot(pinv, np.transpose(pinv)) * (np.dot(wresid, wresid) / df_resid)))
    q = stdtrit(df_resid, 1 - alpha / 2)
    lo, hi = params - q * bse, params + q * bse
    return float(params[1]), (float(lo[1]), float(hi[1])), float(bse[1]), float(params[0])


#: Huber's T tuning constant (95% efficiency at the normal) and the MAD's normal consistency
#: constant (the normal's 3/4 quantile)
_HUBER_T = 1.345
_MAD_C = 0.6744897501960817


def _pinv(X):
    """The pseudo-inverse by SVD, singular values below 1e-15 of the largest dropped."""
    u, s, vt = np.linalg.svd(X, False)
    cut = 1e-15 * np.maximum.reduce(s)
    sinv = np.where(s > cut, 1.0 / np.where(s > cut, s, 1.0), 0.0)
    return np.dot(np.transpose(vt), np.multiply(sinv[:, np.newaxis], np.transpose(u)))


def _huber_rho(z):
    small = np.less_equal(np.abs(z), _HUBER_T)
    return small * 0.5 * z ** 2 + (1 - small) * (np.abs(z) * _HUBER_T - 0.5 * _HUBER_T ** 2)


def _huber_irls(y, X, maxiter: int = 50, tol: float = 1e-8):
    """Huber T M-estimate of ``y ~ X`` by iteratively reweighted least squares: the
    coefficients and their covariance.  The algorithm of statsmodels' ``RLM(y, X,
    M=HuberT()).fit()`` step for step (least-squares start; scale the MAD about 0 of the
    residuals, updated each step; stop when the Huber deviance changes by at most ``tol``
    or after ``maxiter`` steps; Huber's H1 covariance), which it reproduces to the last
    bit, without statsmodels' second of imports."""
    n, p = X.shape
    rank = np.linalg.matrix_rank(X)
    df_resid, df_model = float(n - rank), float(rank - 1)
    pinv = np.linalg.pinv(X)
    params = np.dot(_pinv(X), y)
    resid = y - X.dot(params)
    scale = np.median(np.abs(resid - 0.0) / _MAD_C)
    dev = [np.inf, _huber_rho(resid / (np.dot(resid, resid) / df_resid)).sum()]
    while scale != 0.0:
        z = np.atleast_1d(resid / scale)
        small = np.less_equal(np.abs(z), _HUBER_T)
        absz = np.abs(z)
        absz[small] = 1.0
        wh = np.sqrt(small + (1 - small) * _HUBER_T / absz)
        if not np.all(np.isfinite(wh)):
            raise ValueError("non-finite IRLS weights")
        wexog, wendog = wh[:, None] * X, wh * y
        params = np.linalg.pinv(wexog).dot(wendog)
        resid = y - X.dot(params)
        wresid = wendog - wexog.dot(params)
        scale = np.median(np.abs(resid - 0.0) / _MAD_C)
        dev.append(_huber_rho(resid / (np.dot(wresid, wresid) / (n - p))).sum())
        if not (np.abs(dev[-1] - dev[-2]) > tol and len(dev) - 1 < maxiter):
            break
    sresid = (y - X.dot(params)) / scale
    small = np.less_equal(np.abs(sresid), _HUBER_T)
    dpsi = small.astype(float)
    psi = small * sresid + (1 - small) * _HUBER_T * np.sign(sresid)
    m = np.mean(dpsi)
    k = 1 + (df_model + 1) / n * np.var(dpsi) / m ** 2
    cov = (k ** 2 * (1 / df_resid * np.sum(psi ** 2) * scale ** 2) / ((1 / n * np.sum(dpsi)) ** 2)
           * np.dot(pinv, np.transpose(pinv)))
    return params, cov


def _exponent_result(method, budgets, used, k, alpha, notes, min_budgets):
    if int(used.sum()) < min_budgets:
        n_ok = int(used.sum())
        raise ScalelawError(f"only {n_ok} compute budget(s) with a usable optimum; need at least "
                            f"{min_budgets} to fit the exponent with an interval; add runs at more "
                            f"budgets (or loosen the budget grouping)")
    u = budgets[used]
    logC = np.log(u["C"].to_numpy())
    sizes = np.unique(np.round(np.log(u["N_star"].to_numpy()), 9))
    if len(sizes) < 2:
        raise ScalelawError(f"the optimum is the same model size (N* = {float(np.exp(sizes[0])):.4g}) in "
                            f"all {len(u)} budgets used: N* ∝ C^a cannot be estimated (the exponent "
                            "would be 0 with an interval of zero width); add model sizes around the "
                            "optimum")
    a, (a_lower, a_upper), a_se, kN = _fit_exponent(logC, np.log(u["N_star"].to_numpy()), alpha)
    b, (b_lower, b_upper), b_se, kD = _fit_exponent(logC, np.log(u["D_star"].to_numpy()), alpha)
    if not (np.isfinite(a_se) and a_se > 0 and a_upper > a_lower):
        raise ScalelawError(f"the exponent fit over {len(u)} budgets is degenerate (a = {a:.4g} with "
                            "an interval of zero width): the optima lie exactly on a line, as they "
                            "do only for too few or duplicated budgets; add runs at more budgets")
    if len(sizes) < 3:
        msg = (f"N* takes only {len(sizes)} distinct model sizes over {len(u)} budgets: the exponent "
               "rests on a step between them and its interval is too narrow to trust; add model "
               "sizes between them")
        warnings.warn(msg, ScalelawWarning, stacklevel=3)
        notes = list(notes) + [msg]
    return IsoFlopResult(method=method, budgets=budgets.reset_index(drop=True), a=a,
                         a_lower=a_lower, a_upper=a_upper, a_se=a_se, b=b, b_lower=b_lower,
                         b_upper=b_upper, b_se=b_se, log_kN=kN, log_kD=kD,
                         n_budgets=int(used.sum()), flops_per_token=k, alpha=alpha, notes=notes)


def isoflop(frame: Any, *, columns: Mapping[str, str] | None = None, flops_per_token: float = 6.0,
            budget_rtol: float = 0.1, bins: int | Sequence[float] | None = None,
            min_points: int = 4, min_budgets: int = 3, keep_outside: bool = False,
            robust: bool = True, alpha: float = 0.05,
            flops_per_token_param: float | None = None, profile: str = "parabola",
            cost: Any = None) -> IsoFlopResult:
    """IsoFLOP analysis (Hoffmann et al. 2022, Approach 2).

    ``frame`` has one row per training run with ``N`` (parameters), ``loss`` and either ``C``
    (training FLOPs) or ``D`` (tokens; then ``C = k·N·D``); column names are matched through
    :func:`scalelaw.io.columns.resolve` (``columns`` maps canonical names explicitly).  Runs
    are grouped into budgets by :func:`group_budgets` (``budget_rtol``: neighbouring C within a
    factor ``1 + budget_rtol`` share a budget; ``bins`` for log-spaced bins instead).  A
    budget's C is the geometric mean of its runs' C.

    Per budget, ``loss = c0 + c1·x + c2·x²`` with ``x = ln N`` is fitted robustly (Huber T
    M-estimate, as statsmodels' RLM; plain least squares with exactly 3 points); its vertex is ``N*(C)`` and
    ``D* = C/(k·N*)``.  With ``profile="cubic"`` the profile is ``c0 + c1·x + c2·x² + c3·x³``
    (at least 5 runs and 4 sizes per budget) and ``N*`` its local minimum, which must lie
    within the sampled range.  ``N_star_lower`` / ``N_star_upper`` are the minimum's
    ``1 - alpha`` interval (delta method on the profile's coefficients).

    A budget is refused with a :class:`ScalelawWarning` when it has fewer than ``min_points``
    runs (at least 3; 5 for a cubic), when its profile has no minimum (a parabola opening
    downward), or when the minimum lies outside the sampled N range (kept, status
    ``outside``, if ``keep_outside``).  Then ``ln N* = a·ln C + const`` and
    ``ln D* = b·ln C + const`` are fitted by OLS over the kept budgets (at least
    ``min_budgets``, >= 3), giving ``a``, ``b`` with ``1 - alpha`` intervals (``a_lower``,
    ``a_upper``, ...).  ``flops_per_token`` is ``k`` (default 6); ``flops_per_token_param``
    is its deprecated name.  ``cost``: a cost model (:mod:`scalelaw.costs`) that prices the
    runs instead of ``C = k·N·D``: ``C = cost(N, D)`` for runs without a C column and
    ``D* = cost.tokens(N*, C)`` (the budget's tokens at N*).  A table with N, D and C priced
    by a cost is checked: a recorded C more than :data:`COST_RTOL` (5 %) from ``cost(N, D)``
    in the median run is refused (C was counted another way, e.g. ``6·N·D``, and D* would not
    be the runs' tokens); single runs that far off give a ScalelawWarning and a note.

    **Parabola bias.**  At fixed C the true profile is asymmetric in ``ln N`` when the law's
    exponents differ (α ≠ β), and a parabola's vertex is then pulled toward the flatter side.
    Wherever a budget has enough runs for both, both profiles are fitted; a budget is flagged
    (``parabola_biased``) when the parabola's vertex differs from the cubic's minimum by more
    than the vertex's own ``1 - alpha`` interval and the cubic term is itself significant at
    that level.  Flagged budgets give a ScalelawWarning and a note (with either profile).
    The columns ``N_star_parabola``, ``N_star_cubic`` and ``parabola_shift``
    (``N_star_parabola / N_star_cubic``) hold the comparison.
    """
    alpha = _check_level(alpha)
    k = _flops_per_token("isoflop", flops_per_token, flops_per_token_param)
    k, cost = _runs_cost("isoflop", k, cost)
    if profile not in ("parabola", "cubic"):
        raise ScalelawError(f"the IsoFLOP profile must be parabola or cubic, not {profile!r}")
    degree = 2 if profile == "parabola" else 3
    min_points = max(3 if degree == 2 else 5, int(min_points))
    min_budgets = max(3, int(min_budgets))
    from scipy.special import ndtri           # = scipy.stats.norm.ppf
    z = float(ndtri(1 - alpha / 2))
    df = _prepare_runs(frame, columns, k, cost)
    rows, notes = [], list(df.attrs.get("notes", []))
    df["budget"] = group_budgets(df["C"].to_numpy(), rtol=budget_rtol, bins=bins)
    df = df[df["budget"] >= 0]
    refused = {"few": [], "downward": [], "outside": []}
    n_checked, biased = 0, []
    for _, g in df.groupby("budget", sort=True):
        C = float(np.exp(np.log(g["C"].to_numpy()).mean()))
        x = np.log(g["N"].to_numpy())
        y = g["loss"].to_numpy()
        n = len(g)
        n_sizes = len(np.unique(np.round(x, 9)))
        row = dict(C=C, n_points=n, N_min=float(np.exp(x.min())), N_max=float(np.exp(x.max())),
                   N_star=np.nan, D_star=np.nan, loss_star=np.nan, curvature=np.nan,
                   robust=False, status="ok", used=False, N_star_lower=np.nan,
                   N_star_upper=np.nan, N_star_parabola=np.nan, N_star_cubic=np.nan,
                   parabola_shift=np.nan, parabola_biased=False)
        if n < min_points or n_sizes < degree + 1:
            row["status"] = "too few points"
            refused["few"].append(C)
            rows.append(row)
            continue
        xm = x.mean()
        lo, hi = x.min() - xm - 1e-9, x.max() - xm + 1e-9
        fits = {}
        for deg in (2, 3):
            if deg == degree or (n >= 5 and n_sizes >= 4):
                coef, cov, was_robust = _fit_poly(x - xm, y, deg, robust=robust)
                fits[deg] = (coef, cov, was_robust) + _poly_minimum(coef, cov)
        coef, cov, was_robust, u, se, lstar = fits[degree]
        row["curvature"] = float(coef[2])
        row["robust"] = was_robust
        if 2 in fits and np.isfinite(fits[2][3]):
            row["N_star_parabola"] = float(np.exp(fits[2][3] + xm))
        if 3 in fits and np.isfinite(fits[3][3]):
            row["N_star_cubic"] = float(np.exp(fits[3][3] + xm))
        if 2 in fits and 3 in fits and np.isfinite(fits[2][3]) and np.isfinite(fits[3][3]) \
                and lo <= fits[3][3] <= hi:
            n_checked += 1
            shift = fits[2][3] - fits[3][3]
            row["parabola_shift"] = float(np.exp(shift))
            c3, se_c3 = float(fits[3][0][3]), math.sqrt(max(float(fits[3][1][3, 3]), 0.0)) \
                if np.isfinite(fits[3][1][3, 3]) else np.nan
            se_p = fits[2][4]
            flag = bool(np.isfinite(se_p) and abs(shift) > z * se_p
                        and np.isfinite(se_c3) and abs(c3) > z * se_c3)
            row["parabola_biased"] = flag
            if flag:
                biased.append((C, float(np.exp(shift))))
        if not np.isfinite(u):
            row["status"] = "opens downward" if degree == 2 else "no minimum"
            refused["downward"].append(C)
            rows.append(row)
            continue
        xs = u + xm
        row.update(N_star=float(np.exp(xs)), D_star=float(_tokens(C, np.exp(xs), k, cost)),
                   loss_star=float(lstar))
        if np.isfinite(se):
            row.update(N_star_lower=float(np.exp(xs - z * se)), N_star_upper=float(np.exp(xs + z * se)))
        if xs < x.min() - 1e-9 or xs > x.max() + 1e-9:
            row["status"] = "outside"
            refused["outside"].append(C)
            row["used"] = bool(keep_outside)
        else:
            row["used"] = True
        rows.append(row)
    budgets = pd.DataFrame(rows)
    shape = "parabola" if degree == 2 else "cubic"
    if refused["few"]:
        msg = (f"{len(refused['few'])} budget(s) with fewer than {min_points} runs (or < {degree + 1} "
               f"sizes) skipped: C = {', '.join(f'{c:.3g}' for c in refused['few'])}")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
    if refused["downward"]:
        what = "parabola opens downward" if degree == 2 else "cubic has no local minimum"
        msg = (f"{len(refused['downward'])} budget(s) whose {what} (no minimum) "
               f"refused: C = {', '.join(f'{c:.3g}' for c in refused['downward'])}")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
    if refused["outside"]:
        verb = "kept (extrapolated vertex)" if keep_outside else \
            "refused (sample wider N there, or keep outside vertices)"
        msg = (f"{len(refused['outside'])} budget(s) whose {'vertex' if degree == 2 else 'minimum'} "
               f"lies outside the sampled N range {verb}: "
               f"C = {', '.join(f'{c:.3g}' for c in refused['outside'])}")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
    if biased:
        lvl = f"{100 * (1 - alpha):g}%"
        fac = float(np.exp(np.median(np.log([b for _, b in biased]))))
        head = (f"the parabola's vertex is biased beyond its own {lvl} interval in {len(biased)} of "
                f"{n_checked} budgets compared (asymmetric profiles: the parabola's N* is "
                f"{fac:.3g} times the cubic's, median")
        msg = head + ("); use the cubic profile" if degree == 2 else "); the cubic's minimum is used")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
    res = _exponent_result("isoflop", budgets, budgets["used"].to_numpy(bool), k, alpha, notes,
                           min_budgets)
    res.profile = shape
    res.cost = None if cost is None else cost.to_dict()
    return res


def lower_envelope(frame: Any, *, columns: Mapping[str, str] | None = None,
                   flops_per_token: float = 6.0, bins: int | Sequence[float] | None = None,
                   per_decade: float = 5.0, drop_edge_sizes: bool = True, min_budgets: int = 3,
                   alpha: float = 0.05,
                   flops_per_token_param: float | None = None, cost: Any = None) -> IsoFlopResult:
    """Lower-envelope method (Hoffmann et al. 2022, Approach 1).

    ``frame`` holds many ``(N, C, loss)`` points -- every logged point of several training
    curves, or final points of many runs; ``C`` in FLOPs (or ``D`` tokens, ``C = k·N·D``).
    The FLOP range is cut into log-spaced bins (``per_decade`` bins per decade, or ``bins``:
    a count or edges in FLOPs); in each bin the point of minimum loss gives ``N*`` and
    ``D* = C/(k·N*)`` (its own C).  With ``drop_edge_sizes`` a bin won by the smallest or
    largest model size present is refused: the true optimum may lie beyond the sizes trained.
    Then ``ln N* = a·ln C + const`` (and the same for D*) by OLS, as in :func:`isoflop`.
    ``flops_per_token`` is ``k`` (default 6); ``flops_per_token_param`` is its deprecated name.
    ``cost``: a cost model pricing the runs instead of ``k·N·D``, as in :func:`isoflop`.
    """
    alpha = _check_level(alpha)
    k = _flops_per_token("lower_envelope", flops_per_token, flops_per_token_param)
    k, cost = _runs_cost("lower_envelope", k, cost)
    min_budgets = max(3, int(min_budgets))
    df = _prepare_runs(frame, columns, k, cost)
    checked = list(df.attrs.get("notes", []))
    if bins is None:
        if not per_decade > 0:
            raise ScalelawError(f"the number of compute bins per decade must be positive, "
                                f"got {per_decade:g}")
        span = np.log10(df["C"].max()) - np.log10(df["C"].min())
        bins = max(1, int(math.ceil(span * per_decade)))
    df["budget"] = group_budgets(df["C"].to_numpy(), bins=bins)
    df = df[df["budget"] >= 0]
    sizes = np.unique(df["N"].to_numpy())
    n_min, n_max = sizes.min(), sizes.max()
    rows = []
    n_edge = 0
    for _, g in df.groupby("budget", sort=True):
        i = int(np.argmin(g["loss"].to_numpy()))
        r = g.iloc[i]
        at_edge = len(sizes) > 1 and (r["N"] == n_min or r["N"] == n_max)
        used = not (drop_edge_sizes and at_edge)
        n_edge += int(not used)
        rows.append(dict(C=float(r["C"]), n_points=len(g), N_star=float(r["N"]),
                         D_star=float(_tokens(r["C"], r["N"], k, cost)), loss_star=float(r["loss"]),
                         status="edge size" if at_edge else "ok", used=used))
    budgets = pd.DataFrame(rows)
    notes = checked
    if n_edge:
        msg = (f"{n_edge} FLOP bin(s) won by the smallest or largest model size refused "
               f"(the optimum may lie beyond the sizes trained)")
        warnings.warn(msg, ScalelawWarning, stacklevel=2)
        notes.append(msg)
    if len(sizes) < 3:
        notes.append(f"only {len(sizes)} model sizes: the envelope cannot resolve N*(C)")
    res = _exponent_result("envelope", budgets, budgets["used"].to_numpy(bool), k, alpha, notes,
                           min_budgets)
    res.cost = None if cost is None else cost.to_dict()
    return res
