"""Loss against step under several LR schedules, as an LR-schedule law predicts them, with
the observed logs, the schedules themselves in a panel below, and each schedule's
predicted final loss."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ._base import level_text, loss_label, new_figure, place_legend, quiet_extrapolation, settle, styled_figure

__all__ = ["schedule_curves"]


def _schedule(spec):
    from ..schedules import parse_schedule
    return spec if callable(spec) and hasattr(spec, "total") else parse_schedule(spec)


def _observed_frames(observed, names):
    """``{name: frame of step, loss}`` from a mapping, or from one frame with a run column."""
    if observed is None:
        return {}
    if isinstance(observed, pd.DataFrame):
        if "run" not in observed:
            raise ScalelawError("observed curves: give a mapping {schedule name: frame of step, loss}, "
                                "or one frame with a run column")
        observed = {str(k): g for k, g in observed.groupby("run", sort=False)}
    out = {}
    for name, f in observed.items():
        f = f if isinstance(f, pd.DataFrame) else pd.DataFrame(f)
        if "step" not in f or "loss" not in f:
            raise ScalelawError(f"observed curve {name!r} needs step and loss columns; it has: "
                                f"{', '.join(map(str, f.columns))}")
        f = f[["step", "loss"]].apply(pd.to_numeric, errors="coerce").dropna()
        out[str(name)] = f
    return out


def _spread(y, gap):
    """Positions as close to ``y`` as possible, in the same order, at least ``gap`` apart."""
    order = np.argsort(y)
    pos = np.asarray(y, float)[order].copy()
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + gap)
    shift = (pos - np.asarray(y, float)[order]).mean()   # centre the block on the targets
    pos -= max(0.0, shift) * 0.5
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + gap)
    out = np.empty_like(pos)
    out[order] = pos
    return out


@styled_figure
def schedule_curves(result, schedules: Mapping, observed=None, *, axes=None, alpha: float = 0.05,
                    points: int = 400, ylim=None, lr_unit: str = ""):
    """Predicted loss against step for each of ``schedules`` (``{name: spec or Schedule}``)
    from an LR-schedule fit (``result.predict(spec)``: ``loss_pred`` with the ``1 - alpha``
    band ``loss_lower/upper``), the observed logs (``observed``: ``{name: frame of step,
    loss}`` or one frame with a ``run`` column) as points, the LR of each schedule in a panel
    below, and each schedule's predicted final loss written at the right edge.

    ``axes``: a pair (loss axes, LR axes) to draw into; ``points``: about how many steps of
    each curve are predicted; ``ylim``: the loss range (default: from the end of warmup's
    fall to the lowest band).  Loss in nats per token (per character when the fit's loss
    column says so).  Returns the Figure.
    """
    law = result.law
    if not getattr(law, "predicts_curves", False):
        raise ScalelawError(f"{law.name} is not an LR-schedule law: draw it with forecast")
    if not schedules:
        raise ScalelawError("no schedules to draw: give {name: schedule spec}")
    obs = _observed_frames(observed, list(schedules))
    if axes is None:
        fig, (ax, ax_lr) = new_figure(2, 1, figsize=(6.4, 4.8), sharex=True,
                                      gridspec_kw={"height_ratios": [3.0, 1.15]})
    else:
        ax, ax_lr = axes
        fig = ax.figure
    lvl = level_text(alpha)
    finals, lows, highs = [], [], []
    last = 0
    with quiet_extrapolation():
        for i, (name, spec) in enumerate(schedules.items()):
            color = f"C{i % 7}"
            sched = _schedule(spec)
            total = int(sched.total)
            every = max(1, total // max(int(points), 2))
            pred = result.predict(sched, alpha=alpha, every=every)
            step = pred["step"].to_numpy(float)
            ax.fill_between(step, pred["loss_lower"], pred["loss_upper"], color=color, alpha=0.25, lw=0,
                            zorder=2)
            ax.plot(step, pred["loss_pred"], color=color, lw=1.4, zorder=3,
                    label=str(name))
            f = obs.get(str(name))
            if f is not None and len(f):
                if len(f) <= 600:
                    ax.plot(f["step"], f["loss"], ls="none", marker="o", ms=2.2, color=color, alpha=0.55,
                            mew=0, zorder=4)
                else:
                    ax.plot(f["step"], f["loss"], color=color, lw=0.6, alpha=0.45, zorder=1)
            s = np.arange(0, total + 1, max(1, total // 1000))
            ax_lr.plot(s, sched(s), color=color, lw=1.2)
            finals.append((str(name), color, float(step[-1]), float(pred["loss_pred"].iloc[-1]),
                           float(pred["loss_lower"].iloc[-1]), float(pred["loss_upper"].iloc[-1])))
            # the loss range worth showing: from after the initial fall to the lowest band
            after = step >= step[0] + 0.12 * (step[-1] - step[0])
            highs.append(float(np.nanmax(pred["loss_upper"].to_numpy()[after])) if after.any() else np.nan)
            lows.append(float(np.nanmin(pred["loss_lower"])))
            last = max(last, total)
    if ylim is None:
        lo, hi = np.nanmin(lows), np.nanmax(highs)
        pad = 0.06 * (hi - lo)
        ylim = (lo - pad, hi + pad)
    ax.set_ylim(*ylim)
    ax.set_xlim(0, last * 1.01)
    col = (getattr(result, "mapping", None) or {}).get("loss")
    ax.set_ylabel(loss_label(col))
    ax_lr.set_ylabel("learning rate" + (f" ({lr_unit})" if lr_unit else ""))
    ax_lr.set_xlabel("training step")
    from matplotlib import ticker
    fmt = ticker.ScalarFormatter(useMathText=True)
    fmt.set_powerlimits((-2, 3))
    ax_lr.yaxis.set_major_formatter(fmt)
    ax_lr.set_ylim(bottom=0)
    ax_lr.yaxis.set_major_locator(ticker.MaxNLocator(3))
    # the final losses, at the right edge, spread so that no two labels overlap
    settle(fig)
    y0, y1 = ax.get_ylim()
    h = ax.get_window_extent().height
    gap = 1.5 * 7.5 * fig.dpi / 72 / max(h, 1.0) * (y1 - y0)
    ys = _spread(np.array([f[3] for f in finals]), gap)
    x0, x1 = ax.get_xlim()
    for (name, color, xs, m, lo, hi), yt in zip(finals, ys):
        xa = (xs - x0) / (x1 - x0)          # the curve's end, in axes coordinates
        ax.plot([xa, 1.01, 1.035], [m, m, yt], transform=ax.get_yaxis_transform(), clip_on=False,
                color=color, lw=0.6)
        ax.text(1.04, yt, f"{name}: {m:.3f} [{lo:.3f}, {hi:.3f}]", transform=ax.get_yaxis_transform(),
                color=color, fontsize=7.5, va="center", ha="left", clip_on=False)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles, labels = ax.get_legend_handles_labels()
    if obs:
        handles.append(Line2D([], [], ls="none", marker="o", ms=3, color="0.4", mew=0))
        labels.append("observed")
    handles.append(Patch(color="0.4", alpha=0.3, lw=0))
    labels.append(f"{lvl} band of the predicted curve")
    handles.append(Line2D([], [], color="none"))
    labels.append(f"at the right: final loss [{lvl} band]")
    place_legend(ax, handles, labels)
    return fig
