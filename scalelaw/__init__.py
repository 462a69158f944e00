"""scalelaw: scaling-law analysis for people who plan training runs.

Public namespace (imported lazily, so ``import scalelaw`` is cheap):

* ``scalelaw.fit(data, law, ...)`` -> :class:`scalelaw.fitting.FitResult`; with
  ``targets=[...]`` (several target columns, ``share=`` parameters) a ``MultiFit``
* ``scalelaw.fit_lr(logs, law, ...)`` -- LR-schedule laws fitted jointly to training logs
* ``scalelaw.leave_one_group_out(data, law, by=...)`` -- cross-validation by group
* ``scalelaw.get_law(name)`` / ``scalelaw.laws`` -- law objects
* ``scalelaw.read_log(path)`` / ``scalelaw.read_curves(paths)`` / ``scalelaw.read_table(path)``
* ``scalelaw.schedules`` -- LR schedules (``parse_schedule(spec)``)
* ``scalelaw.forecast`` -- loss curves of schedules, schedule comparison and search
* ``scalelaw.allocate`` -- compute-optimal allocation
* ``scalelaw.synthetic`` -- Markov sources and tokenizers
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    # name: (module, attribute or None for the module itself)
    "fit": ("scalelaw.fitting.api", "fit"),
    "fit_lr": ("scalelaw.fitting.curves", "fit_lr"),
    "leave_one_group_out": ("scalelaw.fitting.api", "leave_one_group_out"),
    "rollout": ("scalelaw.fitting.api", "rollout"),
    "FitResult": ("scalelaw.fitting.results", "FitResult"),
    "MultiFit": ("scalelaw.fitting.multi", "MultiFit"),
    "fitting": ("scalelaw.fitting", None),
    "get_law": ("scalelaw.laws", "get_law"),
    "Law": ("scalelaw.laws", "Law"),
    "read_log": ("scalelaw.io", "read_log"),
    "read_table": ("scalelaw.io.table", "read_table"),
    "read_curves": ("scalelaw.io.curves", "read_curves"),
    "parse_schedule": ("scalelaw.schedules", "parse_schedule"),
    "ScalelawError": ("scalelaw.errors", "ScalelawError"),
    "laws": ("scalelaw.laws", None),
    "schedules": ("scalelaw.schedules", None),
    "allocate": ("scalelaw.allocate", None),
    "forecast": ("scalelaw.forecast", None),
    "synthetic": ("scalelaw.synthetic", None),
    "io": ("scalelaw.io", None),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    try:
        mod, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'scalelaw' has no attribute {name!r}") from None
    m = importlib.import_module(mod)
    value = m if attr is None else getattr(m, attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
