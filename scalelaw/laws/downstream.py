"""Laws for downstream metrics: bounded scores such as accuracy, AUROC or pass rates
(REFERENCE §12; docs/downstream.md).

* :class:`SigmoidLoss` (``sigmoid_loss``): the metric as a sigmoid of the loss, the second
  stage of OLMo's model ladder (Bhagia et al. 2024, "Establishing Task Scaling Laws via
  Compute-Efficient Model Ladders"): ``metric = b + (c − b)/(1 + exp(k·(loss − L0)))``.  Its
  one variable is ``loss`` (nats, the loss column of the table: a task loss or a validation
  loss) and its target is ``metric``.  b is the metric's floor (large loss), c its ceiling
  (small loss), L0 the loss at the midpoint, k > 0 the steepness per nat.  The paper writes
  ``a/(1 + e^(−k(L − L0))) + b``: its a is the rise c − b and its k is −k here.  With the
  metric's range declared, floor and ceiling are both bounded to it, so the curve (and each
  bootstrap draw's) stays inside the range by construction.
* :class:`LogitLink` (``logit``): any scaling law fitted to the logit of a bounded metric.
  With the metric declared to lie in (lo, hi) (e.g. chance level 0.25 of a 4-way multiple
  choice task, to 1) and p = (metric − lo)/(hi − lo), the base law models the odds against
  success ``(hi − metric)/(metric − lo) = exp(−logit p)``: for Chinchilla
  ``odds = E + A/N^α + B/D^β``, so the metric rises from lo (small models, odds → ∞) to
  ``lo + (hi − lo)/(1 + E)`` (N, D → ∞).  In log space (the default) the fit's residuals are
  logit residuals; the law's values are odds, and
  :func:`scalelaw.fitting.chain.predict_metric` (and ``scalelaw predict``) map predictions
  and their bands back to the metric, where they stay inside (lo, hi).

Both laws describe and never solve; the engine fits them like any other law.
"""
from __future__ import annotations

import numpy as np

from ..errors import ScalelawError
from ._math import sigmoid
from .base import INF, Design, Law, cols

__all__ = ["SigmoidLoss", "LogitLink", "check_range", "parse_range"]


def parse_range(spec, what: str = "metric range") -> tuple[float, float]:
    """``(lo, hi)`` from a pair or a ``"LO,HI"`` string; lo < hi, both finite."""
    if isinstance(spec, str):
        parts = [s.strip() for s in spec.replace(":", ",").split(",")]
        if len(parts) != 2:
            raise ScalelawError(f"{what} {spec!r}: give two numbers LO,HI such as 0.25,1")
        spec = parts
    try:
        lo, hi = (float(v) for v in spec)
    except (TypeError, ValueError):
        raise ScalelawError(f"{what} {spec!r}: give two numbers LO,HI such as 0.25,1") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ScalelawError(f"{what} {lo:g},{hi:g}: give finite numbers with LO < HI, such as 0.25,1")
    return lo, hi


def check_range(values, lo: float, hi: float, column: str = "metric", open_range: bool = False,
                why: str = "") -> None:
    """Refuse, in one line naming ``column`` and the range, values outside [lo, hi] (or,
    with ``open_range``, at or outside (lo, hi)).  NaNs are not checked."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    bad = (v <= lo) | (v >= hi) if open_range else (v < lo) | (v > hi)
    if bad.any():
        shown = f"({lo:g}, {hi:g})" if open_range else f"[{lo:g}, {hi:g}]"
        worst = v[bad][np.argmax(np.abs(v[bad] - 0.5 * (lo + hi)))]
        raise ScalelawError(f"{int(bad.sum())} value(s) of {column} {'at or ' if open_range else ''}outside "
                            f"the declared range {shown} (e.g. {worst:g}){why}: declare the range the "
                            "metric can take (chance level to best), or drop those rows")


class SigmoidLoss(Law):
    """``metric = b + (c − b)/(1 + exp(k·(loss − L0)))``: a downstream metric from the loss
    (OLMo ladder, stage 2; Bhagia et al. 2024 write ``a/(1 + e^(−k(L − L0))) + b`` with the
    rise ``a = c − b`` and −k for k).

    ``loss`` in nats (the task loss or validation loss of each run); b is the floor (the
    metric at a large loss), c the ceiling (at a small loss), L0 the loss at the midpoint,
    k > 0 the steepness per nat.  ``lo``, ``hi``: the declared range of the metric (e.g.
    0.25 and 1 for 4-way multiple choice); they bound both the floor and the ceiling to
    [lo, hi], so every curve of the law (the fit's, and each bootstrap draw's) lies inside
    the range at every loss.  Floor and ceiling enter linearly (``b·(1 − σ) + c·σ``) and
    keep the engine's variable projection.  c < b (a metric that falls as the loss falls,
    such as an error rate) is allowed.  Fit in linear space (``space="linear"``,
    ``objective="l2"``), as the two-stage chain does: metrics can be 0 and their noise is
    additive.
    """

    name = "sigmoid_loss"
    variables = ("loss",)
    target = "metric"
    param_names = ("b", "c", "k", "L0")
    linear_params = ("b", "c")
    log_params = ("k",)
    formula = "b + (c - b)/(1 + exp(k*(loss - L0)))"

    def __init__(self, lo: float | None = None, hi: float | None = None):
        if (lo is None) != (hi is None):
            raise ScalelawError("give both ends of the metric's range (lo and hi), or neither")
        self.lo, self.hi = (None, None) if lo is None else parse_range((lo, hi))
        super().__init__()

    def config(self):
        return {} if self.lo is None else {"lo": self.lo, "hi": self.hi}

    def default_bounds(self):
        if self.lo is None:
            return {"b": (-INF, INF), "c": (-INF, INF), "k": (0.0, INF), "L0": (0.0, INF)}
        return {"b": (self.lo, self.hi), "c": (self.lo, self.hi), "k": (0.0, INF), "L0": (0.0, INF)}

    def default_grid(self):
        return {"k": np.geomspace(0.3, 30.0, 9), "L0": [1.0, 2.0, 3.0, 4.0]}

    def grid_for(self, design):
        """Midpoints L0 across (and a little beyond) the observed losses; steepness k from
        0.5 to 40 over the observed loss span."""
        g = dict(self.start_grid)
        loss = np.asarray(design.x["loss"], dtype=float)
        loss = loss[np.isfinite(loss)]
        if loss.size >= 2 and np.ptp(loss) > 0:
            lo, hi, span = loss.min(), loss.max(), np.ptp(loss)
            g["L0"] = np.clip(np.linspace(lo - 0.25 * span, hi + 0.25 * span, 7), 1e-6, None)
            g["k"] = np.geomspace(0.5, 40.0, 10) / span
        return g

    def _s(self, x, k, L0):
        return sigmoid(-k * (x["loss"] - L0))

    def basis(self, x, p):
        b, c, k, L0 = cols(p, 4)
        s = self._s(x, k, L0)
        return np.stack([1.0 - s, s], axis=-1)

    def evaluate(self, x, p):
        b, c, k, L0 = cols(p, 4)
        s = self._s(x, k, L0)
        return b * (1.0 - s) + c * s   # a convex combination of b and c: between them

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        b, c, k, L0 = np.asarray(p, dtype=float)
        d = x["loss"] - L0
        s = sigmoid(-k * d)
        ds = (c - b) * s * (1.0 - s)   # (c − b)·dσ(z)/dz at z = −k·d
        J = np.column_stack([1.0 - s, s, -ds * d, ds * k])
        return b * (1.0 - s) + c * s, J


class LogitLink(Law):
    """A scaling law of the logit of a bounded metric: ``(hi − metric)/(metric − lo) =
    base(x)``, the odds against success modelled by ``base`` (any scaling law: its
    variables, parameters, bounds, start grid and variable projection are the base law's).

    ``lo``, ``hi``: the declared range, e.g. 0 and 1 for accuracy, or chance level 0.25 of a
    4-way multiple choice task and 1.  Metric values must lie strictly inside (lo, hi) (the
    logit is infinite at the ends).  The law's values are odds; :meth:`to_metric` maps them
    (and band limits, with lower and upper swapped since the map decreases) to the metric.
    Fit in log space (the default): log-odds residuals are logit residuals.
    """

    name = "logit"
    target = "metric"

    def __init__(self, base="chinchilla", lo: float = 0.0, hi: float = 1.0, **base_config):
        from .registry import get_law
        self.base = get_law(base, **base_config) if isinstance(base, str) else get_law(base)
        if getattr(self.base, "predicts_curves", False):
            raise ScalelawError(f"the logit link takes a scaling law of N, D or C, not the LR-schedule "
                                f"law {self.base.name}")
        if isinstance(self.base, LogitLink):
            raise ScalelawError("the logit link's base law is a logit link already")
        self.lo, self.hi = parse_range((lo, hi))
        b = self.base
        self.variables = tuple(b.variables)
        self.param_names = tuple(b.param_names)
        self.linear_params = tuple(b.linear_params)
        self.log_params = tuple(b.log_params)
        self.n_polish, self.costly, self.batched = b.n_polish, b.costly, b.batched
        self.may_be_constant = tuple(b.may_be_constant)   # e.g. data_constrained's U
        if hasattr(b, "var"):
            self.var = b.var      # one-variable laws: the variable bound to the table's column
        self.formula = f"({self.hi:g} - metric)/(metric - {self.lo:g}) = {b.formula}"
        super().__init__()

    def config(self):
        from .registry import BUILTIN, law_path
        b = self.base
        ref = b.name if (BUILTIN.get(b.name.lower()) == law_path(b) or b.name == "formula") else law_path(b)
        return {"base": ref, "lo": self.lo, "hi": self.hi, **b.config()}

    def default_bounds(self):
        return dict(self.base.bounds)

    def default_grid(self):
        return dict(self.base.start_grid)

    def grid_for(self, design):
        return self.base.grid_for(design)

    # the metric <-> the odds the base law models ------------------------------------------
    def to_metric(self, odds):
        """The metric of odds ``(hi − metric)/(metric − lo)``: ``lo + (hi − lo)/(1 + odds)``
        (decreasing in the odds; 0 odds give hi, infinite odds lo)."""
        o = np.asarray(odds, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.where(np.isinf(o) & (o > 0), self.lo, self.lo + (self.hi - self.lo) / (1.0 + o))

    def from_metric(self, metric):
        """The odds against success of a metric inside (lo, hi)."""
        m = np.asarray(metric, dtype=float)
        return (self.hi - m) / (m - self.lo)

    def prepare(self, frame, target="y"):
        d = self.base.prepare(frame, target)
        if d.y is None:
            return d
        check_range(d.y, self.lo, self.hi, "the metric", open_range=True,
                    why=" (the logit is infinite at the ends)")
        info = dict(d.info or {})
        info["notes"] = list(info.get("notes", [])) + [
            f"logit link: {self.base.name} models the odds (hi - metric)/(metric - lo) with metric range "
            f"({self.lo:g}, {self.hi:g}); its values are odds, map them with predict_metric (scalelaw predict does)"]
        return Design(x=d.x, y=self.from_metric(d.y), groups=d.groups, info=info)

    def domain(self, design):
        return self.base.domain(design)

    def has_basis(self):
        return self.base.has_basis()

    def basis(self, x, p):
        return self.base.basis(x, p)

    def evaluate(self, x, p):
        return self.base.evaluate(x, p)

    def jacobian(self, x, p):
        return self.base.jacobian(x, p)

    def evaluate_with_jacobian(self, x, p):
        return self.base.evaluate_with_jacobian(x, p)
