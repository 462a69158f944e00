"""Learning-rate schedules as objects, a spec grammar for the CLI, and LR areas.

Conventions
-----------
* Steps are optimizer steps counted from 0.  A schedule maps step ``s`` to the LR ``η_s``
  used at that step (per-step LR, in the optimizer's units).
* A schedule is a sequence of *phases*.  A phase of length ``L`` starting at step ``b``
  evaluates its shape at ``f = (s − b) / L`` in ``[0, 1)``; decays therefore reach their end
  value at the first step of the next phase, and the last phase reaches its end value at
  step ``total`` (``cosine`` with ``steps=T`` has ``η_T = final``).  Steps at or beyond
  ``total`` keep that end value.
* Warmup is linear from 0 at step 0 to ``peak`` at step ``W − 1`` (``linspace(0, peak, W)``,
  the convention of the multi-power-law release); the main phase starts at step ``W``.
* Areas: ``S1(s) = Σ_{i=1..s} η_i`` (LR·steps).  ``S2`` is the annealing area of Tissue et
  al. (2024): ``m_i = λ·m_{i−1} + (η_{i−1} − η_i)``, ``m_1 = 0``, ``S2(s) = Σ_{i=1..s} m_i``,
  computed as a linear filter in O(T).  :func:`momentum_areas` applies their warmup
  convention (LR taken as ``η_max`` for steps ``1..W``).

Spec grammar (``parse_schedule``)::

    SPEC  := PART ('+' PART)*                      parts are concatenated in time
    PART  := KIND ':' KEY=VALUE (',' KEY=VALUE)*
    KIND  := constant | cosine | linear | wsd | multistep | invsqrt | cyclic | rewarmup
             | warmup | file

Keys: ``peak`` (or ``lr``), ``final`` (default 0), ``steps`` (length of the part, warmup
included), ``warmup`` (default 0); ``wsd``: ``cooldown`` (fraction < 1 or steps ≥ 1,
default 0.2), ``shape`` = linear | cosine | sqrt (1−sqrt) | exp; ``multistep``:
``milestones=0.8/0.9`` (fractions or steps), ``factors=0.316/0.1`` or ``split=8-1-1``;
``invsqrt``: ``timescale`` (default the warmup); ``cyclic``: ``cycles``, ``shape``,
``rewarm`` (steps of linear re-warmup per cycle); ``rewarmup``: ``at`` (fraction or step
where the re-warmup starts), ``rewarm`` (steps), ``peak2``, ``shape``; ``file``:
``path``, ``column`` (a CSV of per-step LRs, one row per step from 0).
Example: ``wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2,shape=linear``.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import ScalelawError

SHAPES = ("constant", "linear", "cosine", "sqrt", "exp", "warmup", "invsqrt", "array")
DECAY_SHAPES = ("linear", "cosine", "sqrt", "exp")


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
        self.length = int(self.length)
        if self.length < 0:
            raise ScalelawError(f"phase length must be >= 0, got {self.length}")

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
            if a <= 0 or b <= 0:
                raise ScalelawError("exponential decay needs positive start and final LR; "
                                    "give final=... > 0 or use shape=linear")
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
    returns ``η_0..η_T``; ``a + b`` concatenates schedules in time.
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
        steps = np.unique(np.r_[np.arange(0, T + 1, max(int(every), 1)), T])
        return pd.DataFrame({"step": steps, "lr": self(steps)})


# -- constructors --------------------------------------------------------------------------

def _check(peak, steps, warmup, final=0.0):
    if not (np.isfinite(peak) and peak > 0):
        raise ScalelawError(f"peak LR must be positive, got {peak}")
    if final < 0 or not np.isfinite(final):
        raise ScalelawError(f"final LR must be >= 0, got {final}")
    if int(steps) < 1:
        raise ScalelawError(f"steps must be >= 1, got {steps}")
    if not 0 <= int(warmup) < int(steps):
        raise ScalelawError(f"warmup must be in [0, steps), got warmup={warmup}, steps={steps}")


def _warm(peak, warmup):
    return [Phase("warmup", warmup, 0.0, peak)] if warmup > 0 else []


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


def _length(frac_or_steps, span, what):
    v = float(frac_or_steps)
    n = int(round(v * span)) if 0 <= v < 1 else int(round(v))
    if not 0 <= n <= span:
        raise ScalelawError(f"{what}={frac_or_steps} does not fit in {span} steps")
    return n


def wsd(peak: float, steps: int, final: float = 0.0, warmup: int = 0, cooldown: float = 0.2,
        shape: str = "linear") -> Schedule:
    """Warmup-stable-decay: ``peak`` until the cooldown, then ``shape`` decay to ``final`` at
    ``steps``.  ``cooldown`` is a fraction of the total ``steps`` (< 1) or a number of steps
    (≥ 1)."""
    _check(peak, steps, warmup, final)
    shape = {"1-sqrt": "sqrt", "1−sqrt": "sqrt", "exponential": "exp", "geometric": "exp",
             "cos": "cosine"}.get(shape, shape)
    if shape not in DECAY_SHAPES:
        raise ScalelawError(f"unknown cooldown shape {shape!r}; use linear, cosine, sqrt or exp")
    n_cool = _length(cooldown, steps, "cooldown")
    if n_cool > steps - warmup:
        raise ScalelawError(f"cooldown={cooldown} ({n_cool} steps) overlaps the warmup of {warmup} steps")
    return Schedule(_warm(peak, warmup) + [Phase("constant", steps - warmup - n_cool, peak, peak),
                                           Phase(shape, n_cool, peak, final)],
                    f"wsd-{shape}", warmup)


def multistep(peak: float, steps: int, milestones: Sequence[float] = (0.8, 0.9),
              factors: Sequence[float] | None = None, warmup: int = 0) -> Schedule:
    """Piecewise-constant: ``peak·factors[i]`` from ``milestones[i]`` on (fractions of
    ``steps`` if < 1, else steps).  Default factors ``sqrt(0.1)^(i+1)`` (the 8-1-1 schedule:
    milestones 0.8, 0.9)."""
    _check(peak, steps, warmup)
    ms = [_length(m, steps, "milestone") for m in milestones]
    if factors is None:
        factors = [math.sqrt(0.1) ** (i + 1) for i in range(len(ms))]
    if len(factors) != len(ms):
        raise ScalelawError("multistep needs as many factors as milestones")
    if any(b <= a for a, b in zip([warmup] + ms, ms)):
        raise ScalelawError(f"multistep milestones must increase and follow the warmup: {ms}")
    bounds = [warmup] + ms + [steps]
    levels = [1.0] + list(factors)
    phases = _warm(peak, warmup) + [Phase("constant", bounds[i + 1] - bounds[i], peak * lv, peak * lv)
                                    for i, lv in enumerate(levels)]
    return Schedule(phases, "multistep", warmup)


def inverse_sqrt(peak: float, steps: int, warmup: int = 0, timescale: float | None = None) -> Schedule:
    """``peak·sqrt(τ/(τ + t))``, ``t`` counted from the end of warmup, ``τ`` default
    ``max(warmup, 1)`` (so ``η_s = peak·sqrt(W/s)`` for ``s ≥ W``)."""
    _check(peak, steps, warmup)
    tau = float(timescale if timescale is not None else max(warmup, 1))
    if tau <= 0:
        raise ScalelawError("invsqrt timescale must be positive")
    return Schedule(_warm(peak, warmup) + [Phase("invsqrt", steps - warmup, peak, peak, tau)],
                    "invsqrt", warmup)


def cyclic(peak: float, steps: int, final: float = 0.0, warmup: int = 0, cycles: int = 2,
           shape: str = "cosine", rewarm: int = 0) -> Schedule:
    """``cycles`` equal cycles after warmup, each a ``shape`` decay ``peak -> final``;
    cycles after the first start with ``rewarm`` steps of linear re-warmup."""
    _check(peak, steps, warmup, final)
    cycles = int(cycles)
    if cycles < 1:
        raise ScalelawError("cycles must be >= 1")
    if shape not in DECAY_SHAPES:
        raise ScalelawError(f"unknown cycle shape {shape!r}; use linear, cosine, sqrt or exp")
    span = steps - warmup
    edges = np.linspace(0, span, cycles + 1).round().astype(int)
    phases = _warm(peak, warmup)
    for i in range(cycles):
        n = int(edges[i + 1] - edges[i])
        rw = min(int(rewarm), n - 1) if i > 0 else 0
        if rw > 0:
            phases.append(Phase("linear", rw, final, peak))
        phases.append(Phase(shape, n - rw, peak, final))
    return Schedule(phases, "cyclic", warmup)


def rewarmup(peak: float, steps: int, final: float = 0.0, warmup: int = 0, at: float = 0.5,
             rewarm: int = 1000, peak2: float | None = None, shape: str = "cosine") -> Schedule:
    """Decay ``peak -> final`` until ``at``, re-warm linearly to ``peak2`` over ``rewarm``
    steps, then decay ``peak2 -> final`` at ``steps``."""
    _check(peak, steps, warmup, final)
    peak2 = peak if peak2 is None else float(peak2)
    a = _length(at, steps, "at")
    if not warmup < a < steps - int(rewarm):
        raise ScalelawError(f"rewarmup: need warmup < at < steps - rewarm (at={a})")
    if shape not in DECAY_SHAPES:
        raise ScalelawError(f"unknown decay shape {shape!r}; use linear, cosine, sqrt or exp")
    phases = _warm(peak, warmup) + [Phase(shape, a - warmup, peak, final),
                                    Phase("linear", int(rewarm), final, peak2),
                                    Phase(shape, steps - a - int(rewarm), peak2, final)]
    return Schedule(phases, "rewarmup", warmup)


def warmup_only(peak: float, steps: int) -> Schedule:
    """Linear warmup from 0 to ``peak`` at step ``steps − 1``."""
    _check(peak, steps + 1, 0)
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
    from .io.columns import resolve
    from .io.table import read_table
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


# -- spec parsing ----------------------------------------------------------------------------

GRAMMAR = ("SPEC := KIND:KEY=VALUE,... ['+' SPEC]; KIND = constant|cosine|linear|wsd|multistep|"
           "invsqrt|cyclic|rewarmup|warmup|file; keys: peak (or lr), final, steps, warmup, "
           "cooldown, shape (linear|cosine|sqrt|exp), milestones=a/b, factors=a/b, split=8-1-1, "
           "cycles, rewarm, at, peak2, timescale, path, column; e.g. "
           "wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2,shape=linear")

_KEYS = {
    "constant": {"peak", "steps", "warmup"},
    "cosine": {"peak", "final", "steps", "warmup"},
    "linear": {"peak", "final", "steps", "warmup"},
    "wsd": {"peak", "final", "steps", "warmup", "cooldown", "shape"},
    "multistep": {"peak", "steps", "warmup", "milestones", "factors", "split"},
    "invsqrt": {"peak", "steps", "warmup", "timescale"},
    "cyclic": {"peak", "final", "steps", "warmup", "cycles", "shape", "rewarm"},
    "rewarmup": {"peak", "final", "steps", "warmup", "at", "rewarm", "peak2", "shape"},
    "warmup": {"peak", "steps"},
    "file": {"path", "column"},
}
_REQUIRED = {k: {"peak", "steps"} for k in _KEYS}
_REQUIRED["file"] = {"path"}


def _bad(msg):
    return ScalelawError(f"bad schedule spec: {msg}. Grammar: {GRAMMAR}")


def _num(key, v):
    try:
        x = float(v)
    except ValueError:
        raise _bad(f"{key}={v!r} is not a number") from None
    return x


def _part(text: str) -> Schedule:
    text = text.strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind not in _KEYS:
        raise _bad(f"unknown kind {kind!r}")
    kv: dict[str, str] = {}
    if kind == "file" and rest and "=" not in rest.split(",")[0]:
        rest = "path=" + rest
    for item in filter(None, (s.strip() for s in rest.split(","))):
        if "=" not in item:
            raise _bad(f"{item!r} is not KEY=VALUE")
        k, v = (s.strip() for s in item.split("=", 1))
        k = k.lower()
        if k == "lr":
            k = "peak"
        if k not in _KEYS[kind]:
            raise _bad(f"{kind} takes keys {', '.join(sorted(_KEYS[kind]))}, not {k!r}")
        kv[k] = v
    missing = _REQUIRED[kind] - set(kv)
    if missing:
        raise _bad(f"{kind} needs {', '.join(sorted(missing))}")
    if kind == "file":
        return from_csv(kv["path"], kv.get("column"))
    peak = _num("peak", kv["peak"])
    steps_f = _num("steps", kv["steps"])
    if steps_f != int(steps_f):
        raise _bad(f"steps={kv['steps']} must be an integer")
    steps = int(steps_f)
    if kind == "warmup":
        return warmup_only(peak, steps)
    warm = int(_num("warmup", kv.get("warmup", 0)))
    final = _num("final", kv.get("final", 0))
    if kind == "constant":
        return constant(peak, steps, warm)
    if kind == "cosine":
        return cosine(peak, steps, final, warm)
    if kind == "linear":
        return linear(peak, steps, final, warm)
    if kind == "wsd":
        return wsd(peak, steps, final, warm, _num("cooldown", kv.get("cooldown", 0.2)),
                   kv.get("shape", "linear").lower())
    if kind == "multistep":
        if "split" in kv:
            parts = [_num("split", x) for x in kv["split"].split("-")]
            if len(parts) < 2 or any(x <= 0 for x in parts):
                raise _bad(f"split={kv['split']} must look like 8-1-1")
            ms = list(np.cumsum(parts)[:-1] / np.sum(parts))
        else:
            ms = [_num("milestones", x) for x in kv.get("milestones", "0.8/0.9").split("/")]
        fac = [_num("factors", x) for x in kv["factors"].split("/")] if "factors" in kv else None
        return multistep(peak, steps, ms, fac, warm)
    if kind == "invsqrt":
        ts = _num("timescale", kv["timescale"]) if "timescale" in kv else None
        return inverse_sqrt(peak, steps, warm, ts)
    if kind == "cyclic":
        return cyclic(peak, steps, final, warm, int(_num("cycles", kv.get("cycles", 2))),
                      kv.get("shape", "cosine").lower(), int(_num("rewarm", kv.get("rewarm", 0))))
    # rewarmup
    p2 = _num("peak2", kv["peak2"]) if "peak2" in kv else None
    return rewarmup(peak, steps, final, warm, _num("at", kv.get("at", 0.5)),
                    int(_num("rewarm", kv.get("rewarm", 1000))), p2,
                    kv.get("shape", "cosine").lower())


def parse_schedule(spec) -> Schedule:
    """Build a :class:`Schedule` from a spec string (see the module docstring for the
    grammar), a path to a CSV of per-step LRs, an array of per-step LRs, or a Schedule."""
    if isinstance(spec, Schedule):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        return from_array(spec)
    spec = os.fspath(spec).strip()
    if not spec:
        raise _bad("empty spec")
    if ":" not in spec.split("+")[0] and os.path.exists(spec):
        return from_csv(spec)
    parts = re.split(r"\+(?=\s*[A-Za-z])", spec)
    try:
        scheds = [_part(p) for p in parts]
    except ScalelawError as e:
        if str(e).startswith("bad schedule spec"):
            raise
        raise ScalelawError(f"bad schedule spec: {e}. Grammar: {GRAMMAR}") from None
    out = scheds[0]
    for s in scheds[1:]:
        out = out + s
    if len(scheds) == 1:
        out.name = spec.split(":")[0]
    out.spec = spec
    return out


# -- areas -------------------------------------------------------------------------------------

def detect_warmup(eta: np.ndarray) -> int:
    """Warmup length ``W`` of per-step LRs ``eta``: the initial strictly rising stretch
    (steps ``0..W−1``); 0 if the LR does not rise at the start."""
    eta = np.asarray(eta, dtype=float)
    if len(eta) < 2 or eta[1] <= eta[0]:
        return 0
    d = np.diff(eta)
    stop = np.flatnonzero(d <= 0)
    return int(stop[0] + 1) if len(stop) else len(eta)


def s1_area(eta: np.ndarray) -> np.ndarray:
    """``S1(s) = Σ_{i=1..s} η_i`` for ``s = 0..T`` (LR·steps); ``S1(0) = 0``."""
    eta = np.asarray(eta, dtype=float)
    out = np.zeros_like(eta)
    out[1:] = np.cumsum(eta[1:])
    return out


def s2_momentum(eta: np.ndarray, lam: float = 0.999) -> tuple[np.ndarray, np.ndarray]:
    """Annealing momentum ``m_i`` and area ``S2(s) = Σ_{i=1..s} m_i`` for ``s = 0..T``.

    ``m_1 = 0``, ``m_i = λ·m_{i−1} + (η_{i−1} − η_i)`` for ``i ≥ 2`` (a first-order IIR
    filter, O(T)).  ``m_0 = S2(0) = 0``.
    """
    from scipy.signal import lfilter
    eta = np.asarray(eta, dtype=float)
    delta = np.zeros_like(eta)
    if len(eta) > 2:
        delta[2:] = eta[1:-1] - eta[2:]
    m = lfilter([1.0], [1.0, -float(lam)], delta)
    return m, np.cumsum(m)


def momentum_lrs(eta: np.ndarray, warmup: int | None = None) -> tuple[np.ndarray, int]:
    """Per-step LRs under the momentum law's warmup convention: steps ``1..W`` at ``η_max``
    (the largest LR up to step ``W``), so warmup adds ``W·η_max`` to S1 and nothing to S2.
    ``warmup=None`` detects ``W`` (:func:`detect_warmup`).  Returns ``(η', W)``."""
    eta = np.asarray(eta, dtype=float)
    W = detect_warmup(eta) if warmup is None else int(warmup)
    W = min(W, len(eta) - 1)
    out = eta.copy()
    if W > 0:
        out[: W + 1] = np.max(eta[: W + 1])
    return out, W


def momentum_areas(eta: np.ndarray, lam: float = 0.999, warmup: int | None = None):
    """``(S1, S2, W)`` for ``s = 0..T`` with Tissue et al.'s warmup convention."""
    e, W = momentum_lrs(eta, warmup)
    _, s2 = s2_momentum(e, lam)
    return s1_area(e), s2, W


def warmup_area(eta: np.ndarray, warmup: int | None = None) -> float:
    """The multi-power law's ``S_W = ½·η_max·W`` (LR·steps)."""
    eta = np.asarray(eta, dtype=float)
    W = detect_warmup(eta) if warmup is None else int(warmup)
    return 0.5 * float(np.max(eta[: W + 1])) * W if W > 0 else 0.0


__all__ = ["Phase", "Schedule", "parse_schedule", "GRAMMAR", "constant", "cosine", "linear",
           "wsd", "multistep", "inverse_sqrt", "cyclic", "rewarmup", "warmup_only",
           "from_array", "from_csv", "detect_warmup", "s1_area", "s2_momentum",
           "momentum_lrs", "momentum_areas", "warmup_area"]
