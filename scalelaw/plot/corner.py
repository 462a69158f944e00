"""Bootstrap parameter distributions as a corner-style pair plot."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ScalelawError
from ._base import COLORS, level_text, log_ticks, new_figure, styled_figure

__all__ = ["pairs"]


def _fmt(v: float) -> str:
    """Three significant digits, without an exponent between 1e-3 and 1e5 (2060, not 2.06e+03)."""
    a = abs(v)
    if a == 0 or not np.isfinite(v):
        return f"{v:g}"
    if 1e-3 <= a < 1e5:
        return f"{v:.{max(0, 2 - int(np.floor(np.log10(a))))}f}"
    return f"{v:.2e}"


@styled_figure
def pairs(result, *, params=None, truth: Mapping | None = None, bins: int = 24, axes=None,
          alpha: float = 0.05, max_points: int = 2000):
    """The bootstrap draws of the parameters (``result.boot``, one row per resample) as a
    corner plot: a histogram of each parameter on the diagonal, titled with the estimate and
    its ``1 - alpha`` percentile interval (dashed lines), and each pair's draws as a scatter
    below it (estimate: the cross; ``truth``, a mapping of known values: the star).  Positive
    scale parameters the law searches on a log scale (``law.log_params``) and whose draws
    span more than a factor 10 are drawn on log axes.  ``params``: which parameters (default:
    every parameter that varies across draws); ``axes``: an n x n array to draw into.
    Returns the Figure."""
    boot = getattr(result, "boot", None)
    if boot is None or len(boot) < 2:
        raise ScalelawError("no bootstrap draws to draw: fit with bootstrap=n or call result.bootstrap(n)")
    names = list(params) if params is not None else \
        [c for c in boot.columns if np.nanstd(boot[c].to_numpy(float)) > 0]
    missing = [p for p in names if p not in boot.columns]
    if missing:
        raise ScalelawError(f"no bootstrap draws of {', '.join(missing)}; the draws hold {', '.join(boot.columns)}")
    if not names:
        raise ScalelawError("every bootstrap draw is the same: nothing to draw")
    n = len(names)
    draws = boot[names].to_numpy(float)
    draws = draws[np.all(np.isfinite(draws), axis=1)]
    est = result.params.reindex(names).to_numpy(float)
    q = np.nanpercentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    log_params = set(getattr(result.law, "log_params", ()) or ())
    logs = [p in log_params and np.all(draws[:, j] > 0) and draws[:, j].max() > 10 * draws[:, j].min()
            for j, p in enumerate(names)]
    if axes is None:
        side = 1.55 * n + 0.5
        fig, axes = new_figure(n, n, figsize=(side, side), squeeze=False)
    else:
        axes = np.asarray(axes).reshape(n, n)
        fig = axes[0, 0].figure
    lims = []
    for j in range(n):   # the central 99% of the draws and the estimate: one runaway
        v = draws[:, j]      # resample (A at 1e-300, say) must not squash the rest
        v = v[np.isfinite(v) & (v > 0)] if logs[j] else v[np.isfinite(v)]
        lo, hi = np.percentile(v, [0.5, 99.5]) if len(v) else (est[j], est[j])
        lo, hi = min(lo, est[j]), max(hi, est[j])
        if logs[j]:
            f = 10 ** (0.05 * (np.log10(hi) - np.log10(lo))) if hi > lo else 1.05
            lims.append((lo / f, hi * f))
        else:
            pad = 0.05 * (hi - lo) if hi > lo else abs(lo) * 0.05 + 1e-12
            lims.append((lo - pad, hi + pad))
    sub = draws if len(draws) <= max_points else draws[np.linspace(0, len(draws) - 1, max_points).astype(int)]
    lvl = level_text(alpha)
    from matplotlib import ticker
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                v = draws[:, j]
                edges = (np.geomspace(*lims[j], bins + 1) if logs[j] else np.linspace(*lims[j], bins + 1))
                ax.hist(v, bins=edges, color=COLORS["data"], alpha=0.75, lw=0)
                for b in q[:, j]:
                    ax.axvline(b, color="0.25", ls=(0, (3, 2)), lw=0.8)
                ax.axvline(est[j], color=COLORS["fit"], lw=1.2)
                if truth is not None and names[j] in truth:
                    ax.axvline(float(truth[names[j]]), color="black", lw=0.9, ls=":")
                ax.set_yticks([])
                ax.spines["left"].set_visible(False)
                ax.grid(False)
                ax.set_title(f"{names[j]} = {_fmt(est[j])}\n{lvl} [{_fmt(q[0, j])}, {_fmt(q[1, j])}]",
                             fontsize=7.5, loc="center")
            else:
                ax.scatter(sub[:, j], sub[:, i], s=3, color=COLORS["data"], alpha=0.35, lw=0, rasterized=False)
                ax.plot([est[j]], [est[i]], ls="none", marker="+", ms=9, mew=1.4, color=COLORS["fit"], zorder=4)
                if truth is not None and names[i] in truth and names[j] in truth:
                    ax.plot([float(truth[names[j]])], [float(truth[names[i]])], ls="none", marker="*", ms=8,
                            color="black", mec="white", mew=0.5, zorder=5)
                if logs[i]:
                    ax.set_yscale("log")
                ax.set_ylim(*lims[i])
            if logs[j]:
                ax.set_xscale("log")
            ax.set_xlim(*lims[j])
            for axis, k in ((ax.xaxis, j), (ax.yaxis, i)):
                if not (axis is ax.yaxis and i == j):
                    if not logs[k]:
                        axis.set_major_locator(ticker.MaxNLocator(3, prune="both"))
                    else:
                        log_ticks(ax, "x" if axis is ax.xaxis else "y")
            ax.tick_params(labelsize=6.5)
            if i == n - 1:
                ax.set_xlabel(names[j])
                ax.tick_params(axis="x", labelrotation=40)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i > 0:
                ax.set_ylabel(names[i])
            elif i != j:
                ax.tick_params(labelleft=False)
    n_draws = len(draws)
    unit = getattr(result, "boot_groups", None)
    fig.suptitle(f"{result.law.name}: {n_draws} bootstrap draws" + (f" (resampling {unit})" if unit else "")
                 + f"; solid line and cross: estimate; dashed: {lvl} interval"
                 + ("; dotted and star: truth" if truth else ""), fontsize=8)
    return fig
