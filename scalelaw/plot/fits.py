"""The forecast figure: loss against compute (or N, or D) with the fitted law, its bands, the
extrapolation region, the asymptote and the predicted point at a target budget.

``plot_fit(result, path)`` (``scalelaw fit --plot``) draws it and saves it.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ._base import (COLORS, axes_or_new, fmt_num, level_text, log_ticks, loss_label, place_legend,
                    quiet_extrapolation, save, styled_figure, truncated_viridis, var_label)
from ._runs import fitted_range as _fitted_range
from ._runs import points as _points
from ._runs import source as _source
from ._runs import two_variable as _two_variable

__all__ = ["forecast", "plot_fit"]


def _frontier(result, C, k):
    """Compute-optimal ``N_opt, D_opt`` at budgets ``C`` (closed form for Chinchilla,
    a search over N otherwise)."""
    p = result.params
    C = np.asarray(C, float)
    if result.law.name == "chinchilla" and all(n in p for n in ("E", "A", "B", "alpha", "beta")):
        from ..allocate import compute_optimal
        t = compute_optimal({n: float(p[n]) for n in ("E", "A", "B", "alpha", "beta")}, C,
                            flops_per_token=k, draws=None)
        return t["N_opt"].to_numpy(), t["D_opt"].to_numpy()
    # any law of N and D: the minimum of L(N, C/kN) on a grid of N, refined by a parabola in ln N
    u = np.linspace(-9.0, 9.0, 721)
    logN = 0.5 * np.log(C / k)[:, None] + u[None, :]
    N = np.exp(logN)
    with np.errstate(all="ignore"):
        L = np.asarray(result.law.evaluate({"N": N.ravel(), "D": (C[:, None] / (k * N)).ravel()},
                                           p.to_numpy()), float).reshape(N.shape)
    L = np.where(np.isfinite(L), L, np.inf)
    i = np.clip(np.argmin(L, axis=1), 1, len(u) - 2)
    r = np.arange(len(C))
    y0, y1, y2 = L[r, i - 1], L[r, i], L[r, i + 1]
    den = y0 - 2 * y1 + y2
    shift = np.where(den > 0, 0.5 * (y0 - y2) / np.where(den > 0, den, 1), 0.0)
    n_opt = np.exp(logN[r, i] + shift * (u[1] - u[0]))
    return n_opt, C / (k * n_opt)


def _pretty(formula: str) -> str:
    """``E + A*N**-alpha`` -> ``E + A·N^-alpha`` for a legend."""
    return str(formula).replace("**", "^").replace("*", "·")


def _group_values(values, max_distinct):
    v = np.unique(np.asarray(values, float))
    if len(v) <= max_distinct:
        return v
    return np.geomspace(v.min(), v.max(), 6)


def _resolve_target(result, target, x, k):
    """``(x position, {variable: value}, description)`` of the target point."""
    law = result.law
    if isinstance(target, Mapping):
        missing = [v for v in law.variables if v not in target]
        if missing:
            raise ScalelawError(f"the target point needs {', '.join(missing)} "
                                f"(law {law.name} has variables {', '.join(law.variables)})")
        q = {v: float(target[v]) for v in law.variables}
        if _two_variable(law):
            C = k * q["N"] * q["D"]
            xpos = {"C": C, "N": q["N"], "D": q["D"]}[x]
            what = f"N = {fmt_num(q['N'], 2)}, D = {fmt_num(q['D'], 2)}\n(C = {fmt_num(C, 2)} FLOPs)"
        else:
            xpos = q[x]
            what = f"{x} = {fmt_num(xpos, 2)}"
        return xpos, q, what
    t = float(target)
    if not t > 0:
        raise ScalelawError(f"the target must be positive, got {target!r}")
    if _two_variable(law):
        n, d = _frontier(result, [t], k)
        q = {"N": float(n[0]), "D": float(d[0])}
        xpos = {"C": t, "N": q["N"], "D": q["D"]}[x]
        what = f"C = {fmt_num(t, 2)} FLOPs\n(compute-optimal N = {fmt_num(q['N'], 2)}, D = {fmt_num(q['D'], 2)})"
        return xpos, q, what
    return t, {law.variables[0]: t}, f"{x} = {fmt_num(t, 2)}"


@styled_figure
def forecast(result, data=None, *, x: str | None = None, target=None, ax=None, alpha: float = 0.05,
             flops_per_token: float = 6.0, xlim=None, colorbar: bool = True):
    """Loss against compute (or N, or D) on log axes, as the fitted law forecasts it.

    Draws the runs (``data``, a frame matched to the law's columns as the fit matched them;
    by default the fitted points of a result fitted in this session) coloured by model size,
    the fitted law, the ``1 - alpha`` confidence band of the curve (``mean_ci_*``) and the
    prediction band of a new run (``obs_ci_*``), the region beyond the fitted range shaded
    (extrapolation), the asymptote E as a dashed line, and, given ``target``, the predicted
    point with both intervals.

    For a law of N and D (Chinchilla): ``x="C"`` (default; C = k·N·D FLOPs with
    k = ``flops_per_token``), ``"N"`` or ``"D"``.  The bands follow the compute-optimal
    frontier (N_opt(C), D_opt(C)); thin curves show the law at each model size (at each
    tokens-per-parameter ratio for ``x="N"``).  ``target`` is a compute budget in FLOPs (the
    point on the frontier) or a mapping ``{"N": ..., "D": ...}`` (one run).  For a law of
    one variable, ``x`` is that variable and ``target`` a value of it.

    Loss is in nats per token (per character when the loss column says so); N is the count
    the law was fitted on (the axis label names the column).  Returns the Figure.
    """
    law = result.law
    if getattr(law, "predicts_curves", False):
        raise ScalelawError(f"{law.name} predicts loss curves: draw it with schedule_curves")
    two = _two_variable(law)
    if not two and len(law.variables) != 1:
        raise ScalelawError(f"the forecast figure draws laws of one variable or of N and D; "
                            f"{law.name} has variables {', '.join(law.variables)}")
    if x is None:
        x = "C" if two else law.variables[0]
    allowed = ("C", "N", "D") if two else (law.variables[0],)
    if x not in allowed:
        raise ScalelawError(f"x={x!r}: law {law.name} can be drawn against {', '.join(allowed)}")
    k = float(flops_per_token)
    pts = _points(result, data, k)
    fit_range = _fitted_range(result, x, k)
    tgt = None if target is None else _resolve_target(result, target, x, k)

    # the x range: the runs, the fitted range and the target, and a decade of forecast
    xs = [v for v in ([] if pts is None else [pts[x].min(), pts[x].max()])]
    xs += list(fit_range or ())
    if tgt is not None:
        xs.append(tgt[0])
    if not xs:
        raise ScalelawError("nothing to draw: give the runs (data), or a result fitted in this session")
    if xlim is not None:
        lo, hi = (float(v) for v in xlim)
    else:
        lo = min(xs) / 1.4
        hi = max(xs) * 2.0 if tgt is not None else max(max(xs) * 1.6, (fit_range or xs)[-1] * 10)
    fig, ax = axes_or_new(ax, figsize=(6.4, 4.2))
    lvl = level_text(alpha)
    ys = [] if pts is None else [pts["loss"].min(), pts["loss"].max()]
    cmap = truncated_viridis()
    with quiet_extrapolation():
        if two:
            grid, pred = _draw_two(ax, result, pts, x, k, lo, hi, cmap, colorbar)
        else:
            grid = np.geomspace(lo, hi, 240)
            pred = result.predict(pd.DataFrame({x: grid}), alpha=alpha)
            if pts is not None:
                ax.scatter(pts[x], pts["loss"], s=16, color=COLORS["data"], edgecolors="white",
                           linewidths=0.4, zorder=4, label="runs")
        if two:
            pred = result.predict(pd.DataFrame(pred), alpha=alpha)
            line_label = "fit, compute-optimal frontier"
        else:
            line_label = f"fit: {_pretty(law.formula)}"
        c = COLORS["fit"]
        ax.fill_between(grid, pred["obs_ci_lower"], pred["obs_ci_upper"], color=c, alpha=0.13, lw=0,
                        zorder=1, label=f"{lvl} prediction band (a new run)")
        ax.fill_between(grid, pred["mean_ci_lower"], pred["mean_ci_upper"], color=c, alpha=0.32, lw=0,
                        zorder=2, label=f"{lvl} confidence band (the curve)")
        ax.plot(grid, pred["mean"], color=c, lw=1.8, zorder=3, label=line_label)
        ys += [np.nanmin(pred["obs_ci_lower"]), np.nanmax(pred["obs_ci_upper"])]
        if tgt is not None:
            xpos, q, what = tgt
            row = result.predict(pd.DataFrame({v: [val] for v, val in q.items()}), alpha=alpha).iloc[0]
            m = float(row["mean"])
            ax.errorbar([xpos], [m], yerr=[[m - row["obs_ci_lower"]], [row["obs_ci_upper"] - m]],
                        fmt="none", ecolor=COLORS["target"], elinewidth=0.9, capsize=3.5, zorder=6)
            ax.errorbar([xpos], [m], yerr=[[m - row["mean_ci_lower"]], [row["mean_ci_upper"] - m]],
                        fmt="none", ecolor=COLORS["target"], elinewidth=2.6, capsize=0, zorder=6)
            ax.plot([xpos], [m], ls="none", marker="D", ms=6, color=COLORS["target"], mec="white",
                    mew=0.8, zorder=7,
                    label=(f"forecast at {what}:\nloss {m:.3f}; {lvl} curve {row['mean_ci_lower']:.3f}–"
                           f"{row['mean_ci_upper']:.3f}, new run {row['obs_ci_lower']:.3f}–"
                           f"{row['obs_ci_upper']:.3f}"))
            ys += [row["obs_ci_lower"], row["obs_ci_upper"]]
    if "E" in result.params.index and np.isfinite(result.params["E"]):
        E = float(result.params["E"])
        ax.axhline(E, color=COLORS["asymptote"], ls=(0, (5, 3)), lw=1.0, zorder=2,
                   label=f"asymptote E = {E:.3f}")
        ys.append(E)
    if fit_range is not None and fit_range[1] < hi:
        ax.axvspan(fit_range[1], hi, color=COLORS["extrapolation"], alpha=0.12, lw=0, zorder=0,
                   label="extrapolation (beyond the fitted range)")
    if fit_range is not None and fit_range[0] > lo * 2.5:
        ax.axvspan(lo, fit_range[0], color=COLORS["extrapolation"], alpha=0.12, lw=0, zorder=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ys = np.asarray([v for v in ys if np.isfinite(v) and v > 0], float)
    ax.set_ylim(ys.min() / 1.03, ys.max() * 1.05)
    ax.set_xlabel(var_label(x, _source(result, x), k, law.name))
    ax.set_ylabel(loss_label(_source(result, "loss")))
    log_ticks(ax, "x")
    log_ticks(ax, "y")
    place_legend(ax)
    return fig


def _draw_two(ax, result, pts, x, k, lo, hi, cmap, colorbar):
    """The runs and the per-size curves of a law of N and D; returns the x grid and the
    frontier's N, D along it."""
    from matplotlib.colors import LogNorm
    law, p = result.law, result.params.to_numpy()
    if x == "N":
        gname, glabel = "tokens per parameter D/N", "tokens/param"
        gvals = (_group_values(np.round(pts["D"] / pts["N"], 1), 8) if pts is not None else
                 np.array([5.0, 20.0, 80.0]))
        pcol = None if pts is None else (pts["D"] / pts["N"]).to_numpy()
    else:
        gname, glabel = var_label("N", _source(result, "N"), law_name=law.name), "model size"
        if pts is not None:
            gvals = _group_values(pts["N"], 12)
        else:
            dom = (getattr(result, "domain", None) or {}).get("N", (lo, hi))
            gvals = np.geomspace(dom[0], dom[1], 5)
        pcol = None if pts is None else pts["N"].to_numpy()
    vmin, vmax = float(np.min(gvals)), float(np.max(gvals))
    if pcol is not None:
        vmin, vmax = min(vmin, pcol.min()), max(vmax, pcol.max())
    norm = LogNorm(vmin, vmax if vmax > vmin else vmin * 1.0001)
    for g in gvals:
        span = (lo, hi)
        if pts is not None:
            near = np.isclose(pcol, g, rtol=0.02)
            if near.any():
                sx = pts.loc[near, x]
                span = (max(lo, sx.min() / 2.5), min(hi, sx.max() * 2.5))
        t = np.geomspace(span[0], span[1], 120)
        if x == "N":
            N, D = t, g * t
        elif x == "D":
            N, D = np.full_like(t, g), t
        else:
            N, D = np.full_like(t, g), t / (k * g)
        ax.plot(t, law.evaluate({"N": N, "D": D}, p), color=cmap(norm(g)), lw=0.8, alpha=0.75, zorder=2)
    if pts is not None:
        ax.scatter(pts[x], pts["loss"], c=pcol, cmap=cmap, norm=norm, s=18, edgecolors="white",
                   linewidths=0.4, zorder=4, label=f"runs (colour: {glabel})")
    if colorbar:
        from matplotlib.cm import ScalarMappable
        cb = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.015, fraction=0.045,
                                aspect=30)
        cb.set_label(gname)
        cb.outline.set_linewidth(0.5)
    # the frontier: budgets whose N_opt, D_opt or C fall in the x range
    if x == "C":
        C = np.geomspace(lo, hi, 240)
    else:
        ref = (lo * hi) ** 0.5
        Cw = np.geomspace(k * ref * ref * 1e-10, k * ref * ref * 1e10, 2001)
        n, d = _frontier(result, Cw, k)
        v = n if x == "N" else d
        inside = (v >= lo) & (v <= hi)
        C = np.geomspace(Cw[inside].min(), Cw[inside].max(), 240) if inside.any() else Cw
    n, d = _frontier(result, C, k)
    grid = {"C": C, "N": n, "D": d}[x]
    return grid, {"N": n, "D": d}


def plot_fit(result, path=None, ax=None):
    """The figure ``scalelaw fit --plot`` writes: the forecast (:func:`forecast`) of a
    scaling-law fit against compute (or its one variable), with the predicted point a decade
    beyond the fitted range; for an LR-schedule law, the parity plot.  Saves atomically
    and deterministically to ``path`` (PNG, PDF or SVG) when given; returns the figure."""
    law = result.law
    if getattr(law, "predicts_curves", False):
        from .diagnostics import parity
        fig = parity(result, ax=ax)
    else:
        x = "C" if _two_variable(law) else law.variables[0]
        rng = _fitted_range(result, x, 6.0)
        target = None if rng is None else 10 * rng[1]
        fig = forecast(result, x=x, target=target, ax=ax)
    if path is not None:
        save(fig, path)
    return fig
