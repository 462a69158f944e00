"""Schedule objects: a :class:`Phase` is one shape over a stretch of steps, a
:class:`Schedule` a sequence of phases (step -> LR, vectorized; ``a + b`` concatenates).

Conventions (steps from 0, per-step LR, phases evaluated at ``f = (s − b)/L``) are in the
package docstring, :mod:`scalelaw.schedules`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

from ..errors import ScalelawError

SHAPES = ("constant", "linear", "cosine", "sqrt", "exp", "warmup", "invsqrt", "array")
DECAY_SHAPES = ("linear", "cosine", "sqrt", "exp")
#: the decay shapes a schedule family takes (``sqrt`` is 1−sqrt, ``exp`` geometric)
DecayShape = Literal["linear", "cosine", "sqrt", "exp"]
#: other spellings of the decay shapes
SHAPE_ALIASES = {"1-sqrt": "sqrt", "1−sqrt": "sqrt", "exponential": "exp", "geometric": "exp",
                 "cos": "cosine"}


def decay_shape(shape: str, what: str = "decay") -> str:
    """``shape`` as one of :data:`DECAY_SHAPES` (aliases resolved), or a ScalelawError."""
    s = str(shape).strip().lower()
    s = SHAPE_ALIASES.get(s, s)
    if s not in DECAY_SHAPES:
        raise ScalelawError(f"unknown {what} shape {shape!r}; use linear, cosine, sqrt or exp")
    return s


@dataclass
class Phase:
    """One phase: ``shape`` from ``start`` to ``end`` over ``length`` steps.

    ``invsqrt`` uses ``start·sqrt(τ/(τ + t))`` with ``τ = timescale``; ``array`` uses
    ``values`` (one LR per step of the phase).
    """

    shape: str
    length: int
    start: float = 0.0
    end: float = 0.0
    timescale: float = 1.0
    values: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ScalelawError(f"unknown phase shape {self.shape!r}; use one of {', '.join(SHAPES)}")
        if not (isinstance(self.length, (int, np.integer)) or float(self.length).is_integer()):
            raise ScalelawError(f"phase length must be a whole number of steps, got {self.length}")
        self.length = int(self.length)
        if self.length < 0:
            raise ScalelawError(f"phase length must be >= 0, got {self.length}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ScalelawError(f"LR values must be finite, got {self.start} -> {self.end}")
        if self.shape == "exp" and self.length > 0:
            if self.start <= 0 or self.end <= 0:
                raise ScalelawError("exponential decay needs positive start and final LR; "
                                    "give final=... > 0 or use shape=linear")
            if not 0 < self.end / self.start < math.inf:
                raise ScalelawError(f"exponential decay from {self.start:g} to {self.end:g}: the ratio "
                                    "of final to peak LR is beyond the float range")

    def eval(self, t: np.ndarray) -> np.ndarray:
        """LR at local steps ``t`` (0 ≤ t, values past the length hold the end value)."""
        t = np.asarray(t, dtype=float)
        L = max(self.length, 1)
        f = np.clip(t / L, 0.0, 1.0)
        a, b = self.start, self.end
        if self.shape == "constant":
            return np.full_like(t, a)
        if self.shape == "warmup":  # linspace(a, b, L): b reached at t = L - 1
            if L == 1:
                return np.full_like(t, b)
            return a + (b - a) * np.clip(t / (L - 1), 0.0, 1.0)
        if self.shape == "linear":
            return a + (b - a) * f
        if self.shape == "cosine":
            return b + (a - b) * 0.5 * (1.0 + np.cos(np.pi * f))
        if self.shape == "sqrt":
            return b + (a - b) * (1.0 - np.sqrt(f))
        if self.shape == "exp":
            return a * (b / a) ** f
        if self.shape == "invsqrt":
            tt = np.clip(t, 0.0, self.length)
            return a * np.sqrt(self.timescale / (self.timescale + tt))
        # array
        v = np.asarray(self.values, dtype=float)
        idx = np.clip(t.astype(np.int64), 0, len(v) - 1)
        return v[idx]


class Schedule:
    """A learning-rate schedule: a sequence of :class:`Phase` objects, step -> LR.

    ``sched(steps)`` evaluates vectorized (1e6 steps in milliseconds); ``sched.lrs(T)``
    returns ``η_0..η_T``; ``a + b`` concatenates schedules in time.  ``spec`` is the spec
    text a parsed schedule came from (:func:`~scalelaw.schedules.parse_schedule`).
    """

    def __init__(self, phases: Sequence[Phase], name: str = "schedule", warmup: int = 0):
        self.phases = [p for p in phases if p.length > 0] or list(phases[-1:])
        if not self.phases:
            raise ScalelawError("a schedule needs at least one phase")
        self.name = name
        #: warmup length in steps (0 if none); steps 0..warmup-1 are warmup
        self.warmup = int(warmup)
        self._starts = np.cumsum([0] + [p.length for p in self.phases])

    @property
    def total(self) -> int:
        """Number of steps the schedule is defined for (its end value holds afterwards)."""
        return int(self._starts[-1])

    def __call__(self, steps) -> np.ndarray:
        s = np.asarray(steps, dtype=float)
        scalar = s.ndim == 0
        s = np.atleast_1d(s)
        if np.any(s < 0) or not np.all(np.isfinite(s)):
            raise ScalelawError("schedule steps must be finite and >= 0")
        out = np.empty_like(s)
        which = np.searchsorted(self._starts[1:], s, side="right")
        which = np.minimum(which, len(self.phases) - 1)
        for i, ph in enumerate(self.phases):
            m = which == i
            if m.any():
                out[m] = ph.eval(s[m] - self._starts[i])
        return out[0] if scalar else out

    def lrs(self, T: int | None = None) -> np.ndarray:
        """Per-step LRs ``η_0 .. η_T`` (``T`` defaults to :attr:`total`), length ``T + 1``."""
        T = self.total if T is None else int(T)
        return self(np.arange(T + 1, dtype=float))

    def area(self, T: int | None = None, chunk: int = 10_000_000) -> float:
        """S1(T) = Σ_{i=1..T} η_i in LR·steps, evaluated in chunks (no T-long array)."""
        T = self.total if T is None else int(T)
        total = 0.0
        for a in range(1, T + 1, chunk):
            total += float(self(np.arange(a, min(a + chunk, T + 1), dtype=float)).sum())
        return total

    def __add__(self, other: "Schedule") -> "Schedule":
        if not isinstance(other, Schedule):
            return NotImplemented
        return Schedule(self.phases + other.phases, name=f"{self.name}+{other.name}",
                        warmup=self.warmup)

    def __repr__(self) -> str:
        return f"<Schedule {self.name}: {self.total} steps, {len(self.phases)} phases>"

    def to_frame(self, every: int = 1, T: int | None = None):
        """DataFrame ``step, lr`` every ``every`` steps from 0 to ``T`` (default total)."""
        import pandas as pd
        T = self.total if T is None else int(T)
        steps = np.arange(0, T + 1, max(int(every), 1))
        if steps[-1] != T:   # the last step always appears (arange is already sorted and unique)
            steps = np.r_[steps, T]
        return pd.DataFrame({"step": steps, "lr": self(steps)})
