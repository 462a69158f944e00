"""Schedule families (constant, cosine, WSD, ...), per-step LR arrays and CSV files.

Each constructor's signature is the one place for its keys and defaults: the spec grammar
(:mod:`scalelaw.schedules._grammar`) reads it.  :data:`RANGES` declares the allowed values of
every numeric key, for the grammar and for these constructors alike.
"""
from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from ..errors import ScalelawError
from ..spec import MAX_INT, Check, Range
from ._areas import detect_warmup
from ._core import DecayShape, Phase, Schedule, decay_shape

#: a position inside a schedule: a fraction of the steps (< 1) or a step count (>= 1)
FRACTION_OR_STEPS = Check(
    lambda v: 0 <= v < 1 or (1 <= v <= MAX_INT and float(v).is_integer()),
    "a fraction in [0, 1) or a whole number of steps >= 1")

#: allowed values of the numeric keys of every family (LR in the optimizer's units)
RANGES = {
    "peak": Range(0, bounds="()"),
    "peak2": Range(0, bounds="()"),
    "final": Range(0),
    "steps": Range(1),
    "warmup": Range(0),
    "cooldown": FRACTION_OR_STEPS,
    "milestones": FRACTION_OR_STEPS,
    "at": FRACTION_OR_STEPS,
    "factors": Range(0),
    "split": Range(0, bounds="()"),
    "timescale": Range(0, bounds="()"),
    "cycles": Range(1, 10_000),
    "rewarm": Range(0),
}


def _need(key: str, value, integer: bool = False):
    """``value`` if it is allowed for ``key`` (:data:`RANGES`), else a ScalelawError."""
    allowed = RANGES[key]
    try:
        x = float(value)
        ok = (math.isfinite(x) and x in allowed and not isinstance(value, bool)
              and (not integer or (x.is_integer() and abs(x) <= MAX_INT)))
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ScalelawError(f"{key}={value!r} is not {allowed.describe('integer' if integer else 'number')}")
    return int(x) if integer else x


def _check(peak, steps, warmup, final=0.0):
    _need("peak", peak)
    _need("final", final)
    steps, warmup = _need("steps", steps, True), _need("warmup", warmup, True)
    if not warmup < steps:
        raise ScalelawError(f"warmup must be in [0, steps), got warmup={warmup}, steps={steps}")


def _warm(peak, warmup):
    return [Phase("warmup", warmup, 0.0, peak)] if warmup > 0 else []


def _length(frac_or_steps, span, what):
    v = _need(what, frac_or_steps)
    n = int(round(v * span)) if 0 <= v < 1 else int(round(v))
    if not 0 <= n <= span:
        raise ScalelawError(f"{what}={frac_or_steps} does not fit in {span} steps")
    return n


def constant(peak: float, steps: int, warmup: int = 0) -> Schedule:
    """``peak`` after a linear warmup of ``warmup`` steps."""
    _check(peak, steps, warmup)
    return Schedule(_warm(peak, warmup) + [Phase("constant", steps - warmup, peak, peak)],
                    "constant", warmup)


def _decay(shape, peak, final, steps, warmup, name):
    _check(peak, steps, warmup, final)
    return Schedule(_warm(peak, warmup) + [Phase(shape, steps - warmup, peak, final)], name, warmup)


def cosine(peak: float, steps: int, final: float = 0.0, warmup: int = 0) -> Schedule:
    """Cosine from ``peak`` at step ``warmup`` to ``final`` at step ``steps``."""
    return _decay("cosine", peak, final, steps, warmup, "cosine")


def linear(peak: float, steps: int, final: float = 0.0, warmup: int = 0) -> Schedule:
    """Linear from ``peak`` at step ``warmup`` to ``final`` at step ``steps``."""
    return _decay("linear", peak, final, steps, warmup, "linear")


def wsd(peak: float, steps: int, final: float = 0.0, warmup: int = 0, cooldown: float = 0.2,
        shape: DecayShape = "linear") -> Schedule:
    """Warmup-stable-decay: ``peak`` until the cooldown, then ``shape`` decay to ``final`` at
    ``steps``.  ``cooldown`` is a fraction of the total ``steps`` (< 1) or a number of steps
    (≥ 1)."""
    _check(peak, steps, warmup, final)
    shape = decay_shape(shape, "cooldown")
    n_cool = _length(cooldown, steps, "cooldown")
    if n_cool > steps - warmup:
        raise ScalelawError(f"cooldown={cooldown} ({n_cool} steps) overlaps the warmup of {warmup} steps")
    return Schedule(_warm(peak, warmup) + [Phase("constant", steps - warmup - n_cool, peak, peak),
                                           Phase(shape, n_cool, peak, final)],
                    f"wsd-{shape}", warmup)


#: the default milestones of :func:`multistep` (the 8-1-1 schedule)
_MILESTONES_811 = (0.8, 0.9)


def multistep(peak: float, steps: int, milestones: Sequence[float] = _MILESTONES_811,
              factors: Sequence[float] | None = None, warmup: int = 0,
              split: Sequence[float] | None = None) -> Schedule:
    """Piecewise-constant: ``peak·factors[i]`` from ``milestones[i]`` on (fractions of
    ``steps`` if < 1, else steps).  Default factors ``sqrt(0.1)^(i+1)`` (the 8-1-1 schedule:
    milestones 0.8, 0.9).  ``split=(8, 1, 1)`` gives the milestones as relative lengths of
    the stages instead (spec ``split=8-1-1``)."""
    _check(peak, steps, warmup)
    if split is not None:
        if milestones is not _MILESTONES_811:
            raise ScalelawError("multistep takes milestones or split, not both")
        parts = [_need("split", x) for x in split]
        if len(parts) < 2:
            raise ScalelawError(f"split={'-'.join(f'{x:g}' for x in parts)} needs at least two "
                                "stages, e.g. split=8-1-1")
        milestones = list(np.cumsum(parts)[:-1] / np.sum(parts))
    ms = [_length(m, steps, "milestones") for m in milestones]
    if factors is None:
        factors = [math.sqrt(0.1) ** (i + 1) for i in range(len(ms))]
    factors = [_need("factors", f) for f in factors]
    if len(factors) != len(ms):
        given = f"split={'-'.join(f'{x:g}' for x in split)} gives" if split is not None else "there are"
        raise ScalelawError(f"multistep needs as many factors as milestones: {given} {len(ms)} "
                            f"milestones and {len(factors)} factors")
    if any(b <= a for a, b in zip([warmup] + ms, ms)):
        raise ScalelawError(f"multistep milestones (steps {ms} of steps={steps}) must increase and "
                            f"follow the warmup (warmup={warmup})")
    bounds = [warmup] + ms + [steps]
    levels = [1.0] + list(factors)
    phases = _warm(peak, warmup) + [Phase("constant", bounds[i + 1] - bounds[i], peak * lv, peak * lv)
                                    for i, lv in enumerate(levels)]
    return Schedule(phases, "multistep", warmup)


def inverse_sqrt(peak: float, steps: int, warmup: int = 0, timescale: float | None = None) -> Schedule:
    """``peak·sqrt(τ/(τ + t))``, ``t`` counted from the end of warmup, ``τ`` default
    ``max(warmup, 1)`` (so ``η_s = peak·sqrt(W/s)`` for ``s ≥ W``)."""
    _check(peak, steps, warmup)
    tau = float(max(warmup, 1)) if timescale is None else _need("timescale", timescale)
    return Schedule(_warm(peak, warmup) + [Phase("invsqrt", steps - warmup, peak, peak, tau)],
                    "invsqrt", warmup)


def cyclic(peak: float, steps: int, final: float = 0.0, warmup: int = 0, cycles: int = 2,
           shape: DecayShape = "cosine", rewarm: int = 0) -> Schedule:
    """``cycles`` equal cycles after warmup, each a ``shape`` decay ``peak -> final``;
    cycles after the first start with ``rewarm`` steps of linear re-warmup."""
    _check(peak, steps, warmup, final)
    cycles, rewarm = _need("cycles", cycles, True), _need("rewarm", rewarm, True)
    shape = decay_shape(shape, "cycle")
    span = steps - warmup
    if cycles > span:
        raise ScalelawError(f"cycles={cycles} do not fit in the {span} steps after the warmup")
    edges = np.linspace(0, span, cycles + 1).round().astype(np.int64)
    phases = _warm(peak, warmup)
    for i in range(cycles):
        n = int(edges[i + 1] - edges[i])
        rw = min(rewarm, n - 1) if i > 0 else 0
        if rw > 0:
            phases.append(Phase("linear", rw, final, peak))
        phases.append(Phase(shape, n - rw, peak, final))
    return Schedule(phases, "cyclic", warmup)


def rewarmup(peak: float, steps: int, final: float = 0.0, warmup: int = 0, at: float = 0.5,
             rewarm: int = 1000, peak2: float | None = None, shape: DecayShape = "cosine") -> Schedule:
    """Decay ``peak -> final`` until ``at``, re-warm linearly to ``peak2`` (default ``peak``)
    over ``rewarm`` steps, then decay ``peak2 -> final`` at ``steps``."""
    _check(peak, steps, warmup, final)
    peak2 = peak if peak2 is None else _need("peak2", peak2)
    rewarm = _need("rewarm", rewarm, True)
    a = _length(at, steps, "at")
    if not warmup < a < steps - rewarm:
        raise ScalelawError(f"rewarmup: need warmup < at < steps - rewarm (at={a})")
    shape = decay_shape(shape)
    phases = _warm(peak, warmup) + [Phase(shape, a - warmup, peak, final),
                                    Phase("linear", rewarm, final, peak2),
                                    Phase(shape, steps - a - rewarm, peak2, final)]
    return Schedule(phases, "rewarmup", warmup)


def warmup_only(peak: float, steps: int) -> Schedule:
    """Linear warmup from 0 to ``peak`` at step ``steps − 1``."""
    _check(peak, steps, 0)
    return Schedule([Phase("warmup", steps, 0.0, peak)], "warmup", steps)


def from_array(lrs, name: str = "array", warmup: int | None = None) -> Schedule:
    """A schedule from per-step LRs ``lrs[s]`` for steps ``0..len-1``."""
    v = np.asarray(lrs, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ScalelawError("per-step LRs must be a non-empty array of finite numbers")
    if np.any(v < 0):
        raise ScalelawError(f"LR must be >= 0; step {int(np.argmax(v < 0))} has {v[v < 0][0]}")
    W = detect_warmup(v) if warmup is None else int(warmup)
    return Schedule([Phase("array", len(v), values=v)], name, W)


def from_csv(path: str | os.PathLike, column: str | None = None) -> Schedule:
    """Per-step LRs from a table: column ``column`` (default: the LR column by synonym);
    a ``step`` column, if present, places the values (gaps are linearly interpolated)."""
    from ..io.columns import resolve
    from ..io.table import read_table
    t = read_table(path)
    m = resolve(t.columns, ["lr", "step"], mapping={"lr": column} if column else None,
                required=["lr"])
    lr = np.asarray(t[m["lr"]], dtype=float)
    if "step" in m:
        st = np.asarray(t[m["step"]], dtype=float)
        if np.any(np.diff(st) <= 0):
            raise ScalelawError(f"{path}: steps must increase strictly")
        full = np.arange(int(st[-1]) + 1, dtype=float)
        lr = np.interp(full, st, lr)
    return from_array(lr, name=os.path.basename(str(path)))
