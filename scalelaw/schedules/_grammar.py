"""The schedule spec grammar: text -> :class:`Schedule`, through :mod:`scalelaw.spec`.

Every kind is a constructor of :mod:`._families`; its signature gives the keys, defaults and
types, :data:`._families.RANGES` the allowed values.  Parts joined by ``+`` are concatenated
in time.
"""
from __future__ import annotations

import inspect
import os
import re

from ..spec import Grammar, Kind
from ._core import SHAPE_ALIASES, Schedule
from ._families import (RANGES, constant, cosine, cyclic, from_array, from_csv, inverse_sqrt, linear,
                        multistep, rewarmup, warmup_only, wsd)

GRAMMAR = ("SPEC := KIND:KEY=VALUE,... ['+' SPEC]; KIND = constant|cosine|linear|wsd|multistep|"
           "invsqrt|cyclic|rewarmup|warmup|file; keys: peak (or lr), final, steps, warmup, "
           "cooldown, shape (linear|cosine|sqrt|exp), milestones=a/b, factors=a/b, split=8-1-1, "
           "cycles, rewarm, at, peak2, timescale, path, column; e.g. "
           "wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2,shape=linear")

_WHERE = "fraction of steps (< 1) or step (>= 1)"


def _kind(name, build, note="", **kw) -> Kind:
    keys = inspect.signature(build).parameters
    return Kind(name, build, ranges={k: r for k, r in RANGES.items() if k in keys},
                aliases={"lr": "peak"} if "peak" in keys else None,
                values={"shape": SHAPE_ALIASES} if "shape" in keys else None, note=note, **kw)


#: the schedule grammar (one :class:`~scalelaw.spec.Kind` per family)
SPEC = Grammar("schedule", [
    _kind("constant", constant),
    _kind("cosine", cosine),
    _kind("linear", linear),
    _kind("wsd", wsd, "cooldown: fraction of steps (< 1) or steps (>= 1)"),
    _kind("multistep", multistep, f"milestones: each a {_WHERE}, or split=8-1-1 as stage lengths; "
                                  "factors default sqrt(0.1)^(i+1)", seps={"split": "-"}),
    _kind("invsqrt", inverse_sqrt, "timescale default max(warmup, 1)"),
    _kind("cyclic", cyclic),
    _kind("rewarmup", rewarmup, f"at: {_WHERE}; peak2 default peak"),
    _kind("warmup", warmup_only),
    _kind("file", from_csv, "a CSV of per-step LRs", positional="path"),
], text=GRAMMAR)


def parse_schedule(spec) -> Schedule:
    """Build a :class:`Schedule` from a spec string (grammar: :data:`GRAMMAR`, docs/lr.md), a
    path to a CSV of per-step LRs, an array of per-step LRs, or a Schedule.

    A bad spec raises one :class:`~scalelaw.errors.ScalelawError` line that names the key,
    the value and what is allowed, and ends with the kind's grammar.
    """
    if isinstance(spec, Schedule):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        return from_array(spec)
    spec = os.fspath(spec).strip()
    if not spec:
        raise SPEC.error("empty spec")
    if ":" not in spec.split("+")[0] and os.path.exists(spec):
        return from_csv(spec)
    scheds = [SPEC.parse(p) for p in re.split(r"\+(?=\s*[A-Za-z])", spec)]
    out = scheds[0]
    for s in scheds[1:]:
        out = out + s
    if len(scheds) == 1:
        out.name = spec.split(":")[0]
    out.spec = spec
    return out
