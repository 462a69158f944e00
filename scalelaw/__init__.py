"""scalelaw: scaling-law analysis for people who plan training runs.

Public namespace (imported lazily, so ``import scalelaw`` is cheap):

* ``scalelaw.fit(data, law, ...)`` -> :class:`scalelaw.fit.FitResult`
* ``scalelaw.get_law(name)`` / ``scalelaw.laws`` -- law objects
* ``scalelaw.read_log(path)`` / ``scalelaw.read_table(path)`` -- readers
* ``scalelaw.schedules`` -- LR schedules (``parse_schedule(spec)``)
* ``scalelaw.allocate`` -- compute-optimal allocation
* ``scalelaw.synthetic`` -- Markov sources and tokenizers
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    # name: (module, attribute or None for the module itself)
    "fit": ("scalelaw.fit", None),  # the package is callable: scalelaw.fit(data, law)
    "FitResult": ("scalelaw.fit", "FitResult"),
    "get_law": ("scalelaw.laws", "get_law"),
    "Law": ("scalelaw.laws", "Law"),
    "read_log": ("scalelaw.io", "read_log"),
    "read_table": ("scalelaw.io.table", "read_table"),
    "parse_schedule": ("scalelaw.schedules", "parse_schedule"),
    "ScalelawError": ("scalelaw.errors", "ScalelawError"),
    "laws": ("scalelaw.laws", None),
    "schedules": ("scalelaw.schedules", None),
    "allocate": ("scalelaw.allocate", None),
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
