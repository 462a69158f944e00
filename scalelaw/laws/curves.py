"""The shared floor of the LR-schedule laws: per-step logs split into runs with dense
per-step LRs, and the base class that turns runs into designs and loss curves.

Data are per-step training logs: a frame with ``step``, ``lr``, the observed loss (``y`` for
the engine, may be NaN on rows where only the LR is known), optionally ``run`` (one schedule
per run) and ``N`` (model size in parameters, one per run).  :func:`runs_from_frame` rebuilds
each run's per-step LR ``η_0..η_T`` (steps counted from 0): rows with an LR are interpolated
linearly; before the first row with an LR, the LR comes from the ``schedule`` option (a spec,
see :mod:`scalelaw.schedules`), else from the ``warmup`` option (linear from 0 over ``W``
steps, then the first logged LR), else it is taken as linear from 0 at step 0 to the first
logged LR.  ``Design.info['lr_fill']`` says which rule was used per run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ScalelawError
from ..schedules import detect_warmup, parse_schedule
from .base import Design, Law

INF = float("inf")
#: longest per-step LR history a run may have (8 bytes a step)
MAX_STEPS = 200_000_000


@dataclass
class Run:
    """One run: per-step LRs ``eta`` (steps 0..T) and the steps where the law is evaluated."""

    label: Any
    eta: np.ndarray
    steps: np.ndarray            # int, sorted, evaluation steps
    rows: np.ndarray             # positions of the evaluation rows in the design
    warmup: int = 0
    fill: str = ""
    N: float | None = None
    cache: dict = field(default_factory=dict, repr=False)


def runs_from_frame(frame, target, warmup, schedule, need_N=False) -> tuple[list[Run], np.ndarray | None, dict]:
    """Split a frame into runs with dense per-step LRs (see the module docstring)."""
    cols_ = list(map(str, frame.columns)) if hasattr(frame, "columns") else list(frame)
    for v in ("step", "lr"):
        if v not in frame:
            raise ScalelawError(f"an LR-schedule law needs columns step and lr; the data have: "
                                f"{', '.join(cols_)}; name the {v} column", option=v)
    step = np.asarray(frame["step"], dtype=float)
    lr = np.asarray(frame["lr"], dtype=float)
    n_rows = len(step)
    y = None
    if target is not None and target in frame:
        y = np.asarray(frame[target], dtype=float)
    run = np.asarray(frame["run"]) if "run" in frame else np.zeros(n_rows, dtype=int)
    Ncol = np.asarray(frame["N"], dtype=float) if need_N and "N" in frame else None
    if need_N and Ncol is None:
        raise ScalelawError(f"momentum_n needs a model-size column N; the data have: {', '.join(cols_)}")
    if not np.all(np.isfinite(step)):
        raise ScalelawError("step has missing or non-numeric values; every row needs a step")
    if np.any(step < 0) or np.any(step != np.round(step)):
        raise ScalelawError("steps must be whole numbers >= 0")
    sched = parse_schedule(schedule) if schedule is not None else None
    labels, first = np.unique(run, return_index=True)
    order = labels[np.argsort(first)]
    runs: list[Run] = []
    out_rows = []
    for lab in order:
        idx = np.flatnonzero(run == lab)
        st = step[idx].astype(np.int64)
        bad = np.flatnonzero(np.diff(st) <= 0)
        if len(bad):
            i = bad[0]
            what = "is repeated" if st[i + 1] == st[i] else f"comes after step {st[i]}"
            raise ScalelawError(f"run {lab}: step {st[i + 1]} {what}; steps must increase "
                                f"within a run (give restarted or separate runs a run column)")
        lr_run = lr[idx]
        known = np.isfinite(lr_run)
        if not known.any():
            raise ScalelawError(f"run {lab}: no learning rates; the lr column is empty")
        badlr = known & ((lr_run < 0) | ((lr_run == 0) & (st > 0)))
        if badlr.any():
            j = np.flatnonzero(badlr)[0]
            raise ScalelawError(f"run {lab}: lr must be positive, but step {st[j]} has lr={lr_run[j]:g} "
                                f"(only step 0 may have lr 0); drop the rows with lr <= 0, "
                                f"e.g. the last step of a schedule that decays to 0")
        ks, kl = st[known], lr_run[known]
        T = int(st[-1])
        if T > MAX_STEPS:
            raise ScalelawError(f"run {lab}: step {T} is beyond the {MAX_STEPS:.0e} steps an LR "
                                "history can hold in memory; check the step column (tokens?)")
        full = np.arange(T + 1, dtype=float)
        eta = np.interp(full, ks, kl)
        s0 = int(ks[0])
        if s0 > 0:
            if sched is not None:
                eta[:s0] = sched(full[:s0])
                fill = f"LR before step {s0} from schedule {getattr(sched, 'spec', sched.name)}"
            elif warmup is not None and int(warmup) > 0:
                W = int(warmup)
                if W <= s0:
                    eta[:W] = np.linspace(0.0, kl[0], W)
                    eta[W:s0] = kl[0]
                else:  # logs start inside the warmup: linear from 0 to the first logged LR
                    eta[:s0] = kl[0] * full[:s0] / s0
                fill = f"LR before step {s0}: linear warmup from 0 over {W} steps (warmup={W})"
            else:
                eta[:s0] = kl[0] * full[:s0] / s0
                fill = (f"LR before step {s0}: linear from 0 at step 0 to the first logged LR "
                        f"(no warmup given)")
        else:
            fill = "LR logged from step 0"
        if y is not None:
            obs = np.isfinite(y[idx])
            if np.any(y[idx][obs] <= 0):
                raise ScalelawError(f"run {lab}: loss must be positive (cross-entropy in nats); "
                                    "check which column is the loss", option="loss")
        else:
            obs = np.ones(len(idx), dtype=bool)
        obs &= st > 0  # S1(0) = 0: the laws are undefined at step 0
        W = int(warmup) if warmup is not None else detect_warmup(eta)
        r = Run(label=lab, eta=eta, steps=st[obs], rows=np.array([], dtype=int), warmup=W, fill=fill)
        if Ncol is not None:
            nv = Ncol[idx]
            if not np.all(np.isfinite(nv)) or np.any(nv <= 0) or np.ptp(nv) > 0:
                raise ScalelawError(f"run {lab}: N must be one positive number per run")
            r.N = float(nv[0])
        runs.append(r)
        out_rows.append(idx[obs])
    pos = 0
    for r, rows in zip(runs, out_rows):
        r.rows = np.arange(pos, pos + len(rows))
        pos += len(rows)
    sel = np.concatenate(out_rows) if out_rows else np.array([], dtype=int)
    if pos == 0:
        raise ScalelawError("no rows to fit or evaluate: every row lacks a loss (or is step 0)")
    yy = y[sel] if y is not None else None
    info = {"lr_fill": {str(r.label): r.fill for r in runs},
            "warmup": {str(r.label): r.warmup for r in runs}}
    if "weight" in frame:
        w = np.asarray(frame["weight"], dtype=float)[sel]
        if not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
            raise ScalelawError("weights must be finite, non-negative and not all zero")
        info["weights"] = w
    return runs, yy, info


def _power_part(S1, L0, A, alpha):
    """``L0 + A·S1^−α`` and its derivatives w.r.t. ``(L0, A, α)`` (the laws' shared term)."""
    t = S1 ** -alpha
    return L0 + A * t, [np.ones_like(S1), t, -A * t * np.log(S1)]


class CurveLaw(Law):
    """Shared machinery: options ``warmup`` / ``schedule`` for the LR before the first
    logged step, per-run designs, batched evaluation."""

    variables = ("step", "lr")
    target = "loss"
    _need_N = False
    #: per-step logs in, loss curves out; rows without a loss carry the LR between losses
    predicts_curves = True

    def __init__(self, warmup: int | None = None, schedule: str | None = None):
        self.warmup = None if warmup is None else int(warmup)
        self.schedule = schedule
        super().__init__()

    def config(self) -> dict:
        c = {}
        if self.warmup is not None:
            c["warmup"] = self.warmup
        if self.schedule is not None:
            c["schedule"] = str(self.schedule)
        return c

    # -- data ----------------------------------------------------------------------------
    def prepare(self, frame, target: str | None = "y") -> Design:
        runs, y, info = runs_from_frame(frame, target, self.warmup, self.schedule, self._need_N)
        groups = np.concatenate([np.full(len(r.steps), str(r.label), dtype=object) for r in runs])
        return Design(x=self.features(runs), y=y, groups=groups, info=info)

    def warmups(self, frame) -> dict:
        """Each run's warmup length in steps (the law's ``warmup`` option, else detected
        from the run's LR as its initial rise), keyed by run label."""
        runs, _, _ = runs_from_frame(frame, None, self.warmup, self.schedule)
        return {r.label: r.warmup for r in runs}

    def design(self, runs: list[Run], y=None) -> Design:
        """A design from :class:`Run` objects built directly (e.g. from schedules)."""
        pos = 0
        for r in runs:
            r.rows = np.arange(pos, pos + len(r.steps))
            pos += len(r.steps)
        groups = np.concatenate([np.full(len(r.steps), str(r.label), dtype=object) for r in runs])
        return Design(x=self.features(runs), y=y, groups=groups,
                      info={"warmup": {str(r.label): r.warmup for r in runs}})

    def features(self, runs: list[Run]) -> dict:
        raise NotImplementedError

    def curve_design(self, source, *, steps=None, every: int | None = None,
                     max_points: int = 1000, warmup: int | None = None):
        """The design of the loss curve under a schedule or a log (see
        :meth:`Law.curve_design`).

        A schedule (spec, :class:`~scalelaw.schedules.Schedule` or per-step LRs ``η_0..η_T``)
        is evaluated at ``steps`` (1..T), else every ``every`` steps (default: about
        ``max_points`` points, always including the last).  A log frame (``step, lr``, and
        ``run``, ``loss``, ``N`` when present) is evaluated at its steps with a loss, or at
        every logged step when it has none; its LR before the first logged step follows
        ``warmup`` (else the law's own rule, see the module docstring).  ``warmup`` of a
        schedule defaults to the law's option, else the LR's initial rise.
        """
        import pandas as pd
        if isinstance(source, pd.DataFrame):
            return self._log_curve(source, every, warmup)
        if self._need_N:
            raise ScalelawError(f"{self.name} needs the run's model size N to predict a curve: "
                                "predict from a log frame with an N column")
        sched = parse_schedule(source)
        T = sched.total
        if steps is None:
            k = every or max(1, int(np.ceil(T / max_points)))
            steps = np.unique(np.r_[np.arange(k, T + 1, k), T])
        steps = np.asarray(steps, dtype=np.int64)
        eta = sched.lrs(max(T, int(steps.max())))
        if np.any(steps <= 0) or np.any(steps >= len(eta)):
            raise ScalelawError(f"prediction steps must lie in 1..{len(eta) - 1} of the schedule")
        W = warmup if warmup is not None else self.warmup
        W = detect_warmup(eta) if W is None else int(W)
        run = Run(label=getattr(sched, "spec", None) or sched.name, eta=np.asarray(eta, dtype=float),
                  steps=steps, rows=np.arange(len(steps)), warmup=W)
        return self.design([run]), pd.DataFrame({"step": steps, "lr": run.eta[steps]})

    def _log_curve(self, frame, every, warmup):
        import pandas as pd
        if "run" not in frame:
            frame = frame.assign(run="run")
        W = self.warmup if warmup is None else int(warmup)
        runs, echo = [], []
        for label, g in frame.groupby("run", sort=False):
            g = g.sort_values("step")
            has = (np.isfinite(g["loss"].to_numpy(dtype=float)) if "loss" in g
                   else np.zeros(len(g), bool))
            got, _, _ = runs_from_frame(g.rename(columns={"loss": "y"}), "y" if has.any() else None,
                                         W, self.schedule, self._need_N)
            r = got[0]
            if every:
                r.steps = r.steps[(r.steps % every == 0) | (r.steps == r.steps.max())]
            e = pd.DataFrame({"run": label, "step": r.steps, "lr": r.eta[r.steps]})
            if has.any():
                e["loss"] = g.set_index("step")["loss"].reindex(r.steps).to_numpy()
            runs.append(r)
            echo.append(e)
        return self.design(runs), pd.concat(echo, ignore_index=True)

    def domain(self, design: Design) -> dict[str, tuple[float, float]]:
        """Ranges of the evaluated ``step`` and ``S1`` and of the per-step ``lr`` up to the
        last evaluated step of each run (used to say when a prediction extrapolates)."""
        x = design.x
        out = {}
        for k in ("step", "S1"):
            if k in x and len(x[k]):
                out[k] = (float(np.min(x[k])), float(np.max(x[k])))
        lrs = [r.eta[1:int(r.steps.max()) + 1] for r in x.get("_runs", ()) if len(r.steps)]
        lrs = [e[e > 0] for e in lrs]
        if any(len(e) for e in lrs):
            out["lr"] = (float(min(e.min() for e in lrs if len(e))), float(max(e.max() for e in lrs if len(e))))
        return out

    # -- batching helpers ------------------------------------------------------------------
    def _batched(self, x, p, one):
        p = np.asarray(p, dtype=float)
        if p.ndim == 1:
            return one(x, p)
        flat = p.reshape(-1, p.shape[-1])
        out = np.stack([one(x, q) for q in flat])
        return out.reshape(p.shape[:-1] + out.shape[1:])



#: the old private names
_LRLaw = CurveLaw
_runs_from_frame = runs_from_frame

__all__ = ["Run", "runs_from_frame", "CurveLaw", "MAX_STEPS"]
