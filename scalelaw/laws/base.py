"""The :class:`Law` protocol every law implements, and the :class:`Design` it evaluates on.

A law is a plain object (in the spirit of lmfit's models): a name, the variables it reads,
its parameter names, bounds, a default start grid for the fitting engine, a formula text,
and a vectorized ``evaluate``.  The fitting engine (:mod:`scalelaw.fitting`) is the only place
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

The protocol, in the order data meet it (docs/architecture.md has a worked example):

=============================  ==========================================================
``name, variables, target``    what the law is called and which columns it reads
``param_names, bounds``        the parameter vector and its box (``default_bounds``)
``default_grid / grid_for``    start values for the engine's search
``prepare(frame, target)``     a table (or a per-step log) -> :class:`Design`
``evaluate / jacobian``        the prediction and its derivatives
``linear_params / basis``      optional: variable projection over the linear parameters
``predicts_curves``            True for LR-schedule laws: the data are per-step logs whose
                               rows without a loss still carry the LR history, and the law
                               predicts whole loss curves through ``curve_design``
``curve_design(source)``       the design of the loss curve of a schedule or a log
``anchor_stage(x, w, fixed)``  optional extra stage the engine solves before its search
``config / replace``           constructor options: rebuild the law (JSON, refits)
=============================  ==========================================================
"""
from __future__ import annotations

import inspect
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


@dataclass
class AnchorStage:
    """An extra stage a law asks the engine to solve before its main search.

    The engine fits :attr:`law` (a smaller, better identified law) to ``x`` with the main
    fit's observations, weights, objective, bounds and fixed values, then holds the
    parameters named in :attr:`take` at the values found ("anchored") during the main
    search.  :attr:`note` is formatted with those values (``"B = {B:.6g} ..."``) for the
    results' notes.  The bootstrap repeats both stages on every resample.
    """

    law: "Law"
    x: Any
    take: tuple[str, ...]
    note: str = ""


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
    #: the bootstrap may refit all resamples at once by Levenberg-Marquardt
    #: (:mod:`scalelaw.fitting._batched`); False where LM stops in flat valleys above the
    #: optima the per-resample polish (LM, then L-BFGS-B) reaches: the broken power laws
    batched: bool = True
    #: an LR-schedule law: its data are per-step logs (rows without a loss are kept, they
    #: carry the LR history) and it predicts loss curves through :meth:`curve_design`
    predicts_curves: bool = False
    #: variables that may hold a single value in a fit's data (the data-constrained law's
    #: ``U``: every run may draw from one pool of unique tokens); others must vary
    may_be_constant: tuple[str, ...] = ()
    #: warmup conventions a curve law offers (its ``convention`` option); ``fit_lr`` with
    #: ``convention="auto"`` fits each of ``auto_conventions`` and keeps the best
    conventions: tuple[str, ...] = ()
    auto_conventions: tuple[str, ...] = ()

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

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """The keyword options the law's constructor takes (those :meth:`config` may hold).
        A constructor with ``**kwargs`` also takes the options of :meth:`config`."""
        sig = inspect.signature(cls.__init__)
        return tuple(n for n, q in sig.parameters.items()
                     if n != "self" and q.kind in (q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY))

    @classmethod
    def _takes_any_option(cls) -> bool:
        return any(q.kind == q.VAR_KEYWORD for q in inspect.signature(cls.__init__).parameters.values())

    def replace(self, **changes) -> "Law":
        """A new law of the same class with :meth:`config` updated by ``changes`` (works for
        user-defined subclasses as well as the registered laws)."""
        unknown = [k for k in changes if k not in self.options()]
        if unknown and not self._takes_any_option():
            raise ScalelawError(f"law {self.name} has no option {', '.join(unknown)}; its options: "
                                f"{', '.join(self.options()) or 'none'}")
        return type(self)(**{**self.config(), **changes})

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

    def curve_design(self, source, *, steps=None, every: int | None = None,
                     max_points: int = 1000, warmup: int | None = None):
        """For laws with :attr:`predicts_curves`: the :class:`Design` of the loss curve under
        ``source`` (a schedule spec, :class:`~scalelaw.schedules.Schedule` or per-step LRs;
        or a log frame with ``step, lr`` and optionally ``run, loss``) and a frame of what it
        is evaluated at (``step, lr``; ``run`` and the observed ``loss`` for a log)."""
        raise ScalelawError(f"law {self.name} predicts from its variables "
                            f"({', '.join(self.variables) or 'none'}), not from an LR schedule")

    def anchor_stage(self, x, weights: np.ndarray, fixed: Mapping[str, float]):
        """An :class:`AnchorStage` for the engine to solve first, or None; and a note (or
        None) for the results, e.g. why no anchor could be set.  Default: no stage."""
        return None, None

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
