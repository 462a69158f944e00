"""Forecasts for LR schedules: predicted loss curves, schedules compared, and the best
schedule of a family for a step budget, from a fitted LR-schedule law.

Steps are optimizer steps counted from 0, LR the per-step learning rate, loss in nats.
Bands are the (1 − alpha) band of the law's curve (bootstrap percentiles when the fit has
draws, else the delta method).  Curves come from ``FitResult.predict`` (the law's
``curve_design``); this module adds reading logs, ranking and searching.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ScalelawError
from .schedules import Schedule, parse_schedule

if TYPE_CHECKING:
    from .fitting import FitResult

#: the band columns of a predicted curve
BAND = ("loss_lower", "loss_upper")


def _result(result):
    """A fit of an LR-schedule law: the object itself, or read from its JSON path."""
    if isinstance(result, (str, os.PathLike)):
        from .fitting import FitResult
        result = FitResult.from_json(result)
    if not result.law.predicts_curves:
        raise ScalelawError(f"a {result.law.name} fit predicts from its variables, not the loss "
                            "curve of an LR schedule; fit an LR-schedule law (momentum, multipower)")
    return result


def predict_curve(result: FitResult | str | os.PathLike,
                  schedule: str | Schedule | Sequence[float] | None = None, *,
                  log: pd.DataFrame | str | os.PathLike | None = None,
                  steps: Sequence[int] | None = None, every: int | None = None, alpha: float = 0.05, warmup: int | None = None, max_points: int = 1000) -> pd.DataFrame:
    """Predicted loss curve ``step, lr, loss_pred, loss_lower, loss_upper`` (band: 1−alpha).

    ``result``: a :class:`~scalelaw.fitting.FitResult` of an LR-schedule law or its JSON path.
    Either ``schedule`` (spec/Schedule/per-step LRs; predicted at ``steps``, else every
    ``every`` steps, default so that about ``max_points`` points come out, always including
    the last step) or ``log`` (a log path or frame: predicted at its steps that have a loss,
    every logged step if none, with its LR, and the observed ``loss`` beside; the LR before
    its first row follows ``warmup`` or the fit's rule).
    """
    from .io.curves import read_curves
    result = _result(result)
    if (schedule is None) == (log is None):
        raise ScalelawError("give either a schedule or a log to predict")
    from .fitting.bands import curve_prediction
    if schedule is not None:
        return curve_prediction(result, schedule, alpha, steps=steps, every=every, warmup=warmup,
                                max_points=max_points)
    df = log if isinstance(log, pd.DataFrame) else read_curves(log, require_loss=False)
    return curve_prediction(result, df, alpha, every=every, warmup=warmup)


def compare_schedules(result: FitResult | str | os.PathLike,
                      schedules: Mapping[str, str | Schedule] | Sequence[str | Schedule],
                      alpha: float = 0.05) -> pd.DataFrame:
    """Predicted final loss (with band) of each schedule, best first.

    ``schedules``: mapping name -> spec/Schedule, or a list of specs.  Columns ``schedule,
    steps, final_lr, final_loss, loss_lower, loss_upper, valid`` (``valid`` is False where
    the predicted loss is not positive: outside the law's valid region; ranked last)."""
    result = _result(result)
    if not isinstance(schedules, Mapping):
        schedules = {str(getattr(s, "spec", s)): s for s in schedules}
    rows = []
    for name, spec in schedules.items():
        s = parse_schedule(spec)
        c = predict_curve(result, s, steps=[s.total], alpha=alpha)
        rows.append({"schedule": name, "steps": s.total, "final_lr": float(c["lr"].iloc[-1]),
                     "final_loss": float(c["loss_pred"].iloc[-1]),
                     BAND[0]: float(c[BAND[0]].iloc[-1]), BAND[1]: float(c[BAND[1]].iloc[-1])})
    table = pd.DataFrame(rows)
    table = table.assign(valid=np.isfinite(table["final_loss"]) & (table["final_loss"] > 0))
    return table.sort_values(["valid", "final_loss"], ascending=[False, True],
                             kind="stable").reset_index(drop=True)


def optimize_schedule(result: FitResult | str | os.PathLike, steps: int, peak: float, *, warmup: int = 0, family: str = "wsd",
                      cooldowns: Iterable[float] = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5),
                      shapes: Iterable[str] = ("linear", "cosine", "sqrt", "exp"),
                      finals: Sequence[float] | None = None) -> pd.DataFrame:
    """Minimize the predicted final loss over a schedule family for a budget of ``steps``
    (warmup included; ``warmup`` steps of linear warmup from 0 to ``peak``).

    ``family='wsd'``: grid over cooldown fraction × shape × final LR (``finals``, default
    ``peak·{0, 0.01, 0.1}``; the exponential shape uses only positive finals); the best
    cooldown per (shape, final) is then refined by a bounded scalar search.
    ``family='cosine'``: grid over the final LR.  Returns all candidates, best first, with
    ``spec`` strings that ``scalelaw schedule`` accepts and ``valid`` (False where the
    predicted final loss is not positive; such candidates rank last, and a budget where no
    candidate is valid is refused).  Warns when the budget's peak LR or steps extrapolate
    beyond the fitted runs.
    """
    from scipy.optimize import minimize_scalar

    from .errors import ScalelawWarning
    from .fitting.select import stacked_note
    result = _result(result)
    note = stacked_note(result)
    if note:
        import warnings
        warnings.warn(note, ScalelawWarning, stacklevel=2)
    law = result.law
    p = result.params.to_numpy(dtype=float)
    if finals is None:
        finals = [0.0, 0.01 * peak, 0.1 * peak]

    def final_loss(s: Schedule) -> float:
        d, _ = law.curve_design(s, steps=[s.total], warmup=warmup)
        return float(law.evaluate(d.x, p)[0])

    rows = []
    if family == "cosine":
        for f in finals:
            spec = f"cosine:peak={peak:g},final={f:g},steps={steps},warmup={warmup}"
            rows.append({"spec": spec, "final_loss": final_loss(parse_schedule(spec))})
    elif family == "wsd":
        span = steps - warmup
        for shape in shapes:
            for f in finals:
                if shape == "exp" and f <= 0:
                    continue

                def spec_of(c):
                    return (f"wsd:peak={peak:g},final={f:g},steps={steps},warmup={warmup},"
                            f"cooldown={c:.6g},shape={shape}")
                best = None
                for c in cooldowns:
                    if c * steps > span:
                        continue
                    v = final_loss(parse_schedule(spec_of(c)))
                    rows.append({"spec": spec_of(c), "final_loss": v})
                    if best is None or v < best[1]:
                        best = (c, v)
                if best is None:
                    continue
                cs = sorted(c for c in cooldowns if c * steps <= span)
                i = cs.index(best[0])
                lo, hi = cs[max(i - 1, 0)], cs[min(i + 1, len(cs) - 1)]
                if hi > lo:
                    r = minimize_scalar(lambda c: final_loss(parse_schedule(spec_of(c))),
                                        bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
                    rows.append({"spec": spec_of(float(r.x)), "final_loss": float(r.fun)})
    else:
        raise ScalelawError(f"unknown schedule family {family!r}; use wsd or cosine")
    out = pd.DataFrame(rows).drop_duplicates("spec")
    return _rank_valid(out, result, parse_schedule(out["spec"].iloc[0]) if len(out) else None, warmup)


def _rank_valid(table, result, example, warmup):
    """Candidates best first, those whose predicted final loss is not positive (outside the
    law's valid region) marked ``valid = False`` and ranked last; refused when none is
    valid.  Warns once when the budget itself extrapolates (peak LR, steps)."""
    import warnings

    from .errors import ScalelawWarning
    from .fitting.bands import curve_validity
    if example is not None:
        d, _ = result.law.curve_design(example, steps=[example.total], warmup=warmup)
        for note in curve_validity(result, result.law.domain(d), [1.0]):
            warnings.warn(note, ScalelawWarning, stacklevel=3)
    table = table.assign(valid=np.isfinite(table["final_loss"]) & (table["final_loss"] > 0))
    if len(table) and not table["valid"].any():
        raise ScalelawError(f"every candidate schedule has a predicted final loss <= 0 (best "
                            f"{table['final_loss'].min():.4g}): the fitted law is outside its valid "
                            "region for this budget; plan within the fitted steps and LRs")
    table = table.sort_values(["valid", "final_loss"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


__all__ = ["predict_curve", "compare_schedules", "optimize_schedule", "BAND"]
