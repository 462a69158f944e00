"""Compute-optimal allocation: N_opt and D_opt against C from the closed form (Approach 3),
the IsoFLOP profiles (Approach 2) and the lower envelope (Approach 1) side by side, and the
IsoFLOP parabolas themselves."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ._base import fmt_num, log_ticks, new_figure, place_legend, styled_figure, truncated_viridis

__all__ = ["frontier", "isoflop_parabolas"]

_METHOD = {"closed": ("closed form (Approach 3)", "#D55E00", "-", None),
           "isoflop": ("IsoFLOP profiles (Approach 2)", "#0072B2", (0, (5, 2.5)), "s"),
           "envelope": ("lower envelope (Approach 1)", "#009E73", (0, (1.5, 1.5)), "^")}


def _interval(v, lo, hi):
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.3f}"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def _check_result(r, what):
    if r is None:
        return None
    if not hasattr(r, "budgets") or not hasattr(r, "predict"):
        raise ScalelawError(f"{what}: expected the result of allocate.{what} (budgets and predict)")
    return r


@styled_figure
def frontier(closed_form_table=None, isoflop=None, envelope=None, *, axes=None, param_count: str = ""):
    """N_opt and D_opt against compute C, by up to three methods side by side, and the
    allocation exponents (N_opt ∝ C^a, D_opt ∝ C^b) with their intervals in a third panel.

    ``closed_form_table``: the frame of :func:`scalelaw.allocate.compute_optimal` (``C``,
    ``N_opt``, ``D_opt`` and, with bootstrap draws, ``N_opt_lower/upper``,
    ``D_opt_lower/upper``: drawn as a band; its ``attrs`` hold ``a``, ``b`` and their
    intervals).  ``isoflop``, ``envelope``: :class:`~scalelaw.allocate.IsoFlopResult` of
    :func:`~scalelaw.allocate.isoflop` and :func:`~scalelaw.allocate.lower_envelope`: the
    per-budget optima (hollow markers: budgets the method refused) and their power-law fit.
    ``param_count`` names the count N is in (e.g. "total"), for the axis label.  ``axes``:
    three Axes to draw into.  Returns the Figure.
    """
    iso = _check_result(isoflop, "isoflop")
    env = _check_result(envelope, "lower_envelope")
    table = closed_form_table
    if table is None and iso is None and env is None:
        raise ScalelawError("nothing to draw: give the closed-form table, an IsoFLOP or an envelope result")
    if table is not None and not {"C", "N_opt", "D_opt"} <= set(table.columns):
        raise ScalelawError("the closed-form table needs columns C, N_opt, D_opt (allocate.compute_optimal)")
    own = axes is None
    if own:
        fig, axes = new_figure(1, 3, figsize=(9.6, 3.9), gridspec_kw={"width_ratios": [1, 1, 0.62]})
    else:
        fig = axes[0].figure
    ax_n, ax_d, ax_e = axes
    Cs = []
    if table is not None:
        Cs += [table["C"].min(), table["C"].max()]
    for r in (iso, env):
        if r is not None and len(r.budgets):
            Cs += [r.budgets["C"].min(), r.budgets["C"].max()]
    lo, hi = min(Cs) / 1.5, max(Cs) * 1.5
    grid = np.geomspace(lo, hi, 120)
    exps = []   # (method label, colour, marker, a, a_lo, a_hi, b, b_lo, b_hi)
    if table is not None:
        label, color, ls, _ = _METHOD["closed"]
        t = table.sort_values("C")
        for ax, col in ((ax_n, "N_opt"), (ax_d, "D_opt")):
            if f"{col}_lower" in t and f"{col}_upper" in t:
                ax.fill_between(t["C"], t[f"{col}_lower"], t[f"{col}_upper"], color=color, alpha=0.22, lw=0,
                                zorder=1)
            ax.plot(t["C"], t[col], color=color, ls=ls, lw=1.6, zorder=3,
                    marker="o" if len(t) < 8 else None, ms=3)
        a = t.attrs
        if "a" in a:
            exps.append((label, color, "o", a["a"], a.get("a_lower"), a.get("a_upper"),
                         a["b"], a.get("b_lower"), a.get("b_upper")))
    for key, r in (("isoflop", iso), ("envelope", env)):
        if r is None:
            continue
        label, color, ls, marker = _METHOD[key]
        b = r.budgets
        fitted = r.predict(grid)
        used = b["used"].to_numpy(bool) & np.isfinite(b["N_star"].to_numpy(float))
        refused = ~b["used"].to_numpy(bool) & np.isfinite(b["N_star"].to_numpy(float))
        for ax, col, star in ((ax_n, "N_opt", "N_star"), (ax_d, "D_opt", "D_star")):
            ax.plot(grid, fitted[col], color=color, ls=ls, lw=1.3, zorder=2)
            ax.plot(b["C"][used], b[star][used], ls="none", marker=marker, ms=5, color=color, mec="white",
                    mew=0.6, zorder=4)
            if refused.any():
                ax.plot(b["C"][refused], b[star][refused], ls="none", marker=marker, ms=5, mfc="none",
                        mec=color, mew=0.9, zorder=4)
        exps.append((label, color, marker, r.a, r.a_lower, r.a_upper, r.b, r.b_lower, r.b_upper))
    count = f"{param_count} parameters" if param_count else "parameters"
    for ax, what in ((ax_n, f"compute-optimal model size $N_{{opt}}$ ({count})"),
                     (ax_d, "compute-optimal data $D_{opt}$ (tokens)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel("training compute C (FLOPs)")
        ax.set_ylabel(what)
        log_ticks(ax, "x")
        log_ticks(ax, "y")
    # the exponents side by side: a (N_opt ∝ C^a), then b (D_opt ∝ C^b), one row per method
    rows = [(e, "a", e[3:6]) for e in exps] + [(e, "b", e[6:9]) for e in exps]
    ys = np.arange(len(rows))[::-1].astype(float)
    ys[: len(exps)] += 0.6            # a gap between the a rows and the b rows
    ticks = []
    for y, (e, which, (v, vlo, vhi)) in zip(ys, rows):
        label, color, marker = e[0], e[1], e[2] or "o"
        if vlo is not None and vhi is not None and np.isfinite(vlo) and np.isfinite(vhi):
            ax_e.errorbar([v], [y], xerr=[[v - vlo], [vhi - v]], fmt="none", ecolor=color, lw=1.2, capsize=2.5)
        ax_e.plot([v], [y], ls="none", marker=marker, ms=5, color=color, mec="white", mew=0.5)
        ticks.append(f"{label.split(' (')[0]}: {which} = {_interval(v, vlo, vhi)}")
    ax_e.set_yticks(ys)
    ax_e.set_yticklabels(ticks, fontsize=6.5)
    ax_e.set_ylim(ys.min() - 0.6, ys.max() + 0.6)
    ax_e.axvline(0.5, color="0.6", lw=0.7, ls=":", zorder=0)
    ax_e.set_xlabel("allocation exponent\n($N_{opt}$ ∝ $C^a$, $D_{opt}$ ∝ $C^b$)")
    ax_e.grid(axis="y", visible=False)
    vals = [v for _, _, t in rows for v in t if v is not None and np.isfinite(v)]
    if vals:
        span = max(max(vals) - min(vals), 0.04)
        ax_e.set_xlim(min(vals) - 0.1 * span, max(vals) + 0.1 * span)
    from matplotlib import ticker
    ax_e.xaxis.set_major_locator(ticker.MaxNLocator(4))
    handles, labels = _legend_entries(table, iso, env)
    if own:   # one legend for both panels, below them: it covers nothing
        fig.legend(handles, labels, loc="outside lower center", ncol=2 if len(handles) > 3 else len(handles))
    else:
        place_legend(ax_n, handles, labels)
    return fig


def _legend_entries(table, iso, env):
    """One entry per method (its line, band and marker together), and one for refused budgets."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles, labels = [], []
    if table is not None:
        label, color, ls, _ = _METHOD["closed"]
        line = Line2D([], [], color=color, ls=ls, lw=1.6)
        if "N_opt_lower" in table:
            lvl = f"{100 * (1 - table.attrs.get('alpha', 0.05)):g}%"
            handles.append((Patch(color=color, alpha=0.22, lw=0), line))
            labels.append(f"{label}, {lvl} band")
        else:
            handles.append(line)
            labels.append(label)
    refused = []
    for key, r in (("isoflop", iso), ("envelope", env)):
        if r is None:
            continue
        label, color, ls, marker = _METHOD[key]
        handles.append(Line2D([], [], color=color, ls=ls, lw=1.3, marker=marker, ms=5, mec="white", mew=0.6))
        labels.append(f"{label}: optimum per budget and its fit")
        if (~r.budgets["used"].to_numpy(bool) & np.isfinite(r.budgets["N_star"].to_numpy(float))).any():
            refused.append(Line2D([], [], ls="none", marker=marker, ms=5, mfc="none", mec=color, mew=0.9))
    if refused:
        handles.append(tuple(refused))
        labels.append("hollow: budget the method refused (not in its fit)")
    return handles, labels


def _runs_frame(runs, columns, k):
    from ..io.columns import resolve
    frame = runs if isinstance(runs, pd.DataFrame) else pd.DataFrame(runs)
    cols = resolve(frame.columns, ("N", "loss", "C", "D"), mapping=columns, required=("N", "loss"))
    out = pd.DataFrame({c: pd.to_numeric(frame[s], errors="coerce") for c, s in cols.items()})
    if "C" not in out:
        if "D" not in out:
            raise ScalelawError("the runs need a compute column C (FLOPs) or a token column D")
        out["C"] = k * out["N"] * out["D"]
    out = out.replace([np.inf, -np.inf], np.nan).dropna(subset=["N", "loss", "C"])
    return out[(out["N"] > 0) & (out["C"] > 0)].reset_index(drop=True)


@styled_figure
def isoflop_parabolas(isoflop_result, runs, *, columns=None, ax=None, colorbar: bool = True,
                      loss_column: str | None = None):
    """The IsoFLOP profiles (Hoffmann et al. 2022, Approach 2): the final loss of each run
    against its model size N, one colour per compute budget, the parabola in ln N fitted to
    each budget, its vertex N*(C) (hollow: a budget the analysis refused), and the path of
    the vertices.  ``isoflop_result`` is :func:`scalelaw.allocate.isoflop`'s result and
    ``runs`` the frame it was computed from (``columns`` as given to it).  Loss in nats per
    token (per character when the loss column says so).  Returns the Figure."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    from ._base import axes_or_new, loss_label
    r = isoflop_result
    if getattr(r, "method", None) != "isoflop":
        raise ScalelawError("isoflop_parabolas draws the result of allocate.isoflop "
                            "(the lower envelope has no parabolas)")
    k = float(getattr(r, "flops_per_token", 6.0))
    df = _runs_frame(runs, columns, k)
    b = r.budgets.sort_values("C").reset_index(drop=True)
    if not len(b):
        raise ScalelawError("the IsoFLOP result holds no budgets")
    # each run belongs to the nearest budget (in log C)
    logC = np.log(b["C"].to_numpy(float))
    df["budget"] = np.argmin(np.abs(np.log(df["C"].to_numpy())[:, None] - logC[None, :]), axis=1)
    fig, ax = axes_or_new(ax, figsize=(6.2, 4.2))
    cmap = truncated_viridis()
    norm = LogNorm(b["C"].min(), b["C"].max() if b["C"].max() > b["C"].min() else b["C"].min() * 1.0001)
    any_refused = False
    vx, vy = [], []
    for i, row in b.iterrows():
        color = cmap(norm(row["C"]))
        g = df[df["budget"] == i]
        used = bool(row["used"])
        ax.scatter(g["N"], g["loss"], s=16, color=color if used else "none",
                   edgecolors="white" if used else color, linewidths=0.4 if used else 0.9, zorder=3)
        ok = np.isfinite(row.get("N_star", np.nan)) and np.isfinite(row.get("curvature", np.nan))
        if ok:
            lo = min(row.get("N_min", g["N"].min()), row["N_star"]) / 1.15
            hi = max(row.get("N_max", g["N"].max()), row["N_star"]) * 1.15
            n = np.geomspace(lo, hi, 100)
            ax.plot(n, row["loss_star"] + row["curvature"] * np.log(n / row["N_star"]) ** 2, color=color,
                    lw=1.1, ls="-" if used else (0, (3, 2)), zorder=2)
            ax.plot([row["N_star"]], [row["loss_star"]], ls="none", marker="*", ms=9,
                    color=color if used else "white", mec="black" if used else color, mew=0.6, zorder=5)
            if used:
                vx.append(row["N_star"])
                vy.append(row["loss_star"])
        any_refused |= not used
    if len(vx) > 1:
        ax.plot(vx, vy, color="0.25", lw=0.8, ls=(0, (2, 2)), zorder=4)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls="none", marker="o", ms=4, color="0.45", mec="white"),
               Line2D([], [], color="0.45", lw=1.1),
               Line2D([], [], ls="none", marker="*", ms=9, color="0.45", mec="black", mew=0.6),
               Line2D([], [], color="0.25", lw=0.8, ls=(0, (2, 2)))]
    labels = ["runs (colour: compute budget)", "parabola in ln N per budget", "vertex N*(C)",
              f"path of N*: a = {_interval(r.a, r.a_lower, r.a_upper)}"]
    if any_refused:
        handles.append(Line2D([], [], ls="none", marker="o", ms=4, mfc="none", mec="0.45"))
        labels.append("refused budget (not in the fit)")
    ax.set_xscale("log")
    ax.set_xlabel("model size N (parameters)")
    ax.set_ylabel(loss_label(loss_column or (columns or {}).get("loss"), "final loss"))
    log_ticks(ax, "x")
    if colorbar:
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.015, fraction=0.045, aspect=30)
        cb.set_label("compute budget C (FLOPs)")
        cb.outline.set_linewidth(0.5)
    place_legend(ax, handles, labels)
    ax.set_title(f"IsoFLOP profiles, C = {k:g}ND: {int(r.n_budgets)} of {len(b)} budgets used, "
                 f"C from {fmt_num(b['C'].min(), 2)} to {fmt_num(b['C'].max(), 2)} FLOPs", fontsize=8)
    return fig
