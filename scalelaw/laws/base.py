"""The :class:`Law` protocol every law implements, and the :class:`Design` it evaluates on.

A law is a plain object (in the spirit of lmfit's models): a name, the variables it reads,
its parameter names, bounds, a default start grid for the fitting engine, a formula text,
and a vectorized ``evaluate``.  The fitting engine (:mod:`scalelaw.fit`) is the only place
that optimizes; a law only describes.

Conventions
-----------
* Parameters are passed as one array ``p`` in the order of :attr:`Law.param_names`.
  ``p`` may have leading batch dimensions, shape ``(..., k)``; ``evaluate`` then returns
  ``(..., n)``.  :func:`cols` unpacks ``p`` into broadcastable columns.
* Laws whose prediction is ``basis(x; nonlinear params) @ linear params`` declare
  :attr:`Law.linear_params` and implement :meth:`Law.basis`.  The engine then searches only
  over the nonlinear parameters and solves the linear ones (variable projection).
* :attr:`Law.log_params` are positive scale parameters; the engine optimizes their
  logarithm, which conditions fits whose scales span orders of magnitude.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ScalelawError

INF = float("inf")


@dataclass
class Design:
    """What a law evaluates on: prepared inputs ``x``, the observed target ``y``.

    ``x`` is whatever the law's :meth:`Law.prepare` builds (a dict of float arrays for the
    scaling laws).  ``groups`` labels each observation for group bootstrap and
    leave-one-group-out validation (e.g. the model size or the run).  ``info`` carries
    notes the results should report (e.g. how a missing LR was filled in).
    """

    x: Any
    y: np.ndarray | None
    groups: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        if self.y is not None:
            return len(self.y)
        first = next(iter(self.x.values())) if isinstance(self.x, Mapping) else self.x
        return len(first)


def cols(p: np.ndarray, k: int) -> list[np.ndarray]:
    """Split ``p`` of shape ``(..., k)`` into ``k`` arrays of shape ``(..., 1)``.

    The trailing unit axis broadcasts against data arrays of shape ``(n,)``.
    """
    p = np.asarray(p, dtype=float)
    if p.shape[-1] != k:
        raise ValueError(f"expected {k} parameters, got shape {p.shape}")
    return [p[..., i, None] for i in range(k)]


class Law:
    """Base class of all laws.  Subclasses set the class attributes and ``evaluate``."""

    #: short identifier used by the CLI (``--law NAME``)
    name: str = "law"
    #: canonical variable names the law reads (columns after synonym matching)
    variables: tuple[str, ...] = ()
    #: parameter names, in the order of the parameter vector
    param_names: tuple[str, ...] = ()
    #: human-readable formula
    formula: str = ""
    #: parameters that enter linearly (variable projection); must be a subset of param_names
    linear_params: tuple[str, ...] = ()
    #: positive scale parameters optimized on a log scale
    log_params: tuple[str, ...] = ()
    #: target column name the law predicts
    target: str = "loss"
    #: how many of the best grid points the engine polishes (lower for costly laws)
    n_polish: int = 4
    #: evaluations are expensive (the engine then skips its second, confirming polish route)
    costly: bool = False

    def __init__(self):
        self.bounds: dict[str, tuple[float, float]] = dict(self.default_bounds())
        self.start_grid: dict[str, np.ndarray] = {
            k: np.asarray(v, dtype=float) for k, v in self.default_grid().items()}

    # -- descriptions -------------------------------------------------------------------
    def default_bounds(self) -> dict[str, tuple[float, float]]:
        """Bounds per parameter; unbounded sides are ``±inf``."""
        return {p: (-INF, INF) for p in self.param_names}

    def default_grid(self) -> dict[str, Sequence[float]]:
        """Start values the engine tries for each parameter (a product grid).

        Linear parameters need no grid when :meth:`basis` is implemented.
        """
        return {}

    def grid_for(self, design: "Design") -> dict[str, np.ndarray]:
        """The start grid for this data (default: :attr:`start_grid`).  Laws whose good
        starts depend on the data range (e.g. break locations) override this."""
        return dict(self.start_grid)

    def config(self) -> dict:
        """Constructor keyword arguments that rebuild this law with ``get_law(name, **config)``
        (used by ``FitResult.to_json``).  JSON-serializable."""
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {self.formula}>"

    # -- data -----------------------------------------------------------------------------
    def prepare(self, frame, target: str | None = "y") -> Design:
        """Build a :class:`Design` from a frame whose columns are named after
        :attr:`variables` (and ``target`` for the observed values, if present)."""
        x = {}
        for v in self.variables:
            if v not in frame:
                raise ScalelawError(f"law {self.name} needs variable {v}; have: {', '.join(map(str, frame))}")
            x[v] = np.asarray(frame[v], dtype=float)
        y = None
        if target is not None and target in frame:
            y = np.asarray(frame[target], dtype=float)
        groups = np.asarray(frame["group"]) if "group" in frame else None
        return Design(x=x, y=y, groups=groups)

    def domain(self, design: Design) -> dict[str, tuple[float, float]]:
        """Range of each variable in the design (used for extrapolation warnings)."""
        if not isinstance(design.x, Mapping):
            return {}
        return {k: (float(np.min(v)), float(np.max(v))) for k, v in design.x.items()
                if k in self.variables and len(v)}

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, x, p: np.ndarray) -> np.ndarray:
        """Predicted target for prepared inputs ``x`` (``Design.x``), parameters ``p``."""
        raise NotImplementedError

    def jacobian(self, x, p: np.ndarray) -> np.ndarray | None:
        """d evaluate / d p, shape ``(n, k)`` for a single ``p`` of shape ``(k,)``.

        Returning ``None`` makes the engine use finite differences.
        """
        return None

    def evaluate_with_jacobian(self, x, p: np.ndarray):
        """``(evaluate(x, p), jacobian(x, p))`` for one ``p``; laws override it to share work."""
        return self.evaluate(x, p), self.jacobian(x, p)

    def basis(self, x, p: np.ndarray) -> np.ndarray:
        """Columns multiplying :attr:`linear_params`: ``evaluate = basis @ p[linear]``.

        Only the nonlinear entries of ``p`` are read.  Shape ``(..., n, m)``.
        """
        raise NotImplementedError

    def __call__(self, x: Mapping[str, Any] | None = None, /, **kwargs) -> np.ndarray:
        """Evaluate with named inputs and parameters: ``law(N=1e9, D=2e10, E=1.7, ...)``."""
        data = dict(x or {})
        data.update({k: v for k, v in kwargs.items() if k in self.variables})
        params = {k: v for k, v in kwargs.items() if k in self.param_names}
        missing = [k for k in self.param_names if k not in params]
        if missing:
            raise ScalelawError(f"missing parameters for {self.name}: {', '.join(missing)}")
        arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in data.items()}
        if arrays:
            b = np.broadcast_arrays(*arrays.values())
            arrays = dict(zip(arrays, b))
        design = self.prepare(arrays, target=None)
        p = np.array([params[k] for k in self.param_names], dtype=float)
        return self.evaluate(design.x, p)

    # -- helpers for the engine ------------------------------------------------------------
    def has_basis(self) -> bool:
        return bool(self.linear_params) and type(self).basis is not Law.basis
