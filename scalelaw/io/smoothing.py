"""Opt-in smoothing of noisy loss curves, shared by :func:`scalelaw.io.read_log` and the
LR-schedule fits.

* ``ema[:alpha]`` -- TensorBoard's debiased exponential moving average
  (``s_t = alpha s_{t-1} + (1 - alpha) y_t``, divided by ``1 - alpha^t``); alpha 0.9 default.
* ``median[:window]`` -- a centered rolling median over ``window`` points (11 default).
* ``lowess[:frac]`` -- statsmodels' robust LOWESS over a fraction ``frac`` of the points
  (0.05 default), in point order.

NaNs stay NaN and are skipped by the smoother.  ``_parse_smooth`` turns a spec into
``(kind, parameter)``; it stays importable from ``scalelaw.io.logs``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["smooth_loss"]


def _parse_smooth(smooth):
    """``'ema[:alpha]'``, ``'median[:window]'``, ``'lowess[:frac]'`` (or ``(kind, value)``) ->
    ``(kind, value)``; ``None``/``False`` -> ``None``.  Grammar: :mod:`scalelaw.spec`, the
    defaults are the builders' (alpha 0.9, window 11, frac 0.05)."""
    from ..spec import Grammar, Kind, Range

    def ema(alpha: float = 0.9):      # debiased EMA weight of the past
        return ("ema", alpha)

    def median(window: int = 11):     # centered rolling median over `window` points
        return ("median", window)

    def lowess(frac: float = 0.05):   # fraction of the points in each local fit
        return ("lowess", frac)

    if smooth is None or smooth is False:
        return None
    g = Grammar("smoothing", [Kind("ema", ema, ranges={"alpha": Range(0, 1, "[)")}, positional="alpha"),
                              Kind("median", median, ranges={"window": Range(1)}, positional="window"),
                              Kind("lowess", lowess, ranges={"frac": Range(0, 1, "(]")}, positional="frac")],
                kind_aliases={"rolling-median": "median", "rolling_median": "median"})
    if isinstance(smooth, (tuple, list)) and len(smooth) == 2:
        return g.build(str(smooth[0]), [] if smooth[1] is None else [smooth[1]])
    return g.parse(str(smooth))


def smooth_loss(loss, spec) -> np.ndarray:
    """Smooth one curve: ``spec`` is ``'ema[:alpha]'``, ``'median[:window]'`` or
    ``'lowess[:frac]'`` (NaNs kept)."""
    parsed = _parse_smooth(spec)
    loss = np.asarray(loss, dtype=float)
    return loss.copy() if parsed is None else _smooth(loss, parsed)


def _smooth(loss: np.ndarray, spec) -> np.ndarray:
    import pandas as pd

    out = loss.copy()
    m = np.isfinite(loss)
    if not m.any():
        return out
    y = loss[m]
    kind, p = spec
    if kind == "ema":
        # debiased EMA, as TensorBoard's smoothing slider: s_t = a s_{t-1} + (1-a) y_t, / (1-a^t)
        z = pd.Series(y).ewm(alpha=1 - p, adjust=True).mean().to_numpy()
    elif kind == "lowess":
        # statsmodels' LOWESS (robust local linear fits over a fraction of the points),
        # in the order of the points (steps are sorted before smoothing)
        from statsmodels.nonparametric.smoothers_lowess import lowess
        z = lowess(y, np.arange(len(y), dtype=float), frac=p, it=2, return_sorted=False)
    else:
        z = pd.Series(y).rolling(p, center=True, min_periods=1).median().to_numpy()
    out[m] = z
    return out
