"""Comparing variants: two or more systems (an architecture, a data mix) fitted on one grid.

:func:`compare` takes two or more fits of the same law and answers three questions:

* **effective compute multiplier** of each variant X over the baseline A (the first fit),
  as a function of the training compute C:  ``m(C) = C_A(L*_X(C)) / C``, where
  ``L*_X(C)`` is X's compute-optimal loss at C and ``C_A(L)`` inverts A's frontier (the
  compute A needs to reach loss L).  ``m = 3`` means A needs three times the compute to
  match X; ``m < 1`` means X is worse;
* **differences at matched budgets**: the difference of the fitted frontiers
  ``L*_X(C) − L*_A(C)`` and, when the training tables are given, the paired differences of
  the observed losses at the configurations both variants trained;
* **the probability each variant is best** (lowest ``L*``) at each budget.

Frontiers
---------
For a chinchilla fit ``L = E + A/N^α + B/D^β`` under ``C = k·N·D`` (``k`` =
``flops_per_token``, 6 by default) the compute-optimal allocation of
:func:`scalelaw.allocate.compute_optimal` (``N* = G·(C/k)^a``, ``D* = (C/k)^b / G``)
gives the frontier in closed form::

    L*(C) = E + K·(C/k)^−γ,   γ = αβ/(α+β),   K = A·G^−α + B·G^β,
    G = (αA / (βB))^(1/(α+β))

and its inverse ``C(L) = k·(K/(L − E))^(1/γ)`` for ``L > E`` (``C(L) = ∞`` at or below the
asymptote E: that variant never reaches the loss).  For a law of compute alone
(``powerlaw_const`` or ``powerlaw`` fitted on C) the frontier is the law itself,
``E + A·C^−α``: that holds only for a law fitted to the per-budget minima (the lower
envelope of the runs), and the notes say so.  Fits whose target is not the loss (the
``logit`` link's odds of a metric) are refused.

Intervals
---------
Percentile intervals (``*_lower``/``*_upper`` at level ``1 − alpha``) over the fits'
bootstrap draws: draw i of every variant is taken together (the variants were fitted on
separate data, so their draws are independent), and the statistics are computed per draw.
A fit without bootstrap draws gets parameter draws from its sandwich covariance
(multivariate normal, on the log scale for the law's positive scale parameters, clipped to
the fit's bounds); the notes say so.

Units: C in FLOPs, N parameters (in the count the fits used), D tokens, losses in the fits'
unit (nats per token for scalelaw fits).
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import ScalelawError, ScalelawWarning

__all__ = ["compare", "Comparison", "Frontier", "frontier"]

#: laws of compute alone whose frontier is the law itself (name -> parameter names E, A, alpha)
_COMPUTE_LAWS = ("powerlaw_const", "powerlaw")
#: default number of parameter draws from the sandwich covariance of a fit without bootstrap
DEFAULT_DRAWS = 1000
#: default number of budgets in the table over the fitted compute range
DEFAULT_POINTS = 13
#: a multiplier beyond this factor outside the fitted compute is called out in the notes
EXTRAPOLATION_WARN = 10.0


# --------------------------------------------------------------------------- frontiers
@dataclass
class Frontier:
    """A compute-optimal frontier ``L*(C) = E + K·(C/u)^−g`` (C in FLOPs).

    ``E``, ``K``, ``g`` are arrays (the point estimate first, shape ``(1,)``, or one value per
    draw); ``u`` is ``flops_per_token`` for a chinchilla fit (``C/u = N·D``) and 1 for a law
    of C.  ``compute_range``: the fitted training compute in FLOPs, or None.  ``domain``:
    the fit's fitted range of each variable (``FitResult.domain``) and ``params`` the point
    estimate of a chinchilla fit (E, A, B, alpha, beta), for :meth:`distance`.
    """

    E: np.ndarray
    K: np.ndarray
    g: np.ndarray
    u: float = 1.0
    compute_range: tuple[float, float] | None = None
    domain: dict | None = None
    params: dict | None = None

    def distance(self, C, *, compute: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """How far the frontier's point at budgets ``C`` (FLOPs) lies outside the fit:
        ``(factor, variable)`` as :func:`scalelaw.fitting.bands.extrapolation_distance`
        measures a prediction (1 and ``""`` inside).  For chinchilla the point is the
        compute-optimal ``(N*, D*)`` of :func:`scalelaw.allocate.compute_optimal`, measured
        against the fitted N, D and compute; for a law of C, C against the fitted C.  An
        infinite budget is infinitely far (variable ``C``); a fit that records neither a
        domain nor a compute range gives NaN (variable ``"?"``: unknown).  ``compute=False``
        leaves the compute out (chinchilla: N* and D* against the fitted N and D only)."""
        from .fitting.bands import extrapolation_distance
        c = np.atleast_1d(np.asarray(C, dtype=float)).ravel()
        dist, which = np.ones(len(c)), np.full(len(c), "", dtype=object)
        ok = np.isfinite(c) & (c > 0)
        dist[~ok], which[~ok] = np.inf, "C"
        dom = dict(self.domain or {})
        if not dom and self.compute_range is None:
            dist[ok], which[ok] = np.nan, "?"
            return dist, which
        if not ok.any():
            return dist, which
        if self.params is not None:
            from .allocate import compute_optimal
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ScalelawWarning)   # the fit's own notes say it
                opt = compute_optimal(self.params, c[ok], flops_per_token=self.u)
            x = {"N": opt["N_opt"].to_numpy(), "D": opt["D_opt"].to_numpy()}
            nd = None if self.compute_range is None or not compute else \
                (self.compute_range[0] / self.u, self.compute_range[1] / self.u)
            dom = {v: r for v, r in dom.items() if v in ("N", "D")}
        else:
            x, nd = {"C": c[ok]}, None
            dom = {"C": dom.get("C", self.compute_range)}
            if dom["C"] is None:
                dist[ok], which[ok] = np.nan, "?"
                return dist, which
        d, w = extrapolation_distance(dom, x, nd)
        dist[ok], which[ok] = d, w
        return dist, which

    def loss(self, C) -> np.ndarray:
        """``L*(C)``: shape ``(len(E), len(C))``."""
        c = np.asarray(C, dtype=float).reshape(1, -1)
        return self.E[:, None] + self.K[:, None] * np.exp(-self.g[:, None] * np.log(c / self.u))

    def compute(self, L) -> np.ndarray:
        """``C(L)``, the compute at which the frontier reaches loss ``L`` (``L`` broadcast
        against ``(len(E), ...)``); ``inf`` at or below the asymptote E."""
        L = np.asarray(L, dtype=float)
        E, K, g = self.E[:, None], self.K[:, None], self.g[:, None]
        gap = L - E
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            logc = np.log(self.u) + (np.log(K) - np.log(np.where(gap > 0, gap, np.nan))) / g
            out = np.exp(logc)
        return np.where(gap > 0, out, np.inf)


def frontier(fit: Any, *, flops_per_token: float = 6.0, draws: Any = None) -> Frontier:
    """The compute-optimal frontier of one fit (point estimate only, or ``draws``: a frame of
    parameter draws, one row per draw, giving one frontier per draw).

    ``fit``: a :class:`~scalelaw.fitting.FitResult` of chinchilla (any law with its
    parameters E, A, B, alpha, beta and variables N, D) or of ``powerlaw_const`` /
    ``powerlaw`` on C, or the path of its JSON.
    """
    res = _as_result(fit, "the fit")
    kind = _kind(res, "the fit")
    p = res.params if draws is None else _full_draws(res, draws)
    rng = _compute_range(res, kind, flops_per_token)
    return _frontier(p, kind, flops_per_token, rng, "the fit", getattr(res, "domain", None))


def _frontier(p, kind, k, rng, name, domain=None) -> Frontier:
    """Frontier from parameters ``p`` (a Series, or a frame of draws)."""
    def col(n):
        v = p[n]
        return np.atleast_1d(np.asarray(v, dtype=float))
    if kind == "chinchilla":
        from .allocate import frontier_constants, params_from_fit
        names = ("E", "A", "B", "alpha", "beta")
        if isinstance(p, pd.Series):
            q = params_from_fit(p.to_dict())[0]     # validates: positive A, B, alpha, beta
            E, K, g = frontier_constants({n: np.atleast_1d(q[n]) for n in names})
            return Frontier(E, K, g, float(k), rng, domain, {n: float(q[n]) for n in names})
        E, K, g = frontier_constants({n: col(n) for n in names})
        return Frontier(E, K, g, float(k), rng)
    have = p.index if isinstance(p, pd.Series) else p.columns
    E = col("E") if "E" in have else np.zeros(len(col("A")))
    A, al = col("A"), col("alpha")
    if isinstance(p, pd.Series) and not (A[0] > 0 and al[0] > 0):
        raise ScalelawError(f"{name}: the fitted law does not fall with compute (A = {A[0]:g}, "
                            f"alpha = {al[0]:g}); a compute multiplier needs a falling frontier")
    return Frontier(E, A, al, 1.0, rng, domain if isinstance(p, pd.Series) else None)


# --------------------------------------------------------------------------- inputs
def _as_result(fit, name):
    from .fitting.results import FitResult
    if isinstance(fit, FitResult):
        return fit
    if isinstance(fit, (str, os.PathLike, dict)):
        return FitResult.from_json(os.fspath(fit) if isinstance(fit, os.PathLike) else fit)
    if hasattr(fit, "params") and hasattr(fit, "law"):
        return fit
    raise ScalelawError(f"{name} is a {type(fit).__name__}, not a fit: give a FitResult or the "
                        "path of the JSON `scalelaw fit --json` wrote")


def _not_curves(res, name) -> None:
    law = res.law
    if getattr(law, "predicts_curves", False):
        raise ScalelawError(f"{name} is an LR-schedule fit (law {law.name}), not a scaling law of "
                            "compute: compare fits of loss against N and D (chinchilla) or C")


def _kind(res, name) -> str:
    """``"chinchilla"`` or ``"compute"``; refuses laws without a compute frontier here."""
    law = res.law
    _not_curves(res, name)
    target = getattr(law, "target", "loss")
    if target != "loss":
        raise ScalelawError(f"{name} is a fit of law {law.name}, whose target is a {target} (its values "
                            f"are not losses): compare needs fits of the loss; compare the variants' "
                            f"loss fits, then map their losses to the {target}")
    names = set(law.param_names)
    if tuple(law.variables) == ("N", "D") and {"E", "A", "B", "alpha", "beta"} <= names:
        return "chinchilla"
    if law.name in _COMPUTE_LAWS and tuple(law.variables) == ("C",):
        return "compute"
    raise ScalelawError(f"{name} is a fit of law {law.name} on {', '.join(law.variables) or 'nothing'}: "
                        "compare needs a compute-optimal frontier, from chinchilla on N and D or "
                        "from powerlaw_const on C; refit with one of them")


def _recorded_k(res) -> float | None:
    """The ``flops_per_token`` a fit used to derive a variable (``D = C/(6*N)``), else None."""
    for v in (res.mapping or {}).values():
        m = re.match(r"\s*derived:\s*(?:C/\()?([0-9.eE+\-]+)\*", str(v))
        if m:
            try:
                return float(m.group(1))
            except ValueError:
                return None
    return None


def _compute_range(res, kind, k) -> tuple[float, float] | None:
    if kind == "chinchilla":
        r = getattr(res, "compute_range", None)
        return (k * float(r[0]), k * float(r[1])) if r is not None else None
    r = (res.domain or {}).get("C")
    return (float(r[0]), float(r[1])) if r is not None else None


def _full_draws(res, draws) -> pd.DataFrame:
    """Draws with every parameter (fixed ones at their value), finite rows only."""
    d = pd.DataFrame(draws).copy()
    for p in res.params.index:
        if p not in d:
            d[p] = float(res.params[p])
    d = d[list(res.params.index)].astype(float)
    return d[np.isfinite(d.to_numpy()).all(axis=1)].reset_index(drop=True)


def _sandwich_draws(res, n, rng) -> pd.DataFrame | None:
    """``n`` parameter draws from the fit's sandwich covariance (normal; log-normal for the
    law's positive scale parameters), clipped to the fit's bounds; None without a usable
    covariance."""
    free = [p for p in res.cov.index if p in res.params.index]
    if not free:
        return None
    cov = res.cov.loc[free, free].to_numpy(dtype=float)
    if not np.isfinite(cov).all():
        return None
    v = res.params[free].to_numpy(dtype=float)
    logp = np.array([p in getattr(res.law, "log_params", ()) and v[i] > 0 for i, p in enumerate(free)])
    J = np.where(logp, 1.0 / np.where(logp, v, 1.0), 1.0)
    cov_t = cov * np.outer(J, J)
    center = np.where(logp, np.log(np.where(logp, v, 1.0)), v)
    w, U = np.linalg.eigh((cov_t + cov_t.T) / 2)
    z = rng.standard_normal((n, len(free))) @ (U * np.sqrt(np.clip(w, 0, None))).T + center
    with np.errstate(over="ignore"):
        x = np.where(logp, np.exp(z), z)
    for i, p in enumerate(free):
        lo, hi = res.bounds.get(p, (-np.inf, np.inf))
        x[:, i] = np.clip(x[:, i], lo, hi)
    return _full_draws(res, pd.DataFrame(x, columns=free))


def _valid_rows(kind, d: pd.DataFrame) -> np.ndarray:
    need = ("A", "B", "alpha", "beta") if kind == "chinchilla" else ("A", "alpha")
    ok = np.isfinite(d.to_numpy()).all(axis=1)
    for k in need:
        ok &= d[k].to_numpy() > 0
    return ok


def _check_level(alpha) -> float:
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise ScalelawError(f"the significance level (1 - confidence level) must be between 0 and "
                            f"1, e.g. 0.05; got {alpha:g}")
    return alpha


def _as_budgets(at) -> np.ndarray:
    """Budgets in FLOPs from numbers or ``"C=1e22"`` texts (None: none); the values are
    checked by :func:`scalelaw.allocate._as_compute`, the one check of FLOP budgets."""
    from .allocate import _as_compute
    if at is None:
        return np.zeros(0)
    if isinstance(at, (str, bytes)):
        at = [at]
    out = []
    for a in np.atleast_1d(np.asarray(at, dtype=object)).ravel():
        text = str(a).strip()
        if "=" in text:
            key, text = (s.strip() for s in text.split("=", 1))
            if key != "C":
                raise ScalelawError(f"budget {a!r}: give the training compute as C=FLOPS, e.g. C=1e22")
        try:
            out.append(float(text))
        except ValueError:
            raise ScalelawError(f"budget {a!r} is not a number of FLOPs; give e.g. C=1e22") from None
    return _as_compute(out) if out else np.zeros(0)


def _quantiles(v, alpha):
    """Lower and upper percentile over axis 0 (order statistics: infinite draws allowed)."""
    v = np.asarray(v, dtype=float)
    with np.errstate(invalid="ignore"):
        lo = np.quantile(v, alpha / 2, axis=0, method="inverted_cdf")
        hi = np.quantile(v, 1 - alpha / 2, axis=0, method="inverted_cdf")
    return lo, hi


# --------------------------------------------------------------------------- the result
@dataclass
class Comparison:
    """Outcome of :func:`compare`.

    ``frame``: tidy, one row per budget and variant: ``C`` (FLOPs), ``variant``,
    ``baseline``, ``loss_opt`` (the variant's compute-optimal loss L*), ``multiplier``
    (``C_A(L*_X(C))/C``, 1 for the baseline), ``loss_diff`` (``L*_X − L*_A``), each with
    ``*_lower``/``*_upper``; ``prob_best`` (share of draws in which the variant has the
    lowest L* of all; a tie of k variants counts 1/k each); ``extrapolation`` (the largest
    factor by which the frontiers' points lie outside the fits, see :meth:`Frontier.distance`:
    the variant's and the baseline's compute-optimal (N*, D*) at C and the baseline's at the
    compute ``m·C`` it needs to match; 1 inside, NaN if no fit records a range) and
    ``extrapolation_in`` (``N``, ``D``, ``C``, or ``""`` inside); ``interval``
    (``"interpolation"`` / ``"extrapolation x3.2 in N"`` / ``"fitted range unknown"``);
    ``requested`` (a budget given in ``at``).
    ``best``: the rows of the requested budgets, ``C, variant, prob_best``.  ``paired``: the
    paired loss differences at matched configurations (or None without data), ``paired_budgets``
    their means per budget with a t interval.  ``notes``: how the intervals were made and
    what to watch out for.
    """

    names: list[str]
    baseline: str
    law: str
    kind: str
    flops_per_token: float
    alpha: float
    at: np.ndarray
    frame: pd.DataFrame
    frontiers: dict
    n_draws: int
    draw_sources: dict
    compute_ranges: dict
    paired: pd.DataFrame | None = None
    paired_budgets: pd.DataFrame | None = None
    paired_summary: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    # -- on demand ----------------------------------------------------------------------
    def multiplier(self, C, variant: str | None = None) -> pd.DataFrame:
        """The compute multiplier over the baseline at budgets ``C`` (FLOPs): columns ``C,
        variant, multiplier, multiplier_lower, multiplier_upper, extrapolation``; one
        variant, or every non-baseline one."""
        c = _as_budgets(C)
        if c.size == 0:
            raise ScalelawError("no compute budget given; pass one or more FLOP counts, e.g. 1e22")
        others = [n for n in self.names if n != self.baseline]
        if variant is not None:
            if variant not in self.names:
                raise ScalelawError(f"no variant {variant!r}; the variants are {', '.join(self.names)}")
            others = [variant]
        rows = _rows(self.frontiers, self.names, self.baseline, c, self.alpha,
                     self.compute_ranges, np.zeros(len(c), bool))
        rows = rows[rows["variant"].isin(others)]
        return rows[["C", "variant", "multiplier", "multiplier_lower", "multiplier_upper",
                     "extrapolation"]].reset_index(drop=True)

    @property
    def best(self) -> pd.DataFrame:
        rows = self.frame[self.frame["requested"]] if self.at.size else self.frame
        return rows[["C", "variant", "prob_best"]].reset_index(drop=True)

    # -- output -------------------------------------------------------------------------
    def summary(self) -> str:
        """Human-readable report: the multiplier over the budgets, the frontier differences,
        the probability each variant is best, and the paired differences."""
        lvl = f"{100 * (1 - self.alpha):g}%"
        conv = (f"C = {self.flops_per_token:g}·N·D, compute-optimal frontiers"
                if self.kind == "chinchilla" else "frontier = the fitted law of C")
        srcs = ", ".join(f"{n}: {s}" for n, s in self.draw_sources.items())
        lines = [f"Comparison of {len(self.names)} variants ({self.law}; {conv}); baseline {self.baseline}",
                 f"intervals: {lvl} percentile over {self.n_draws} draws per variant ({srcs})"]
        for n in self.names:
            r = self.compute_ranges.get(n)
            lines.append(f"  {n}: fitted compute "
                         + (f"{r[0]:.3g} .. {r[1]:.3g} FLOPs" if r is not None else "unknown"))
        f = self.frame
        for v in (n for n in self.names if n != self.baseline):
            lines.append("")
            lines.append(f"{v} over {self.baseline}: m(C) = C_{self.baseline}(L*_{v}(C)) / C "
                         f"(> 1: {v} is better), ΔL* = L*_{v} − L*_{self.baseline} [loss]")
            lines.append(f"  {'C [FLOPs]':>10} {'m':>9} {lvl + ' interval':>21} {'ΔL*':>9} "
                         f"{lvl + ' interval':>21} {'P(best)':>8}  range")
            for r in f[f["variant"] == v].itertuples(index=False):
                mark = "*" if r.requested else " "
                lines.append(f"{mark} {r.C:10.3g} {_g(r.multiplier):>9} "
                             f"{'[' + _g(r.multiplier_lower) + ', ' + _g(r.multiplier_upper) + ']':>21} "
                             f"{r.loss_diff:+9.4f} "
                             f"{'[' + format(r.loss_diff_lower, '+.4f') + ', ' + format(r.loss_diff_upper, '+.4f') + ']':>21} "
                             f"{r.prob_best:8.3f}  {r.interval}")
        if self.at.size:
            lines.append("")
            lines.append("probability of being best (lowest L*) at the requested budgets:")
            for c in self.at:
                b = f[(f["C"] == c) & f["requested"]]
                lines.append(f"  C = {c:.3g}: " + ", ".join(f"{r.variant} {r.prob_best:.3f}"
                                                          for r in b.itertuples(index=False)))
        if self.paired_summary is not None:
            lines.append("")
            lines.append(f"paired loss differences at matched configurations (observed, {lvl} t interval):")
            for r in self.paired_summary.itertuples(index=False):
                lines.append(f"  {r.variant} − {r.baseline}: mean {r.diff:+.4f} "
                             f"[{r.diff_lower:+.4f}, {r.diff_upper:+.4f}] over {r.n_pairs} configurations")
            if self.paired_budgets is not None and len(self.paired_budgets):
                lines.append(f"  per budget:  {'C [FLOPs]':>10} {'pairs':>5} {'mean diff':>10} {lvl + ' interval':>21}")
                for r in self.paired_budgets.itertuples(index=False):
                    iv = (f"[{r.diff_lower:+.4f}, {r.diff_upper:+.4f}]" if np.isfinite(r.diff_lower)
                          else "(one pair: none)")
                    lines.append(f"  {r.variant:>10}  {r.C:10.3g} {r.n_pairs:5d} {r.diff:+10.4f} {iv:>21}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()

    def to_dict(self) -> dict:
        """JSON-serializable result (infinite values as None)."""
        def records(df):
            if df is None:
                return None
            return [{k: _json_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
        return {"kind": "comparison", "variants": list(self.names), "baseline": self.baseline,
                "law": self.law, "flops_per_token": self.flops_per_token,
                "convention": (f"C = {self.flops_per_token:g}·N·D" if self.kind == "chinchilla"
                               else "law of C"),
                "level": 1 - self.alpha, "n_draws": self.n_draws, "draws": dict(self.draw_sources),
                "compute_ranges": {k: (list(v) if v is not None else None)
                                   for k, v in self.compute_ranges.items()},
                "at": [float(c) for c in self.at], "rows": records(self.frame),
                "paired": records(self.paired), "paired_budgets": records(self.paired_budgets),
                "paired_summary": records(self.paired_summary), "notes": list(self.notes)}


def _json_value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    return v


def _g(v) -> str:
    return "inf" if not np.isfinite(v) else f"{v:.4g}"


def _rows(fronts, names, base, C, alpha, ranges, at_mask) -> pd.DataFrame:
    """The tidy frame at budgets ``C`` from the frontiers (point, draws) of each variant."""
    point = {n: fronts[n][0].loss(C)[0] for n in names}
    draws = {n: fronts[n][1].loss(C) for n in names}          # (draws, budgets)
    stack = np.stack([draws[n] for n in names])               # (variants, draws, budgets)
    with np.errstate(invalid="ignore"):
        tie = stack == np.min(stack, axis=0)                  # every variant at the lowest L*
    share = tie / np.maximum(tie.sum(axis=0), 1)              # a tie split evenly
    prob = {n: share[i].mean(axis=0) for i, n in enumerate(names)}
    out = []
    for n in names:
        lo, hi = _quantiles(draws[n], alpha)
        if n == base:
            m = np.ones(len(C))
            mi = np.ones_like(draws[n])
        else:
            m = fronts[base][0].compute(point[n][None, :])[0] / C
            mi = fronts[base][1].compute(draws[n]) / C
        m_lo, m_hi = _quantiles(mi, alpha)
        dl = point[n] - point[base]
        dl_lo, dl_hi = _quantiles(draws[n] - draws[base], alpha)
        # the frontiers' points against the fits: the variant's and the baseline's optimum at
        # C and, for the multiplier, the baseline's at m·C (its N*, D* and compute)
        parts = [fronts[n][0].distance(C), fronts[base][0].distance(C)]
        if n != base:
            parts.append(fronts[base][0].distance(m * C))
        ext, var = _farthest(parts)
        out.append(pd.DataFrame({
            "C": C, "variant": n, "baseline": base, "loss_opt": point[n], "loss_opt_lower": lo,
            "loss_opt_upper": hi, "multiplier": m, "multiplier_lower": m_lo, "multiplier_upper": m_hi,
            "loss_diff": dl, "loss_diff_lower": dl_lo, "loss_diff_upper": dl_hi,
            "prob_best": prob[n], "extrapolation": ext, "extrapolation_in": var,
            "interval": _labels(ext, var), "requested": at_mask}))
    frame = pd.concat(out, ignore_index=True)
    order = {n: i for i, n in enumerate(names)}
    frame["_v"] = frame["variant"].map(order)
    return frame.sort_values(["_v", "C"], kind="stable").drop(columns="_v").reset_index(drop=True)


def _farthest(parts) -> tuple[np.ndarray, np.ndarray]:
    """The largest distance of several ``(factor, variable)`` pairs, point by point (an
    unknown one, NaN, only where none is known)."""
    dist = np.full(len(parts[0][0]), np.nan)
    which = np.full(len(dist), "?", dtype=object)
    for d, w in parts:
        more = ~np.isnan(d) & (np.isnan(dist) | (d > dist))
        dist, which = np.where(more, d, dist), np.where(more, w, which)
    return dist, which


def _labels(dist, which) -> list[str]:
    """``"interpolation"``, ``"extrapolation x1.8 in N"`` or ``"fitted range unknown"``."""
    from .fitting.bands import interval_labels
    lab = interval_labels(np.where(np.isnan(dist), 1.0, dist), np.where(np.isnan(dist), "", which))
    return ["fitted range unknown" if np.isnan(d) else t for d, t in zip(dist, lab)]


# --------------------------------------------------------------------------- checks
def _check_same(results, names, k_given):
    """Refuse fits of different laws, variables or FLOP conventions; the chosen k and notes."""
    base = results[0]
    notes = []
    for r, n in zip(results[1:], names[1:]):
        if r.law.name != base.law.name:
            raise ScalelawError(f"the fits are of different laws ({names[0]}: {base.law.name}, {n}: "
                                f"{r.law.name}): refit the variants with one law to compare them")
        if tuple(r.law.variables) != tuple(base.law.variables) or r.law.config() != base.law.config():
            raise ScalelawError(f"the fits are on different variables ({names[0]}: "
                                f"{', '.join(base.law.variables)}, {n}: {', '.join(r.law.variables)}): "
                                "refit the variants on the same variables to compare them")
    for v in base.law.variables:
        src = {n: str((r.mapping or {}).get(v, v)) for r, n in zip(results, names)}
        emb = {n: bool(re.search(r"non[\s_\-]?emb", s, re.I)) for n, s in src.items()
               if not s.startswith("derived")}
        if len(set(emb.values())) > 1:
            raise ScalelawError(f"the fits count {v} differently (" + ", ".join(
                f"{n}: column {src[n]!r}" for n in emb) + "): refit the variants on the same "
                "parameter count (non-embedding or total) to compare them")
        if len({s for s in src.values() if not s.startswith("derived")}) > 1:
            notes.append(f"{v} comes from differently named columns (" + ", ".join(
                f"{n}: {s!r}" for n, s in src.items()) + "): check that they measure the same thing")
    tgt = {n: str((r.mapping or {}).get("loss", "loss")) for r, n in zip(results, names)}
    if len(set(tgt.values())) > 1:
        notes.append("the losses come from differently named columns (" + ", ".join(
            f"{n}: {s!r}" for n, s in tgt.items()) + "): compare losses of one evaluation set")
    rec = {n: _recorded_k(r) for r, n in zip(results, names)}
    known = {n: k for n, k in rec.items() if k is not None}
    if len(set(known.values())) > 1:
        raise ScalelawError("the fits used different FLOPs per token (" + ", ".join(
            f"{n}: C = {k:g}·N·D" for n, k in known.items()) + "): refit the variants with one "
            "convention to compare them")
    if k_given is not None:
        k = float(k_given)
        if not (math.isfinite(k) and k > 0):
            raise ScalelawError(f"the FLOPs per token (k in C = k·N·D) must be positive and finite, "
                                f"e.g. 6; got {k:g}")
        if known and k != next(iter(known.values())):
            n, kk = next(iter(known.items()))
            raise ScalelawError(f"fit {n} derived its variables with C = {kk:g}·N·D, not the "
                                f"{k:g}·N·D asked for: use the fits' convention, or refit them with it")
    else:
        k = next(iter(known.values())) if known else 6.0
    return k, notes


# --------------------------------------------------------------------------- paired data
def _paired(results, names, data, by, k, alpha, budget_rtol):
    """Paired loss differences at the configurations two variants share."""
    from scipy import stats

    from .allocate import group_budgets
    from .fitting.data import as_frame, prepare_frame
    if isinstance(data, (pd.DataFrame, dict, str, os.PathLike)) and by is not None:
        frame = as_frame(data)
        if by not in frame.columns:
            raise ScalelawError(f"the table has no variant column {by!r}; it has: "
                                + ", ".join(map(str, frame.columns[:20])))
        values = [str(v) for v in pd.unique(frame[by])]
        missing = [n for n in names if n not in values]
        if missing:
            raise ScalelawError(f"the variant column {by!r} has values {', '.join(values[:10])}, "
                                f"not {', '.join(missing)}: name the fits after the values of the column")
        tables = [frame[frame[by].astype(str) == n].reset_index(drop=True) for n in names]
    else:
        if isinstance(data, (pd.DataFrame, dict, str, os.PathLike)):
            raise ScalelawError("one table for several variants: name its variant column, or give "
                                "one table per fit")
        tables = list(data)
        if len(tables) != len(results):
            raise ScalelawError(f"{len(tables)} tables for {len(results)} fits: give one table per "
                                "fit, in the order of the fits (or one table with a variant column)")
    law = results[0].law
    cfg = {}
    for r, n, t in zip(results, names, tables):
        t = as_frame(t)
        mp = {v: c for v, c in (r.mapping or {}).items()
              if v in law.variables and not str(c).startswith("derived") and c in t.columns}
        y = (r.mapping or {}).get("loss")
        _, prep = prepare_frame(t, r.law, x=mp or None, y=y if y in t.columns else None,
                                flops_per_token=k)
        f = prep.frame
        if len(f) == 0:
            raise ScalelawError(f"the table of {n} has no usable rows")
        key = pd.DataFrame({v: np.round(np.log(f[v].to_numpy(dtype=float)), 6) for v in law.variables})
        key["y"] = f["y"].to_numpy(dtype=float)
        for v in law.variables:
            key["_" + v] = f[v].to_numpy(dtype=float)
        g = key.groupby(list(law.variables), sort=True).agg(
            **{"loss": ("y", "mean"), "n_rows": ("y", "size")},
            **{v: ("_" + v, "first") for v in law.variables})
        cfg[n] = g.reset_index(drop=True)
    base = names[0]
    rows, summ, budg = [], [], []
    for n in names[1:]:
        a, b = cfg[base], cfg[n]
        ka = pd.DataFrame({v: np.round(np.log(a[v]), 6) for v in law.variables})
        kb = pd.DataFrame({v: np.round(np.log(b[v]), 6) for v in law.variables})
        ka["_i"], kb["_j"] = np.arange(len(a)), np.arange(len(b))
        m = ka.merge(kb, on=list(law.variables))
        if len(m) == 0:
            raise ScalelawError(f"{base} and {n} share no configuration ({', '.join(law.variables)}): "
                                "paired differences need runs both variants trained; leave the data out")
        A, B = a.iloc[m["_i"].to_numpy()].reset_index(drop=True), b.iloc[m["_j"].to_numpy()].reset_index(drop=True)
        d = pd.DataFrame({v: A[v].to_numpy() for v in law.variables})
        if "C" not in d:
            d["C"] = k * d["N"] * d["D"]
        d["variant"], d["baseline"] = n, base
        d["loss"], d["loss_baseline"] = B["loss"].to_numpy(), A["loss"].to_numpy()
        d["diff"] = d["loss"] - d["loss_baseline"]
        d["n_rows"], d["n_rows_baseline"] = B["n_rows"].to_numpy(), A["n_rows"].to_numpy()
        rows.append(d)
        summ.append(_t_row(d["diff"].to_numpy(), alpha, stats) | {"variant": n, "baseline": base})
        lab = group_budgets(d["C"].to_numpy(), rtol=budget_rtol)
        for g in np.unique(lab):
            sel = lab == g
            c = float(np.exp(np.log(d["C"].to_numpy()[sel]).mean()))
            budg.append({"C": c, "variant": n, "baseline": base}
                        | _t_row(d["diff"].to_numpy()[sel], alpha, stats))
    cols = ["variant", "baseline", "diff", "diff_lower", "diff_upper", "n_pairs", "sd"]
    return (pd.concat(rows, ignore_index=True), pd.DataFrame(budg)[["C"] + cols],
            pd.DataFrame(summ)[cols])


def _t_row(x, alpha, stats):
    n = len(x)
    mean = float(np.mean(x))
    if n < 2:
        return {"diff": mean, "diff_lower": np.nan, "diff_upper": np.nan, "n_pairs": n, "sd": np.nan}
    sd = float(np.std(x, ddof=1))
    h = float(stats.t.ppf(1 - alpha / 2, n - 1)) * sd / math.sqrt(n)
    return {"diff": mean, "diff_lower": mean - h, "diff_upper": mean + h, "n_pairs": n, "sd": sd}


# --------------------------------------------------------------------------- entry point
def compare(fits: Sequence[Any], at: Any = None, *, alpha: float = 0.05,
            names: Sequence[str] | None = None, flops_per_token: float | None = None,
            data: Any = None, by: str | None = None, points: int = DEFAULT_POINTS,
            n_draws: int = DEFAULT_DRAWS, seed: int = 0, budget_rtol: float = 0.1) -> Comparison:
    """Compare two or more variants fitted with one law; the first is the baseline A.

    Parameters
    ----------
    fits
        :class:`~scalelaw.fitting.FitResult` objects or paths of the JSON ``scalelaw fit
        --json`` wrote: chinchilla fits (N, D) or ``powerlaw_const``/``powerlaw`` fits on C,
        all of one law.  Bootstrap draws give the intervals (fit with ``bootstrap=``).
    at
        Budgets of interest in FLOPs (numbers or ``"C=1e22"``): rows marked ``requested`` in the
        frame, and the probability each variant is best there.
    alpha
        1 − the confidence level of the intervals.
    names
        A name per fit (default: the file stems, else A, B, C, ...).
    flops_per_token
        ``k`` in ``C = k·N·D``; default: what the fits used to derive D (or N) from C,
        else 6.  A value other than the fits' is refused.
    data, by
        The training tables for paired differences: a list with one table per fit, or one
        table with a variant column ``by`` whose values are the names.  Tables, dicts or paths.
    points
        Number of log-spaced budgets over the fitted compute range (extended to ``at``).
    n_draws, seed
        Parameter draws from the sandwich covariance for a fit without bootstrap draws.
    budget_rtol
        Paired runs whose compute differs by at most a factor ``1 + budget_rtol`` share a
        budget (:func:`scalelaw.allocate.group_budgets`).

    Returns
    -------
    :class:`Comparison` (``.frame``, ``.summary()``, ``.multiplier(C)``, ``.best``,
    ``.paired``, ``.to_dict()``).
    """
    alpha = _check_level(alpha)
    fits = list(fits) if not isinstance(fits, (str, os.PathLike, dict)) else [fits]
    if len(fits) < 2:
        raise ScalelawError(f"{len(fits)} fit given: a comparison needs two or more fits of variants")
    if names is None:
        stems = [os.path.splitext(os.path.basename(os.fspath(f)))[0]
                 if isinstance(f, (str, os.PathLike)) else None for f in fits]
        names = stems if all(stems) and len(set(stems)) == len(stems) else \
            [chr(ord("A") + i) if i < 26 else f"V{i}" for i in range(len(fits))]
    names = [str(n) for n in names]
    if len(names) != len(fits) or len(set(names)) != len(names):
        raise ScalelawError(f"give one distinct name per fit ({len(fits)} fits, names: {', '.join(names)})")
    results = [_as_result(f, n) for f, n in zip(fits, names)]
    for r, n in zip(results, names):
        _not_curves(r, n)
    k, notes = _check_same(results, names, flops_per_token)
    kinds = [_kind(r, n) for r, n in zip(results, names)]
    kind = kinds[0]
    C_at = _as_budgets(at)
    points = int(points)
    if points < 2:
        raise ScalelawError(f"the table needs at least 2 budgets over the fitted range, got {points}")
    rng = np.random.default_rng(seed)
    boot_counts = [len(r.boot) for r in results if r.boot is not None and len(r.boot) >= 2]
    n_sandwich = min(boot_counts) if boot_counts else int(n_draws)   # as many as the bootstraps
    if n_sandwich < 2:
        raise ScalelawError(f"the number of parameter draws must be at least 2, got {n_sandwich}")
    fronts, sources, ranges, draw_sets = {}, {}, {}, {}
    for r, n in zip(results, names):
        ranges[n] = _compute_range(r, kind, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalelawWarning)   # a stacked fit: said below
            point = _frontier(r.params, kind, k, ranges[n], n, getattr(r, "domain", None))
        if r.boot is not None and len(r.boot) >= 2:
            d = _full_draws(r, r.boot)
            sources[n] = f"{len(r.boot)} bootstrap"
        else:
            d = _sandwich_draws(r, n_sandwich, rng)
            if d is None:
                raise ScalelawError(f"fit {n} has neither bootstrap draws nor a usable covariance: "
                                    "refit it with a bootstrap (e.g. 1000 resamples) to compare")
            sources[n] = f"{len(d)} sandwich-covariance"
            notes.append(f"{n} has no bootstrap draws: its intervals use {len(d)} normal draws from "
                         "the sandwich covariance (clipped to the bounds); refit with a bootstrap "
                         "for percentile intervals that follow the fit")
        ok = _valid_rows(kind, d)
        if (~ok).sum():
            notes.append(f"{int((~ok).sum())} of {len(d)} draws of {n} have no falling frontier "
                         "(non-positive scale or exponent) and were left out")
        d = d[ok].reset_index(drop=True)
        if len(d) < 2:
            raise ScalelawError(f"fit {n} has fewer than 2 usable parameter draws: refit it with a "
                                "bootstrap to compare")
        draw_sets[n] = d
        fronts[n] = point
        bound = dict(getattr(r, "at_bound", {}) or {})
        if bound:
            notes.append(f"fit {n} has " + ", ".join(f"{p} on its {side} bound" for p, side in bound.items())
                         + ": its frontier and the multipliers that use it are not to be trusted; "
                         "refit with more data or other bounds")
        sel = getattr(r, "selection", None)
        if sel is not None and getattr(sel, "method", None) == "stack":
            notes.append(f"{n} is a stacked fit: its frontier uses the highest-weight law only")
    n_common = min(len(d) for d in draw_sets.values())
    if len({len(d) for d in draw_sets.values()}) > 1:
        notes.append(f"the fits have different numbers of draws; the first {n_common} of each are used")
    fronts = {n: (fronts[n], _frontier(draw_sets[n].iloc[:n_common], kind, k, ranges[n], n))
              for n in names}
    known = [r for r in ranges.values() if r is not None]
    if known:
        lo, hi = min(r[0] for r in known), max(r[1] for r in known)
    elif C_at.size:
        lo, hi = C_at.min() / 10, C_at.max()
    else:
        raise ScalelawError("the fits record no compute range: give the budgets to compare at")
    if C_at.size:
        lo, hi = min(lo, C_at.min()), max(hi, C_at.max())
    grid = np.geomspace(lo, hi, points) if hi > lo else np.array([lo])
    C = np.unique(np.concatenate([grid, C_at]))
    at_mask = np.isin(C, C_at)
    frame = _rows(fronts, names, names[0], C, alpha, ranges, at_mask)
    res = Comparison(names=names, baseline=names[0], law=results[0].law.name, kind=kind,
                     flops_per_token=k, alpha=alpha, at=C_at, frame=frame, frontiers=fronts,
                     n_draws=n_common, draw_sources=sources, compute_ranges=ranges, notes=notes)
    _frame_notes(res)
    if data is not None:
        res.paired, res.paired_budgets, res.paired_summary = _paired(
            results, names, data, by, k, alpha, budget_rtol)
    for note in res.notes:
        warnings.warn(note, ScalelawWarning, stacklevel=2)
    return res


def _frame_notes(res: Comparison) -> None:
    """Say out loud what the numbers cannot carry: extrapolation, unreachable losses."""
    f = res.frame[res.frame["variant"] != res.baseline]
    at = f[f["requested"]] if res.at.size else f.iloc[:0]
    far = at[at["extrapolation"] > EXTRAPOLATION_WARN]
    for r in far.itertuples(index=False):
        res.notes.append(f"at C = {r.C:.3g} the multiplier of {r.variant} is an {r.interval} "
                         "outside the fits: it rests on the laws holding that far")
    if res.at.size and res.kind == "chinchilla":
        from .fitting.bands import INTERPOLATION_TOL
        for n in res.names:
            d, w = res.frontiers[n][0].distance(res.at, compute=False)
            out = [(c, e, v) for c, e, v in zip(res.at, d, w) if v in ("N", "D") and e > INTERPOLATION_TOL]
            if out:
                res.notes.append(f"the compute-optimal allocation of {n} lies outside its fitted N "
                                 "and D at " + ", ".join(f"C = {c:.3g} ({v}* x{e:.2g} beyond)"
                                                         for c, e, v in out)
                                 + ": its frontier there is the law's beyond the runs' sizes, not "
                                 "an interpolation")
    if res.kind == "compute":
        res.notes.append("the fits are laws of C taken as the frontiers: that holds only for a fit "
                         "of the lowest loss at each budget (the lower envelope of the runs, or the "
                         "per-budget minima), not of every run's loss against its compute")
    unknown = sorted({n for n in res.names if res.frontiers[n][0].domain in (None, {})
                      and res.frontiers[n][0].compute_range is None})
    if unknown:
        res.notes.append(f"{', '.join(unknown)} record(s) no fitted range: whether a budget is an "
                         "interpolation is unknown (interval column 'fitted range unknown')")
    never = f[~np.isfinite(f["multiplier"])]
    if len(never):
        v = ", ".join(sorted(set(never["variant"])))
        res.notes.append(f"{v} reaches losses below the asymptote E of {res.baseline} at some budgets "
                         f"(from C = {never['C'].min():.3g}): {res.baseline} never matches it there "
                         "(multiplier infinite)")
    inf_hi = f[np.isfinite(f["multiplier"]) & ~np.isfinite(f["multiplier_upper"])]
    if len(inf_hi):
        res.notes.append("some draws put a variant's loss below the baseline's asymptote: those "
                         "multiplier intervals have no upper limit (inf)")
