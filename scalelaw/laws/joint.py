"""A law of several targets at once: one base law per target, some parameters shared.

``JointLaw(base, targets, share)`` describes a table of several target columns (the losses
of several evaluation sets, say) stacked into one long table with a ``target_index``
variable (0, 1, ... in the order of ``targets``).  Row ``i`` of target ``j`` is predicted by
``base`` at the parameters of target ``j``: the shared ones (``share``, e.g. the exponents
``alpha, beta`` of Chinchilla) appear once in the parameter vector, all others once per
target as ``"NAME[target]"`` (``"E[loss_c4]"``).  The base law's units and conventions
carry over unchanged (for Chinchilla: N parameters, D tokens, loss in nats).

It is an ordinary :class:`~scalelaw.laws.base.Law`, so the one engine fits it (variable
projection over the base law's linear parameters, shared or not), and the sandwich
covariance, the bootstrap, prediction bands and JSON all work on it.
:mod:`scalelaw.fitting.multi` builds the stacked table and the per-target views.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ScalelawError
from .base import Design, Law

#: the variable that says which target a row of the stacked table belongs to
INDEX = "target_index"


def joint_name(param: str, target: str) -> str:
    """The joint parameter name of a per-target parameter: ``"E[loss_c4]"``."""
    return f"{param}[{target}]"


class JointLaw(Law):
    """``base`` for each of ``targets``, with the parameters named in ``share`` common to
    all of them (see the module docstring)."""

    name = "joint"

    def __init__(self, base="chinchilla", targets: Sequence[str] = ("loss",), share: Sequence[str] = (),
                 base_config: dict | None = None, base_class: str | None = None):
        from .registry import get_law, law_class
        if isinstance(base, Law):
            law = base
        elif base_class:
            law = law_class(base_class)(**(base_config or {}))
        else:
            law = get_law(base, **(base_config or {}))
        if law.predicts_curves or isinstance(law, JointLaw):
            raise ScalelawError(f"several targets need a scaling law of a table of runs, not {law.name}")
        targets = [str(t) for t in targets]
        if not targets or len(set(targets)) != len(targets):
            raise ScalelawError(f"the targets must be distinct names, got {targets}")
        share = tuple(str(s) for s in share)
        unknown = [s for s in share if s not in law.param_names]
        if unknown:
            raise ScalelawError(f"cannot share {', '.join(unknown)}: {law.name} has parameters "
                                f"{', '.join(law.param_names)}", option="share")
        if INDEX in law.variables:
            raise ScalelawError(f"law {law.name} already reads a variable named {INDEX}")
        self.base = law
        self.targets = targets
        self.share = tuple(p for p in law.param_names if p in share)   # the base law's order
        self.variables = tuple(law.variables) + (INDEX,)
        self.target = law.target
        self.n_polish = law.n_polish
        self.costly, self.batched = law.costly, law.batched
        #: variables that may hold one value in the table (data_constrained's U): the base law's
        self.may_be_constant = tuple(getattr(law, "may_be_constant", ()))
        names = list(self.share)
        for t in targets:
            names += [joint_name(p, t) for p in law.param_names if p not in self.share]
        self.param_names = tuple(names)
        #: per target: the index into the joint vector of each base parameter (base order)
        self.index = np.array([[names.index(self.joint_param(p, t)) for p in law.param_names]
                               for t in targets], dtype=int)
        self.linear_params = tuple(q for q in names if self.base_param(q) in law.linear_params)
        self.log_params = tuple(q for q in names if self.base_param(q) in law.log_params)
        shared = ", ".join(self.share) if self.share else "none"
        self.formula = f"{law.formula}, for each of {', '.join(targets)} (shared: {shared})"
        super().__init__()

    # -- names ----------------------------------------------------------------------------
    def joint_param(self, param: str, target: str) -> str:
        """The name in this law's vector of base parameter ``param`` of ``target``."""
        return param if param in self.share else joint_name(param, target)

    def base_param(self, name: str) -> str:
        """The base law's parameter a joint name stands for (``"E[loss_c4]"`` -> ``"E"``)."""
        return name.split("[", 1)[0] if name not in self.share else name

    def config(self):
        from .registry import BUILTIN, law_path
        base_class = law_path(self.base)
        builtin = BUILTIN.get(self.base.name.lower()) == base_class or self.base.name == "formula"
        return {"base": self.base.name, "base_config": self.base.config(),
                "base_class": None if builtin else base_class,
                "targets": list(self.targets), "share": list(self.share)}

    # -- descriptions -----------------------------------------------------------------------
    def _expand(self, per_base: dict) -> dict:
        out = {}
        for t in self.targets:
            for p, v in per_base.items():
                out[self.joint_param(p, t)] = v
        return out

    def default_bounds(self):
        return self._expand(dict(self.base.bounds))

    def default_grid(self):
        return self._expand(dict(self.base.start_grid))

    def grid_for(self, design: Design) -> dict:
        return self._expand(self.base.grid_for(self._part(design, 0)))

    def _part(self, design: Design, j: int) -> Design:
        rows = self._rows(design.x)[j]
        y = None if design.y is None else np.asarray(design.y)[rows]
        return Design(x={v: np.asarray(design.x[v])[rows] for v in self.base.variables}, y=y)

    def domain(self, design: Design):
        return {v: r for v, r in self.base.domain(design).items() if v != INDEX}

    # -- data -----------------------------------------------------------------------------
    def prepare(self, frame, target: str | None = "y") -> Design:
        d = Law.prepare(self, frame, target)
        idx = d.x[INDEX]
        bad = ~np.isin(idx, np.arange(len(self.targets)))
        if bad.any():
            raise ScalelawError(f"{INDEX} must be 0 .. {len(self.targets) - 1} (one per target of "
                                f"{', '.join(self.targets)}); found {idx[bad][0]:g}")
        return d

    def _rows(self, x) -> list[np.ndarray]:
        return [rows for rows, _ in self._parts(x)]

    def _sub(self, x, rows):
        return {v: np.asarray(x[v])[rows] for v in self.base.variables}

    def _parts(self, x) -> list[tuple[np.ndarray, dict]]:
        """Per target: its rows of ``x`` and the base law's inputs there.  Kept for the last
        ``x`` seen (the engine evaluates one design many times), so the base law's own
        caches (logarithms of N and D) persist across calls."""
        idx = x[INDEX]
        cache = getattr(self, "_cache", None)
        if cache is not None and cache[0] is idx:   # the same array object: the same design
            return cache[1]
        a = np.asarray(idx)
        parts = []
        for j in range(len(self.targets)):
            rows = np.flatnonzero(a == j)
            parts.append((rows, self._sub(x, rows)))
        self._cache = (idx, parts)
        return parts

    def __getstate__(self):   # pickled for worker processes: without the cache
        state = dict(self.__dict__)
        state.pop("_cache", None)
        return state

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, x, p):
        p = np.asarray(p, dtype=float)
        out = np.full(p.shape[:-1] + (len(np.asarray(x[INDEX])),), np.nan)
        for j, (rows, xj) in enumerate(self._parts(x)):
            if len(rows):
                out[..., rows] = self.base.evaluate(xj, p[..., self.index[j]])
        return out

    def evaluate_with_jacobian(self, x, p):
        p = np.asarray(p, dtype=float)
        n = len(np.asarray(x[INDEX]))
        out, J = np.full(n, np.nan), np.zeros((n, len(p)))
        for j, (rows, xj) in enumerate(self._parts(x)):
            if not len(rows):
                continue
            f, Jb = self.base.evaluate_with_jacobian(xj, p[self.index[j]])
            if Jb is None:
                return self.evaluate(x, p), None
            out[rows] = f
            J[rows[:, None], self.index[j][None, :]] = Jb   # rows of one target, its columns
        return out, J

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def has_basis(self) -> bool:
        return self.base.has_basis()

    def basis(self, x, p):
        p = np.asarray(p, dtype=float)
        lin = list(self.linear_params)
        base_lin = list(self.base.linear_params)
        n = len(np.asarray(x[INDEX]))
        out = np.zeros(p.shape[:-1] + (n, len(lin)))
        for j, (t, (rows, xj)) in enumerate(zip(self.targets, self._parts(x))):
            if not len(rows):
                continue
            B = np.asarray(self.base.basis(xj, p[..., self.index[j]]), dtype=float)
            cols = [lin.index(self.joint_param(q, t)) for q in base_lin]
            for c, col in enumerate(cols):
                out[..., rows, col] = B[..., c]
        return out


__all__ = ["JointLaw", "INDEX", "joint_name"]
