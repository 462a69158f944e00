"""New-run bands calibrated out of sample, from the held-out errors of refits.

The new-run band under the law (``obs_ci_*`` of :meth:`FitResult.predict
<scalelaw.fitting.results.FitResult.predict>`) assumes the law is right and its sampling
sd is exact.  Held-out refits (rollout or leave-one-group-out, their per-point frame of
:func:`scalelaw.fitting.validation.heldout_errors`) show how far off that is.  The
construction (docs/calibration.md says why this one):

1. **Scale model.**  The error of a held-out point ``i`` (observed − predicted, fit scale:
   log loss) is modelled as having variance ::

       σ_i² = κ² · sd_obs_i² + τ² · ln(d_i)²

   ``sd_obs`` the refit's new-run sd at the point, ``d_i ≥ 1`` its extrapolation distance
   from the refit's fitted region.  ``κ`` rescales the band the model believes in (κ > 1:
   the sampling sd is too optimistic, e.g. correlated rows, a fit near a bound, a wrong
   law); ``τ`` is an error that grows with the log of the extrapolation distance beyond
   what the model's own sd does (zero inside the fitted region).  κ and τ (≥ 0) are the
   maximum likelihood estimates of a Gaussian with that variance, each refit's (fold's)
   points weighted 1/(its number of points), so every refit counts once, and the weights
   scaled to sum to the effective number of independent points (below).  τ enters only
   when a likelihood-ratio test (95%) says the errors grow with distance faster than
   κ·sd_obs does; otherwise τ = 0.
2. **Quantile.**  The band at a new point is ``center ± q_α · σ(x)``.  The points of one
   refit share that refit's curve error, so they are not independent: their effective
   number ``n_eff`` is Kish's ``n / (1 + (m̄ − 1) ρ)`` (:func:`effective_count`).
   ``method="studentized"`` (the default) takes ``q_α`` = the Student-t quantile with
   ``n_eff`` degrees of freedom (the prediction interval of a Gaussian whose scale is
   estimated from ``n_eff`` points); ``method="conformal"`` the split-conformal quantile of
   the normalised scores ``|e_i| / σ_i`` at level ``(1 − α)(1 + 1/n_eff)`` (the
   finite-sample rank with ``n_eff`` points; the t quantile when that level reaches 1).
   Conformal is valid but conservative by up to ``1/(n_eff + 1)``: with the 3–6 refits of
   a rollout that is 10–25 points too wide at 80%, which is why it is not the default.

The scores come from smaller refits than the final fit; the normalisation by each refit's
own ``sd_obs`` and distance is what carries them over.  Distances are those of
:func:`scalelaw.fitting.bands.extrapolation_distance`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ScalelawError

__all__ = ["Calibration", "calibrate"]

#: held-out points needed to calibrate at all
MIN_POINTS = 3
#: the quantile constructions of :meth:`Calibration.quantile`
METHODS = ("studentized", "conformal")


@dataclass
class Calibration:
    """A calibrated new-run band: ``center ± q_α · sqrt(κ² sd_obs² + τ² ln(d)²)`` on the
    fit's scale (log loss for a log-space fit).

    Attributes: ``kappa``, ``tau`` (the scale model), ``scores`` (sorted normalised
    held-out scores), ``n_folds`` (refits they came from), ``n_eff`` (effective number of
    independent points), ``max_distance`` (largest held-out distance: beyond it the scale
    model is extrapolated), ``method`` (``"studentized"`` or ``"conformal"``), ``source``
    (what produced the errors, e.g. ``"rollout by N"``), ``notes``.
    """

    kappa: float
    tau: float
    scores: np.ndarray
    n_folds: int
    max_distance: float = 1.0
    method: str = "studentized"
    source: str = ""
    notes: list = field(default_factory=list)
    n_eff: float = 0.0

    def scale(self, sd_obs, distance) -> np.ndarray:
        """σ(x) = sqrt(κ² sd_obs² + τ² ln(d)²), fit scale."""
        sd = np.asarray(sd_obs, dtype=float)
        ld = np.log(np.fmax(np.asarray(distance, dtype=float), 1.0))
        return np.sqrt(self.kappa ** 2 * sd ** 2 + self.tau ** 2 * ld ** 2)

    def quantile(self, alpha: float = 0.05) -> float:
        """q_α at level 1 − alpha: the Student-t quantile with ``n_eff`` degrees of freedom
        (``"studentized"``), or the split-conformal quantile of the scores (``"conformal"``;
        the t quantile when there are too few effective points for the level)."""
        if not 0 < alpha < 1:
            raise ScalelawError(f"alpha={alpha} must lie strictly between 0 and 1")
        from scipy import stats

        n_eff = self.n_eff or len(self.scores)
        t = float(stats.t.ppf(1 - alpha / 2, max(n_eff, 1.0)))
        if self.method == "studentized":
            return t
        level = (1 - alpha) * (1 + 1 / n_eff)   # split conformal's finite-sample rank
        if level >= 1 or len(self.scores) == 0:
            return t
        return float(np.quantile(self.scores, level, method="higher"))

    def band(self, center, sd_obs, distance, alpha: float = 0.05):
        """``(lower, upper)`` of the calibrated (1 − alpha) new-run band on the fit's
        scale: ``center`` the law's prediction there (log loss for a log-space fit),
        ``sd_obs`` the new-run sd under the law, ``distance`` the extrapolation distance."""
        half = self.quantile(alpha) * self.scale(sd_obs, distance)
        c = np.asarray(center, dtype=float)
        return c - half, c + half

    def to_dict(self) -> dict:
        return {"method": self.method, "kappa": self.kappa, "tau": self.tau,
                "scores": [float(s) for s in self.scores], "n_folds": self.n_folds,
                "n_eff": self.n_eff, "max_distance": self.max_distance, "source": self.source, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        return cls(kappa=float(d["kappa"]), tau=float(d["tau"]),
                   scores=np.sort(np.asarray(d.get("scores", []), dtype=float)),
                   n_folds=int(d.get("n_folds", 1)), n_eff=float(d.get("n_eff", 0.0)), max_distance=float(d.get("max_distance", 1.0)),
                   method=str(d.get("method", "studentized")), source=str(d.get("source", "")),
                   notes=list(d.get("notes", [])))

    def describe(self, alpha: float = 0.05) -> str:
        """One line for the summary."""
        n = len(self.scores)
        q = self.quantile(alpha)
        pct = f"{100 * (1 - alpha):g}%"
        n_eff = self.n_eff or n
        conformal = self.method == "conformal" and (1 - alpha) * (1 + 1 / n_eff) < 1
        how = (f"conformal {pct} quantile {q:.3g}" if conformal else
               f"Student-t {pct} quantile {q:.3g} ({n_eff:.3g} effective points)")
        src = f" of {self.source}" if self.source else ""
        return (f"calibrated from {n} held-out points in {self.n_folds} refits{src}: "
                f"kappa = {self.kappa:.3g}, tau = {self.tau:.3g} per ln(distance), {how}; "
                f"held-out distances up to x{self.max_distance:.3g}")


def calibrate(errors: pd.DataFrame, *, method: str = "studentized", source: str | None = None) -> Calibration:
    """Build a :class:`Calibration` from a per-point held-out error frame (columns
    ``fold, distance, error, sd_obs``; :func:`scalelaw.fitting.validation.heldout_errors`,
    ``cv.attrs["errors"]`` of a rollout or leave-one-group-out).  Points with a non-finite
    error, sd or distance are left out.  ``method``: ``"studentized"`` (default) or
    ``"conformal"`` (see the module docstring); ``source``: what produced the errors
    (default ``errors.attrs["kind"]``)."""
    if method not in METHODS:
        raise ScalelawError(f"unknown calibration method {method!r}; use 'studentized' or 'conformal'")
    if errors is None or len(errors) == 0:
        raise ScalelawError("no held-out errors to calibrate with: run a cross-validation first")
    missing = [c for c in ("error", "sd_obs", "distance") if c not in errors]
    if missing:
        raise ScalelawError(f"the held-out error frame lacks {', '.join(missing)}")
    e = errors["error"].to_numpy(dtype=float)
    sd = errors["sd_obs"].to_numpy(dtype=float)
    d = errors["distance"].to_numpy(dtype=float)
    fold = errors["fold"].to_numpy() if "fold" in errors else np.zeros(len(e))
    ok = np.isfinite(e) & np.isfinite(sd) & (sd >= 0) & np.isfinite(d) & (d >= 1 - 1e-9)
    notes = []
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} held-out point(s) without a finite error, sd or distance left out")
    e, sd, d, fold = e[ok], sd[ok], np.fmax(d[ok], 1.0), fold[ok]
    if len(e) < MIN_POINTS:
        raise ScalelawError(f"{len(e)} usable held-out point(s): calibration needs at least {MIN_POINTS}")
    ld = np.log(d)
    _, inv, counts = np.unique(pd.Series(fold).astype(str).to_numpy(), return_inverse=True,
                               return_counts=True)
    # every refit counts once, and all of them together as their effective number of
    # independent points (under the κ-only model), so the likelihood-ratio test of τ is in
    # units of independent points
    w = 1.0 / counts[inv]
    with np.errstate(divide="ignore", invalid="ignore"):
        r0 = np.where(sd > 0, e / sd, 0.0)
    w = w * effective_count(r0, inv) / w.sum()
    kappa, tau = _fit_scale(e, sd, ld, w)
    if not np.any(ld > 0):
        notes.append("no held-out point extrapolates: the distance term is not identified (tau = 0)")
    sig = np.sqrt(kappa ** 2 * sd ** 2 + tau ** 2 * ld ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(sig > 0, np.abs(e) / sig, np.where(e == 0, 0.0, np.inf))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(sig > 0, e / sig, 0.0)
    n_eff = effective_count(r, inv)
    return Calibration(kappa=float(kappa), tau=float(tau), scores=np.sort(scores),
                       n_folds=int(len(counts)), max_distance=float(d.max()), method=method,
                       source=source if source is not None else str(errors.attrs.get("kind", "")),
                       notes=notes, n_eff=float(n_eff))


def effective_count(r, fold) -> float:
    """Effective number of independent held-out points (Kish's design effect): the points
    of one refit share that refit's error of the curve, so they count as
    ``n / (1 + (m̄ − 1) ρ)`` with ``m̄`` the mean points per refit and ``ρ`` the
    intra-refit correlation of the normalised errors ``r`` (one-way random-effects ANOVA
    moments, unequal group sizes).  A bias shared by all refits is not counted as
    correlation: a new point shares it too, so it is part of the error to cover, not noise
    in estimating its scale."""
    r = np.asarray(r, dtype=float)
    fold = np.asarray(fold)
    n = len(r)
    labels, inv, m = np.unique(fold, return_inverse=True, return_counts=True)
    J = len(labels)
    if J <= 1:
        return 1.0
    means = np.bincount(inv, weights=r) / m
    within = float(np.sum((r - means[inv]) ** 2) / max(n - J, 1)) if n > J else 0.0
    mbar = n / J
    grand = float(np.sum(m * means) / n)
    between = float(np.sum(m * (means - grand) ** 2) / (J - 1))
    m0 = (n - np.sum(m ** 2) / n) / (J - 1)   # E[between] = σ_w² + m0 σ_b²
    sb2 = max(0.0, (between - within) / m0) if m0 > 0 else 0.0
    rho = sb2 / (sb2 + within) if sb2 + within > 0 else 1.0
    return float(n / (1.0 + (mbar - 1.0) * rho))


def _fit_scale(e, sd, ld, w) -> tuple[float, float]:
    """Weighted Gaussian maximum likelihood of (κ, τ) ≥ 0 in Var(e) = κ² sd² + τ² ld².

    The κ-only model (τ = 0: the model's own sd, rescaled) is kept unless adding τ raises
    the weighted log-likelihood by more than half the χ²₁ 95% point (a likelihood-ratio
    test in units of refits): with held-out points all at about one distance the two terms
    cannot be told apart, and the band then grows with distance only as the model's own sd
    does."""
    from scipy import optimize, stats

    e2 = e ** 2
    has_d = bool(np.any(ld > 0))
    has_sd = bool(np.any(sd > 0))
    if not has_sd and not has_d:
        raise ScalelawError("held-out points have neither an sd nor an extrapolation distance: "
                            "nothing to scale the band with")
    floor = 1e-12 * max(float(np.max(e2)), 1e-300)

    def nll(k2, t2):
        v = k2 * sd ** 2 + t2 * ld ** 2 + floor
        return float(np.sum(w * (np.log(v) + e2 / v)))

    k_only = np.sum(w * e2 / np.where(sd > 0, sd ** 2, np.inf)) / np.sum(w * (sd > 0)) if has_sd else 0.0
    if has_sd:   # κ alone: a one-dimensional ML on the log scale
        r = optimize.minimize_scalar(lambda u: nll(math.exp(u), 0.0),
                                     bounds=(math.log(k_only) - 12, math.log(k_only) + 12), method="bounded")
        k_only, f_k = math.exp(r.x), r.fun
    else:
        f_k = np.inf
    if not has_d:
        return math.sqrt(k_only), 0.0
    t0 = np.sum(w * e2) / max(np.sum(w * ld ** 2), 1e-300)
    best = None
    starts = ([math.log(max(k_only, 1e-300)), math.log(t0 * 1e-3)], [math.log(max(k_only, 1e-300)) - 5,
              math.log(t0)], [math.log(max(k_only, 1e-300)) - 1, math.log(t0) - 1]) if has_sd \
        else ([0.0, math.log(t0)],)
    for start in starts:
        f = (lambda th: nll(math.exp(th[0]), math.exp(th[1]))) if has_sd else \
            (lambda th: nll(0.0, math.exp(th[1])))
        r = optimize.minimize(f, np.asarray(start, dtype=float), method="Nelder-Mead",
                              options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
        if best is None or r.fun < best.fun:
            best = r
    k2 = math.exp(best.x[0]) if has_sd else 0.0
    t2 = math.exp(best.x[1])
    # nll is -2 log L (up to a constant): the likelihood-ratio statistic is f_k - f_full
    if has_sd and f_k - best.fun <= stats.chi2.ppf(0.95, 1):
        return math.sqrt(k_only), 0.0
    return math.sqrt(k2), math.sqrt(t2)
