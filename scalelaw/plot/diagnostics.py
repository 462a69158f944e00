"""How well the law fits: residuals against the variable, and predicted against observed
(parity), with held-out runs marked."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ._base import (COLORS, axes_or_new, fitted_design, log_ticks, loss_label, loss_unit, place_legend,
                    quiet_extrapolation, styled_figure, var_label)

__all__ = ["residuals", "parity"]


def _default_x(law):
    if getattr(law, "predicts_curves", False):
        return "step"
    if tuple(sorted(law.variables)) == ("D", "N"):
        return "C"
    return law.variables[0]


def _x_of(vals: dict, x, k):
    if x == "C" and "C" not in vals and "N" in vals and "D" in vals:
        return k * np.asarray(vals["N"], float) * np.asarray(vals["D"], float)
    if x in vals:
        return np.asarray(vals[x], float)
    return None


def _diagnostic_points(result, holdout, x, k, alpha):
    """``fit``: dict of x, observed, fitted and group labels of the fitted points; ``hold``:
    the same for the held-out rows (predicted by the result), or None."""
    obs = np.asarray(result.observed, float) if result.observed is not None else None
    fitted = np.asarray(result.fitted, float) if result.fitted is not None else None
    if obs is None or fitted is None:
        raise ScalelawError("residuals and parity need the fitted points, which a result loaded from JSON "
                            "does not hold: draw them from the fit itself (refit the data)")
    design = fitted_design(result)
    xv = None if design is None else _x_of(design.x, x, k)
    if xv is not None and len(xv) != len(obs):
        xv = None
    groups = None if design is None else design.groups
    fit = {"x": xv, "obs": obs, "pred": fitted,
           "group": None if groups is None or len(groups) != len(obs) else np.asarray(groups)}
    hold = None
    if holdout is not None:
        law = result.law
        with quiet_extrapolation():
            if getattr(law, "predicts_curves", False):
                frame = holdout if isinstance(holdout, pd.DataFrame) else pd.DataFrame(holdout)
                pr = result.predict(frame, alpha=alpha)
                if "loss" not in pr:
                    raise ScalelawError("the held-out log has no loss column to compare with")
                pr = pr[pr["loss"].notna()]
                hold = {"x": pr["step"].to_numpy(float) if "step" in pr else None,
                        "obs": pr["loss"].to_numpy(float), "pred": pr["loss_pred"].to_numpy(float)}
            else:
                from ._runs import points
                pts = points(result, holdout, k)
                if pts is None:
                    raise ScalelawError("no usable held-out rows (need the law's columns and a loss)")
                pr = result.predict(pts[list(law.variables)], alpha=alpha)
                hold = {"x": _x_of({c: pts[c].to_numpy() for c in pts.columns}, x, k),
                        "obs": pts["loss"].to_numpy(float), "pred": pr["mean"].to_numpy(float)}
    return fit, hold


def _residual(obs, pred, space):
    with np.errstate(all="ignore"):
        return np.log(obs / pred) if space == "log" else obs - pred


def _scores(obs, pred):
    e = pred - obs
    return float(np.sqrt(np.mean(e ** 2))), float(np.mean(np.abs(e) / np.abs(obs)))


@styled_figure
def residuals(result, holdout=None, *, x: str | None = None, ax=None, flops_per_token: float = 6.0,
              alpha: float = 0.05):
    """Residuals of the fitted points against ``x`` (compute C = k·N·D for a law of N and D,
    the law's variable, or the step of an LR-schedule law), with ``holdout`` (a frame of
    held-out runs, or a held-out log for an LR-schedule law) predicted and marked.

    Residuals are ln(observed / fitted) for a fit in log space (the default), observed −
    fitted in nats otherwise; the grey band is ±2 residual scales (the scatter a new run
    gets in the prediction band).  Returns the Figure.
    """
    law = result.law
    space = getattr(result.settings, "space", "log")
    x = x or _default_x(law)
    k = float(flops_per_token)
    fit, hold = _diagnostic_points(result, holdout, x, k, alpha)
    fig, ax = axes_or_new(ax, figsize=(6.0, 3.6))
    use_x = fit["x"] is not None
    xf = fit["x"] if use_x else fit["pred"]
    r = _residual(fit["obs"], fit["pred"], space)
    s = getattr(result, "residual_scale", None)
    if s and np.isfinite(s):
        ax.axhspan(-2 * s, 2 * s, color="0.5", alpha=0.12, lw=0, zorder=0,
                   label=f"±2 residual scales (±{2 * s:.2g})")
    ax.axhline(0.0, color="0.3", lw=0.9, zorder=1)
    if fit["group"] is not None and getattr(law, "predicts_curves", False):
        for i, g in enumerate(pd.unique(fit["group"])):
            m = fit["group"] == g
            ax.scatter(xf[m], r[m], s=9, color=f"C{i % 7}", alpha=0.8, lw=0, zorder=3, label=f"run {g}")
    else:
        ax.scatter(xf, r, s=16, color=COLORS["data"], edgecolors="white", linewidths=0.4, zorder=3,
                   label=f"fitted points (n = {len(r)})")
    ys = list(r)
    if hold is not None:
        hx = hold["x"] if use_x and hold["x"] is not None else hold["pred"]
        hr = _residual(hold["obs"], hold["pred"], space)
        ax.scatter(hx, hr, s=26, marker="D", facecolors="none", edgecolors=COLORS["holdout"], linewidths=1.0,
                   zorder=4, label=f"held out, not fitted (n = {len(hr)})")
        ys += list(hr)
    if use_x and np.all(xf > 0) and not getattr(law, "predicts_curves", False):   # steps: linear
        ax.set_xscale("log")
    ax.set_xlabel(var_label(x, (getattr(result, "mapping", None) or {}).get(x), k, law.name) if use_x
                  else loss_label((getattr(result, "mapping", None) or {}).get("loss"), "fitted loss"))
    unit = loss_unit((getattr(result, "mapping", None) or {}).get("loss"))
    ax.set_ylabel("residual ln(observed / fitted)" if space == "log" else f"residual, observed − fitted ({unit})")
    ys = np.asarray([v for v in ys if np.isfinite(v)])
    if len(ys):
        m = max(np.max(np.abs(ys)), 2 * s if s else 0) * 1.15
        ax.set_ylim(-m, m)
    if ax.get_xscale() == "log":
        log_ticks(ax, "x")
    place_legend(ax)
    return fig


@styled_figure
def parity(result, holdout=None, *, ax=None, flops_per_token: float = 6.0, alpha: float = 0.05):
    """Predicted against observed loss on log axes, the line of equality, the ±2 residual
    scale lines (a new run falls between them about 95% of the time), and ``holdout`` rows
    (a frame of held-out runs, or a held-out log for an LR-schedule law) marked, with their
    RMSE and mean absolute percentage error.  Returns the Figure."""
    law = result.law
    space = getattr(result.settings, "space", "log")
    fit, hold = _diagnostic_points(result, holdout, _default_x(law), float(flops_per_token), alpha)
    fig, ax = axes_or_new(ax, figsize=(4.4, 4.2))
    vals = [fit["obs"], fit["pred"]] + ([hold["obs"], hold["pred"]] if hold is not None else [])
    allv = np.concatenate(vals)
    allv = allv[np.isfinite(allv) & (allv > 0)]
    lo, hi = allv.min(), allv.max()
    pad = (hi / lo) ** 0.05
    lo, hi = lo / pad, hi * pad
    line = np.geomspace(lo, hi, 50)
    ax.plot(line, line, color="0.3", lw=0.9, zorder=1, label="predicted = observed")
    s = getattr(result, "residual_scale", None)
    if s and np.isfinite(s):
        up, dn = (line * np.exp(2 * s), line * np.exp(-2 * s)) if space == "log" else (line + 2 * s, line - 2 * s)
        ax.plot(line, up, color="0.5", lw=0.8, ls=(0, (4, 3)), zorder=1, label="±2 residual scales")
        ax.plot(line, dn, color="0.5", lw=0.8, ls=(0, (4, 3)), zorder=1)
    rmse, mape = _scores(fit["obs"], fit["pred"])
    ax.scatter(fit["obs"], fit["pred"], s=14, color=COLORS["data"], edgecolors="white", linewidths=0.4,
               zorder=3, label=f"fitted, n = {len(fit['obs'])}\nRMSE {rmse:.3g}, MAPE {100 * mape:.2g}%")
    if hold is not None:
        rmse, mape = _scores(hold["obs"], hold["pred"])
        ax.scatter(hold["obs"], hold["pred"], s=26, marker="D", facecolors="none",
                   edgecolors=COLORS["holdout"], linewidths=1.0, zorder=4,
                   label=f"held out, n = {len(hold['obs'])}\nRMSE {rmse:.3g}, MAPE {100 * mape:.2g}%")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    col = (getattr(result, "mapping", None) or {}).get("loss")
    ax.set_xlabel(loss_label(col, "observed loss"))
    ax.set_ylabel(loss_label(col, "predicted loss"))
    log_ticks(ax, "x")
    log_ticks(ax, "y")
    place_legend(ax, headroom=0)    # keep the square: equal ranges on both axes
    return fig
