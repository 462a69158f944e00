"""Deprecated module: its functions moved to the floors they belong on.

``read_logs`` -> :func:`scalelaw.io.read_curves`; ``fit_lr`` -> :func:`scalelaw.fitting.fit_lr`;
``predict_curve``, ``compare_schedules``, ``optimize_schedule`` -> :mod:`scalelaw.forecast`.
Kept for one release; each name warns once used.
"""
from __future__ import annotations

import importlib

_MOVED = {
    "read_logs": ("scalelaw.io.curves", "read_curves"),
    "fit_lr": ("scalelaw.fitting.curves", "fit_lr"),
    "predict_curve": ("scalelaw.forecast", "predict_curve"),
    "compare_schedules": ("scalelaw.forecast", "compare_schedules"),
    "optimize_schedule": ("scalelaw.forecast", "optimize_schedule"),
}


def __getattr__(name):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .errors import deprecated
    mod, attr = _MOVED[name]
    deprecated(f"scalelaw.lrfit.{name}", f"{mod}.{attr}")
    return getattr(importlib.import_module(mod), attr)
