"""Deprecated module: its functions moved to the floors they belong on.

``read_logs`` -> :func:`scalelaw.io.read_curves`; ``fit_lr`` -> :func:`scalelaw.fitting.fit_lr`;
``predict_curve``, ``compare_schedules``, ``optimize_schedule`` -> :mod:`scalelaw.forecast`.
Kept for one release; each name warns once used.
"""
from __future__ import annotations

import importlib

_MOVED = {
    "fit_lr": ("scalelaw.fitting.curves", "fit_lr"),
    "predict_curve": ("scalelaw.forecast", "predict_curve"),
    "compare_schedules": ("scalelaw.forecast", "compare_schedules"),
    "optimize_schedule": ("scalelaw.forecast", "optimize_schedule"),
}


#: names kept as they were (deprecated with the module)
MOMENTUM_FAMILY = ("momentum", "momentum_n", "s1power")
BAND = ("loss_lower", "loss_upper")


def read_logs(sources, step=None, lr=None, loss=None, run=None, fmt=None, split=None,
              require_loss=True):
    """Deprecated: :func:`scalelaw.io.read_curves` (``columns=``, ``format=``)."""
    from .errors import deprecated
    from .io.curves import read_curves
    deprecated("scalelaw.lrfit.read_logs", "scalelaw.io.read_curves")
    columns = {k: v for k, v in (("step", step), ("lr", lr), ("loss", loss), ("run", run)) if v}
    return read_curves(sources, columns or None, format=fmt, split=split, require_loss=require_loss)


def curve_design(law, eta, steps, label="schedule", warmup=None):
    """Deprecated: ``law.curve_design(per_step_lrs, steps=..., warmup=...)[0]``."""
    from .errors import deprecated
    deprecated("scalelaw.lrfit.curve_design", "law.curve_design")
    return law.curve_design(eta, steps=steps, warmup=warmup)[0]


def __getattr__(name):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .errors import deprecated
    mod, attr = _MOVED[name]
    deprecated(f"scalelaw.lrfit.{name}", f"{mod}.{attr}")
    return getattr(importlib.import_module(mod), attr)


__all__ = ["read_logs", "fit_lr", "predict_curve", "compare_schedules", "optimize_schedule",  # noqa: F822
           "curve_design"]
