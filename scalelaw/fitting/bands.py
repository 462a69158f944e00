"""Predicted values with their bands: the band of the law's curve (bootstrap percentiles or
the delta method), loss curves of LR schedules, and when a curve leaves the fitted region."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from ..errors import ScalelawError, ScalelawWarning


def curve_prediction(result, source, alpha: float = 0.05, details: bool = False,
                     **options) -> pd.DataFrame:
    """The loss curve of a schedule or log under an LR-schedule fit, with the (1 − alpha)
    band of the curve: ``step, lr, loss_pred, loss_lower, loss_upper`` (+ ``run`` and the
    observed ``loss`` for a log), ``interval`` (``"interpolation"`` or ``"extrapolation
    x1.5 in step"``, see :func:`curve_distance`) and, when the fit was cross-validated
    (``result.calibration``), the calibrated band of one new run's logged loss
    ``loss_cal_lower, loss_cal_upper``.  ``details`` adds ``sd_curve``, ``sd_obs`` (fit
    scale) and ``distance``.  ``result``: a :class:`FitResult` or any object with ``law``,
    ``params``, ``cov``, ``boot`` (see :func:`curve_band`); ``options`` go to the law's
    :meth:`~scalelaw.laws.base.Law.curve_design`."""
    law = result.law
    if source is None:
        raise ScalelawError(f"{law.name} predicts loss curves: give a schedule "
                            "(spec or per-step LRs) or a log frame to predict")
    if isinstance(source, os.PathLike):   # a path object is a log (a string is a schedule spec)
        from ..io.curves import read_curves
        source = read_curves(source, require_loss=False)
    design, out = law.curve_design(source, **options)
    mean, center, sd, lo, hi = curve_band(result, law, design.x, alpha)
    notes = curve_validity(result, law.domain(design), mean)
    for note in notes:
        warnings.warn(note, ScalelawWarning, stacklevel=3)
    log = getattr(getattr(result, "settings", None), "space", "log") == "log"
    tr = exp_band if log else (lambda v: v)
    observed = out.pop("loss") if "loss" in out else None
    out = out.assign(loss_pred=mean, loss_lower=tr(lo), loss_upper=tr(hi))
    dist, which = curve_distance(result, out)
    sd_obs = np.sqrt(sd ** 2 + new_run_variance(result))
    cal = getattr(result, "calibration", None)
    if cal is not None:
        clo, chi = cal.band(center, sd_obs, dist, alpha)
        out["loss_cal_lower"], out["loss_cal_upper"] = tr(clo), tr(chi)
    out["interval"] = interval_labels(dist, which)
    if details:
        out["sd_curve"], out["sd_obs"], out["distance"] = sd, sd_obs, dist
    if observed is not None:
        out["loss"] = observed.to_numpy()
    if "run" in out and out["run"].nunique() == 1:
        out = out.drop(columns="run")
    out = out.reset_index(drop=True)
    out.attrs["notes"] = notes
    return out


#: an LR-schedule prediction warns beyond these multiples of the fitted peak LR and steps
CURVE_LR_WARN = 1.25
CURVE_STEPS_WARN = 3.0
#: ... and below the lowest fitted (positive) LR divided by this
CURVE_LR_LOW_WARN = 4.0


def curve_validity(result, domain: dict, mean) -> list[str]:
    """One-line notes when a predicted loss curve leaves the fitted law's valid region: a
    peak LR above :data:`CURVE_LR_WARN` × the highest fitted LR, a positive LR below the
    lowest fitted one divided by :data:`CURVE_LR_LOW_WARN`, more steps than
    :data:`CURVE_STEPS_WARN` × the longest fitted run, or a non-positive predicted loss."""
    fitted = dict(getattr(result, "domain", None) or {})
    notes = []
    if "lr" in domain and "lr" in fitted and domain["lr"][1] > CURVE_LR_WARN * fitted["lr"][1]:
        notes.append(f"peak LR {domain['lr'][1]:.3g} is {domain['lr'][1] / fitted['lr'][1]:.3g}x the "
                     f"highest fitted LR {fitted['lr'][1]:.3g}: an extrapolation the law was not fitted on")
    if "lr" in domain and "lr" in fitted and domain["lr"][0] < fitted["lr"][0] / CURVE_LR_LOW_WARN:
        notes.append(f"lowest LR {domain['lr'][0]:.3g} is below 1/{CURVE_LR_LOW_WARN:g} of the lowest fitted LR "
                     f"{fitted['lr'][0]:.3g}: the decay goes further than the fitted runs did")
    if "step" in domain and "step" in fitted and domain["step"][1] > CURVE_STEPS_WARN * fitted["step"][1]:
        notes.append(f"step {domain['step'][1]:.0f} is {domain['step'][1] / fitted['step'][1]:.3g}x the "
                     f"longest fitted run ({fitted['step'][1]:.0f} steps): an extrapolation")
    mean = np.asarray(mean, dtype=float)
    bad = ~(mean > 0)
    if bad.any():
        notes.append(f"predicted loss <= 0 (or not a number) at {int(bad.sum())} of {mean.size} step(s), "
                     f"min {np.nanmin(mean):.4g}: the law is outside its valid region there")
    return notes


def param_draws(result, law=None) -> np.ndarray | None:
    """The full parameter vector of each bootstrap draw, shape ``(draws, k)`` in the law's
    :attr:`param_names` order: the drawn columns of ``result.boot`` and the parameters it does
    not hold (fixed ones) at their value in ``result.params``; None without draws."""
    boot = getattr(result, "boot", None)
    if boot is None or not len(boot):
        return None
    law = result.law if law is None else law
    P = np.repeat(result.params.to_numpy(dtype=float)[None, :], len(boot), axis=0)
    P[:, [law.param_names.index(c) for c in boot.columns]] = boot.to_numpy(dtype=float)
    return P


def curve_band(result, law, x, alpha: float = 0.05):
    """The law's curve at prepared inputs ``x`` and its (1 − alpha) band.

    ``result`` is a :class:`FitResult` or any object with ``params``, ``cov`` (free
    parameters), ``boot`` and optionally ``settings``.  The band is the bootstrap percentile
    interval when draws exist, else the delta method with the covariance; it is built on the
    fit's scale (log loss for a log-space fit).  Returns ``(mean, center, sd, lower, upper)``
    with ``center``, ``sd``, ``lower``, ``upper`` on that scale.
    """
    from scipy.special import ndtri   # = scipy.stats.norm.ppf, without importing scipy.stats

    from .engine import law_jacobian
    p = result.params.to_numpy(dtype=float)
    mean = np.asarray(law.evaluate(x, p), dtype=float)
    log = getattr(getattr(result, "settings", None), "space", "log") == "log"
    z = ndtri(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        center = np.log(mean) if log else mean
    P = param_draws(result, law)
    if P is not None:
        preds = np.asarray(law.evaluate(x, P), dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.log(preds) if log else preds
        lo, hi = np.nanpercentile(t, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
        return mean, center, (hi - lo) / (2 * z), lo, hi
    free = list(result.cov.columns)
    cov = result.cov.to_numpy()
    if not free or not np.all(np.isfinite(cov)):
        nan = np.full_like(mean, np.nan)
        return mean, center, nan, nan, nan
    J = law_jacobian(law, x, p)[:, [law.param_names.index(c) for c in free]]
    sd = np.sqrt(np.clip(np.einsum("ni,ij,nj->n", J, cov, J), 0, None))
    sd = sd / mean if log else sd
    return mean, center, sd, center - z * sd, center + z * sd


def exp_band(v):
    """``exp`` of log-space band limits; an unidentified fit's band may reach 0 or inf, and
    that needs no overflow warning."""
    with np.errstate(over="ignore"):
        return np.exp(v)


# -- distance from the fitted region, new-run sd, held-out errors ------------------------
#: a point at most this factor outside the fitted range counts as interpolation
#: (floating-point slack around the end points of the fitted range: derived columns such
#: as D = C/(6N) are recomputed at prediction time)
INTERPOLATION_TOL = 1.0 + 1e-6


def compute_range(domain_x) -> tuple[float, float] | None:
    """Range of the product N·D over prepared inputs that have both ``N`` and ``D``
    (training compute up to the constant k of C = k·N·D, which cancels in
    :func:`extrapolation_distance`); None otherwise."""
    if not isinstance(domain_x, dict) or "N" not in domain_x or "D" not in domain_x:
        return None
    nd = np.asarray(domain_x["N"], dtype=float) * np.asarray(domain_x["D"], dtype=float)
    nd = nd[np.isfinite(nd) & (nd > 0)]
    return (float(nd.min()), float(nd.max())) if nd.size else None


def extrapolation_distance(domain: dict, x, nd_range: tuple | None = None):
    """How far each point of prepared inputs ``x`` lies outside the fitted region.

    Per variable ``v`` with fitted range ``[lo, hi]`` (``domain``) the factor is
    ``max(lo/x, x/hi, 1)``; the distance is the largest factor over the variables and, for
    laws in N and D, over the compute C ∝ N·D (``nd_range``: its fitted range, see
    :func:`compute_range`): the fitted box of (N, D) has corners of far larger compute than
    any fitted run, and a prediction there extrapolates in compute.  Returns
    ``(distance, variable)``: arrays of the factor (≥ 1; 1 = interpolation) and the name
    of the variable it comes from (``""`` inside the region).
    """
    if not isinstance(x, dict):
        return np.ones(0), np.array([], dtype=object)
    n = len(next(iter(x.values()))) if x else 0
    dist = np.ones(n)
    which = np.full(n, "", dtype=object)
    items = [(v, lo, hi, np.asarray(x[v], dtype=float)) for v, (lo, hi) in (domain or {}).items()
             if v in x]
    if nd_range is not None and "N" in x and "D" in x:
        items.append(("C", nd_range[0], nd_range[1],
                      np.asarray(x["N"], dtype=float) * np.asarray(x["D"], dtype=float)))
    for v, lo, hi, a in items:
        if not (lo > 0 and hi > 0):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.fmax(lo / a, a / hi)
        more = f > dist
        dist = np.where(more, f, dist)
        which = np.where(more, v, which)
    which = np.where(dist > INTERPOLATION_TOL, which, "")
    return dist, which


def interval_labels(distance, variable) -> list[str]:
    """``"interpolation"`` or ``"extrapolation x3.2 in N"`` per point (see
    :func:`extrapolation_distance`)."""
    out = []
    for d, v in zip(np.asarray(distance, dtype=float), variable):
        if not np.isfinite(d):
            out.append("extrapolation (unbounded)")
        elif d <= INTERPOLATION_TOL or not v:
            out.append("interpolation")
        else:
            txt = f"{d:.3f}" if d < 1.095 else f"{d:.2g}" if d < 9.95 else f"{d:.0f}"
            out.append(f"extrapolation x{txt} in {v}")
    return out


def curve_distance(result, curve: pd.DataFrame):
    """How far each step of a predicted loss curve (``step, lr`` and ``run``) lies outside
    what the fit saw: the step over the longest fitted run's last step, and the highest LR
    up to that step over the highest fitted LR (the larger of the two, at least 1).
    Returns ``(distance, variable)`` as :func:`extrapolation_distance` does."""
    fitted = dict(getattr(result, "domain", None) or {})
    n = len(curve)
    dist, which = np.ones(n), np.full(n, "", dtype=object)
    step = curve["step"].to_numpy(dtype=float)
    if "step" in fitted and fitted["step"][1] > 0:
        f = step / fitted["step"][1]
        dist, which = np.where(f > dist, f, dist), np.where(f > dist, "step", which)
    if "lr" in fitted and fitted["lr"][1] > 0 and "lr" in curve:
        runs = curve["run"] if "run" in curve else pd.Series(0, index=curve.index)
        order = np.lexsort((step, runs.astype(str).to_numpy()))
        peak = np.empty(n)
        lr = curve["lr"].to_numpy(dtype=float)
        r = runs.astype(str).to_numpy()[order]
        starts = np.r_[True, r[1:] != r[:-1]]
        run_id = np.cumsum(starts) - 1
        for k in np.unique(run_id):
            idx = order[run_id == k]
            peak[idx] = np.fmax.accumulate(lr[idx])
        f = peak / fitted["lr"][1]
        dist, which = np.where(f > dist, f, dist), np.where(f > dist, "lr", which)
    which = np.where(dist > INTERPOLATION_TOL, which, "")
    return dist, which


def new_run_variance(result, n_eval: int = 1) -> float:
    """Variance (fit scale: log loss for a log-space fit) of one new run around the law:
    the run-to-run plus evaluation variance of ``result.components`` when replicates
    identified them (``components.identified["run"]`` or ``["eval"]``), else the square of
    the residual scale (which then holds every source of scatter of one run about the law)."""
    comp = getattr(result, "components", None)
    ident = getattr(comp, "identified", None) or {}
    if comp is not None and any(ident.get(k) for k in ("run", "eval")):   # replicates
        v = float(comp.new_run_var(n_eval=n_eval))
        if np.isfinite(v):
            return v
    s = getattr(result, "residual_scale", None) or 0.0
    return float(s) ** 2


def heldout_errors(result, test_frame, *, fold=None, alpha: float = 0.05) -> pd.DataFrame:
    """Per-point errors of a fit at held-out rows, the raw material of calibration.

    ``result``: the (re)fit; ``test_frame``: its law's variables (canonical names) and the
    observed target (column ``y`` or the law's target name, e.g. ``loss``).  Returns one
    row per held-out point: ``fold`` (the label given), ``distance`` (see
    :func:`extrapolation_distance`, relative to the fit's region), ``error`` (observed −
    predicted on the fit's scale: log loss for a log-space fit), ``sd_curve`` (sd of the
    fitted curve there: bootstrap or delta method, fit scale), ``sd_obs`` (sd of one new
    run under the law: ``sqrt(sd_curve² + new-run variance)``, see
    :func:`new_run_variance`), ``observed``, ``predicted`` (loss, natural scale).
    """
    law = result.law
    frame = pd.DataFrame(test_frame)
    if "y" not in frame and law.target in frame:
        frame = frame.rename(columns={law.target: "y"})
    design = law.prepare(frame, target="y")
    if design.y is None:
        raise ScalelawError(f"the held-out rows have no observed {law.target}")
    mean, center, sd_curve, _, _ = curve_band(result, law, design.x, alpha)
    log = getattr(getattr(result, "settings", None), "space", "log") == "log"
    y = np.asarray(design.y, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        obs = np.log(y) if log else y
    dist, _ = extrapolation_distance(getattr(result, "domain", {}), design.x,
                                     getattr(result, "compute_range", None))
    return pd.DataFrame({
        "fold": [fold] * len(y), "distance": dist, "error": obs - center,
        "sd_curve": sd_curve, "sd_obs": np.sqrt(sd_curve ** 2 + new_run_variance(result)),
        "observed": y, "predicted": mean})
