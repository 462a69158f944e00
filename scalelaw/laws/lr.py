"""LR-schedule laws: loss as a function of the step and the whole learning-rate history.

Data are per-step training logs: a frame with ``step``, ``lr``, the observed loss (``y`` for
the engine, may be NaN on rows where only the LR is known), optionally ``run`` (one schedule
per run) and, for :class:`MomentumSizeLaw`, ``N``.  :meth:`prepare` rebuilds each run's
per-step LR ``η_0..η_T`` (steps counted from 0): rows with an LR are interpolated linearly;
before the first row with an LR, the LR comes from the ``schedule`` option (a spec, see
:mod:`scalelaw.schedules`), else from the ``warmup`` option (linear from 0 over ``W`` steps,
then the first logged LR), else it is taken as linear from 0 at step 0 to the first logged
LR.  ``Design.info['lr_fill']`` says which rule was used per run.

Laws (parameters in the order of ``param_names``; S1 in LR·steps):

* :class:`MomentumLaw`  ``L0 + A·S1^−α − C·S2`` (Tissue et al. 2024; warmup steps counted
  at ``η_max``; ``λ`` fixed (default 0.999) or fitted with ``fit_lambda=True``).
* :class:`MomentumSizeLaw`  ``L0 + A·S1^−α + B·N^−β − C·S2·N^γ``.
* :class:`MultiPowerLaw`  ``L0 + A·(S1 + S_W)^−α − LD`` (Luo et al. 2025); ``convention=
  'released'`` (default) follows the released code (plain cumulative LR including the warmup
  ramp, LD summed from step 1), ``'paper'`` counts steps from the end of warmup with
  ``S_W = ½·η_max·W``.
* :class:`S1PowerLaw`  ``L0 + A·S1^−α`` (no-annealing baseline, momentum warmup convention).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ScalelawError
from ..schedules import (detect_warmup, momentum_lrs, parse_schedule, s1_area, s2_momentum,
                         warmup_area)
from .._blas import single_threaded_blas
from .base import AnchorStage, Design, Law

INF = float("inf")
#: longest per-step LR history a run may have (8 bytes a step)
MAX_STEPS = 200_000_000
#: elements per chunk of the (observations × LR changes) LD matrix
_CHUNK = 1 << 21


# -- per-run data ---------------------------------------------------------------------------

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


def _runs_from_frame(frame, target, warmup, schedule, need_N=False) -> tuple[list[Run], np.ndarray | None, dict]:
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
        l = lr[idx]
        known = np.isfinite(l)
        if not known.any():
            raise ScalelawError(f"run {lab}: no learning rates; the lr column is empty")
        badlr = known & ((l < 0) | ((l == 0) & (st > 0)))
        if badlr.any():
            j = np.flatnonzero(badlr)[0]
            raise ScalelawError(f"run {lab}: lr must be positive, but step {st[j]} has lr={l[j]:g} "
                                f"(only step 0 may have lr 0); drop the rows with lr <= 0, "
                                f"e.g. the last step of a schedule that decays to 0")
        ks, kl = st[known], l[known]
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


class _LRLaw(Law):
    """Shared machinery: options ``warmup`` / ``schedule`` for the LR before the first
    logged step, per-run designs, batched evaluation."""

    variables = ("step", "lr")
    target = "loss"
    _need_N = False
    #: per-step logs in, loss curves out; rows without a loss carry the LR between losses
    predicts_curves = True
    #: the warmup conventions the law offers (its ``convention`` option); ``fit_lr`` with
    #: ``convention="auto"`` fits each of :attr:`auto_conventions` and keeps the best
    conventions: tuple[str, ...] = ()
    auto_conventions: tuple[str, ...] = ()

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
        runs, y, info = _runs_from_frame(frame, target, self.warmup, self.schedule, self._need_N)
        groups = np.concatenate([np.full(len(r.steps), str(r.label), dtype=object) for r in runs])
        return Design(x=self.features(runs), y=y, groups=groups, info=info)

    def warmups(self, frame) -> dict:
        """Each run's warmup length in steps (the law's ``warmup`` option, else detected
        from the run's LR as its initial rise), keyed by run label."""
        runs, _, _ = _runs_from_frame(frame, None, self.warmup, self.schedule)
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
            got, _, _ = _runs_from_frame(g.rename(columns={"loss": "y"}), "y" if has.any() else None,
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
        x = design.x
        out = {}
        for k in ("step", "S1"):
            if k in x and len(x[k]):
                out[k] = (float(np.min(x[k])), float(np.max(x[k])))
        return out

    # -- batching helpers ------------------------------------------------------------------
    def _batched(self, x, p, one):
        p = np.asarray(p, dtype=float)
        if p.ndim == 1:
            return one(x, p)
        flat = p.reshape(-1, p.shape[-1])
        out = np.stack([one(x, q) for q in flat])
        return out.reshape(p.shape[:-1] + out.shape[1:])


# -- momentum law ------------------------------------------------------------------------------

class MomentumLaw(_LRLaw):
    """``L(s) = L0 + A·S1(s)^−α − C·S2(s)`` (Tissue et al. 2024).

    ``S1(s) = Σ_{i=1..s} η_i``; ``S2`` from the momentum ``m_i = λ·m_{i−1} + (η_{i−1} − η_i)``
    (``m_1 = 0``); during warmup (steps ``1..W``, ``W`` from the ``warmup`` option or detected
    as the initial rise of the LR) the LR counts as ``η_max``.  ``λ`` is fixed (``lam``,
    default 0.999) unless ``fit_lambda=True`` adds the parameter ``lam``.
    """

    name = "momentum"
    formula = "L0 + A*S1^-alpha - C*S2"
    linear_params = ("L0", "A", "C")
    log_params = ("A",)
    conventions = ("tissue", "actual")
    auto_conventions = ("tissue", "actual")

    def __init__(self, lam: float = 0.999, fit_lambda: bool = False, warmup: int | None = None,
                 schedule: str | None = None, convention: str = "tissue"):
        if convention not in ("tissue", "actual"):
            raise ScalelawError(f"momentum convention must be 'tissue' or 'actual', not {convention!r}")
        self.convention = convention
        self.lam = float(lam)
        self.fit_lambda = bool(fit_lambda)
        if not 0 < self.lam < 1:
            raise ScalelawError(f"lam must be in (0, 1), got {lam}")
        self.param_names = ("L0", "A", "alpha", "C") + (("lam",) if self.fit_lambda else ())
        super().__init__(warmup, schedule)

    def config(self) -> dict:
        c = super().config()
        c["lam"] = self.lam
        if self.fit_lambda:
            c["fit_lambda"] = True
        if self.convention != "tissue":
            c["convention"] = self.convention
        return c

    def _lrs(self, r):
        """Per-step LRs the areas are computed from: Tissue et al.'s convention counts the
        warmup at η_max; ``convention='actual'`` uses the real LR, ramp included."""
        if self.convention == "actual":
            return np.asarray(r.eta, dtype=float), r.warmup
        return momentum_lrs(r.eta, r.warmup)

    def default_bounds(self):
        b = {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "C": (0.0, INF)}
        if self.fit_lambda:
            b["lam"] = (0.9, 0.99999)
        return b

    def default_grid(self):
        # α of loss-vs-area power laws sits in (0.1, 1.5); λ spans the published 0.99–0.999
        g = {"alpha": [0.2, 0.4, 0.7, 1.0, 1.5]}
        if self.fit_lambda:
            g["lam"] = [0.99, 0.995, 0.999]
        return g

    def features(self, runs):
        S1, S2, st = [], [], []
        for r in runs:
            e, W = self._lrs(r)
            r.cache["eta_m"] = e
            a1 = s1_area(e)
            _, a2 = s2_momentum(e, self.lam)
            S1.append(a1[r.steps])
            S2.append(a2[r.steps])
            st.append(r.steps.astype(float))
        x = {"S1": np.concatenate(S1), "S2": np.concatenate(S2), "step": np.concatenate(st),
             "_runs": runs}
        return x

    def _s2(self, x, lam, deriv: bool = False):
        """S2 at the design rows for a given λ (and dS2/dλ with ``deriv``)."""
        out = np.empty(len(x["S1"]))
        der = np.empty(len(x["S1"])) if deriv else None
        from scipy.signal import lfilter
        for r in x["_runs"]:
            m, s2 = s2_momentum(r.cache["eta_m"], lam)
            out[r.rows] = s2[r.steps]
            if deriv:
                dm = lfilter([1.0], [1.0, -lam], np.r_[0.0, m[:-1]])
                der[r.rows] = np.cumsum(dm)[r.steps]
        return out, der

    def _S2_for(self, x, p):
        if self.fit_lambda:
            return self._s2(x, float(p[4]))[0]
        return x["S2"]

    def basis(self, x, p):
        def one(x, q):
            S2 = self._S2_for(x, q)
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2], -S2], axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return q[0] + q[1] * x["S1"] ** -q[2] - q[3] * self._S2_for(x, q)
        return self._batched(x, p, one)

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        """Prediction and Jacobian sharing one S2 filter pass (and dS2/dλ when λ is fitted)."""
        p = np.asarray(p, dtype=float)
        power, cols_ = _power_part(x["S1"], p[0], p[1], p[2])
        if self.fit_lambda:
            S2, dS2 = self._s2(x, float(p[4]), deriv=True)
            cols_ += [-S2, -p[3] * dS2]
        else:
            S2 = x["S2"]
            cols_ += [-S2]
        return power - p[3] * S2, np.stack(cols_, axis=-1)


class S1PowerLaw(MomentumLaw):
    """``L(s) = L0 + A·S1(s)^−α``: the no-annealing baseline (S1 as in the momentum law)."""

    name = "s1power"
    formula = "L0 + A*S1^-alpha"
    linear_params = ("L0", "A")

    def __init__(self, warmup: int | None = None, schedule: str | None = None,
                 convention: str = "tissue"):
        super().__init__(warmup=warmup, schedule=schedule, convention=convention)
        self.param_names = ("L0", "A", "alpha")
        self.bounds = {k: v for k, v in self.bounds.items() if k in self.param_names}

    def config(self) -> dict:
        c = _LRLaw.config(self)
        if self.convention != "tissue":
            c["convention"] = self.convention
        return c

    def basis(self, x, p):
        def one(x, q):
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2]], axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return q[0] + q[1] * x["S1"] ** -q[2]
        return self._batched(x, p, one)

    def evaluate_with_jacobian(self, x, p):   # not the momentum law's shared pass
        return self.evaluate(x, p), self.jacobian(x, p)

    def jacobian(self, x, p):
        p = np.asarray(p, dtype=float)
        t = x["S1"] ** -p[2]
        return np.stack([np.ones_like(t), t, -p[1] * t * np.log(x["S1"])], axis=-1)


class MomentumSizeLaw(MomentumLaw):
    """``L(s, N) = L0 + A·S1^−α + B·N^−β − C·S2·N^γ`` (Tissue et al. 2024, with model size N
    in parameters, one N per run)."""

    name = "momentum_n"
    variables = ("step", "lr", "N")
    formula = "L0 + A*S1^-alpha + B*N^-beta - C*S2*N^gamma"
    linear_params = ("L0", "A", "B", "C")
    log_params = ("A", "B")
    _need_N = True

    def __init__(self, lam: float = 0.999, warmup: int | None = None, schedule: str | None = None,
                 convention: str = "tissue"):
        super().__init__(lam=lam, fit_lambda=False, warmup=warmup, schedule=schedule,
                         convention=convention)
        self.param_names = ("L0", "A", "alpha", "B", "beta", "C", "gamma")
        self.bounds = dict(self.default_bounds())
        self.start_grid = {k: np.asarray(v, dtype=float) for k, v in self.default_grid().items()}

    def config(self):
        c = _LRLaw.config(self)
        c["lam"] = self.lam
        if self.convention != "tissue":
            c["convention"] = self.convention
        return c

    def default_bounds(self):
        return {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "B": (0.0, INF),
                "beta": (1e-3, 2.0), "C": (0.0, INF), "gamma": (-1.0, 1.0)}

    def default_grid(self):
        return {"alpha": [0.3, 0.6, 1.0], "beta": [0.1, 0.3, 0.6], "gamma": [-0.3, 0.0, 0.3]}

    def features(self, runs):
        x = super().features(runs)
        x["N"] = np.concatenate([np.full(len(r.steps), r.N) for r in runs])
        return x

    def basis(self, x, p):
        def one(x, q):
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2], x["N"] ** -q[4],
                             -x["S2"] * x["N"] ** q[6]], axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return (q[0] + q[1] * x["S1"] ** -q[2] + q[3] * x["N"] ** -q[4]
                    - q[5] * x["S2"] * x["N"] ** q[6])
        return self._batched(x, p, one)

    def evaluate_with_jacobian(self, x, p):   # not the momentum law's shared pass
        return self.evaluate(x, p), self.jacobian(x, p)

    def jacobian(self, x, p):
        p = np.asarray(p, dtype=float)
        S1, N, S2 = x["S1"], x["N"], x["S2"]
        t1, t2, t3 = S1 ** -p[2], N ** -p[4], S2 * N ** p[6]
        return np.stack([np.ones_like(S1), t1, -p[1] * t1 * np.log(S1), t2, -p[3] * t2 * np.log(N),
                         -t3, -p[5] * t3 * np.log(N)], axis=-1)


# -- multi-power law ---------------------------------------------------------------------------

def ld_terms(Pt, d, eta_k, Pkm1, C, beta, gamma, jac=False, dtype=np.float64, cache=None):
    """``Σ_k d_k·G(η_k^−γ·max(P_t − P_{k−1}, 0))`` for each ``P_t`` (vectorized, chunked).

    ``G(x) = 1 − (C·x + 1)^−β``.  Terms with ``P_{k−1} ≥ P_t`` (changes after ``t``)
    vanish, so each block of observations only touches the changes before its last step.
    With ``jac=True`` also returns the derivatives w.r.t. ``C, β, γ`` (shape ``(n, 3)``).
    ``dtype=np.float32`` evaluates the transcendental part in single precision (each term's
    absolute error stays below ~1e-7·|d_k|; sums are accumulated in double precision).
    ``cache``: a list that keeps the area blocks ``S_k(t)`` between calls (same data).
    """
    Pt = np.asarray(Pt, dtype=float)
    n, K = len(Pt), len(d)
    out = np.zeros(n)
    J = np.zeros((n, 3)) if jac else None
    if K == 0 or n == 0:
        return (out, J) if jac else out
    with np.errstate(over="ignore"):   # an LR of 0 gives η^-γ = inf: G saturates at 1
        a = np.minimum(np.maximum(eta_k, 1e-300) ** -gamma, np.finfo(dtype).max / 1e8).astype(dtype)
    loge = np.log(np.maximum(eta_k, 1e-300)) if jac else None
    C_, mb = dtype(C), dtype(-beta)
    if cache is not None and cache:
        blocks = cache
    else:
        order = np.argsort(Pt, kind="stable")
        rows = int(min(max(1, _CHUNK // K), 64))
        blocks = []
        for c0 in range(0, n, rows):
            sel = order[c0:c0 + rows]
            kmax = int(np.searchsorted(Pkm1, Pt[sel].max(), side="left"))  # P_{k-1} < P_t
            if kmax:
                blocks.append((sel, kmax, None))
        if cache is not None:
            cache.extend((sel, kmax, _areas(Pt, Pkm1, sel, kmax, dtype)) for sel, kmax, _ in blocks)
            blocks = cache
    # work buffers reused by every block: fresh multi-megabyte arrays per block cost more in
    # page faults than the arithmetic (a fit spent a third of its time in the kernel)
    if not blocks:   # every evaluated step comes before the first LR change
        return (out, J) if jac else out
    size = max(len(sel) * kmax for sel, kmax, _ in blocks)
    buf = {}

    def work(name, shape, dt=dtype):
        b = buf.get(name)
        if b is None:
            b = buf[name] = np.empty(size, dtype=dt)
        return b[:shape[0] * shape[1]].reshape(shape)

    def wide64(arr):
        """``arr`` in double precision (a reused buffer when it is single)."""
        if arr.dtype == np.float64:
            return arr
        w = work("wide", arr.shape, np.float64)
        w[...] = arr
        return w

    dkl = d * loge if jac else None
    for sel, kmax, S in blocks:
        dk = d[:kmax]
        shape = (len(sel), kmax)
        M = work("M", shape)
        if S is None:
            _areas(Pt, Pkm1, sel, kmax, dtype, out=M)
            M *= a[:kmax]
        else:
            np.multiply(S, a[:kmax], out=M)      # x = η_k^-γ·S_k(t)
        if jac:
            x = work("x", shape)
            x[...] = M
        M *= C_
        M += 1.0
        np.log(M, out=M)                         # u = log(1 + Cx)
        if jac:
            u = work("u", shape)
            u[...] = M
        M *= mb
        np.exp(M, out=M)                         # v = (1 + Cx)^-β; G = 1 - v
        out[sel] = dk.sum() - wide64(M) @ dk    # sums in double precision
        if jac:
            np.multiply(M, u, out=u)
            J[sel, 1] = wide64(u) @ dk                                     # dG/dβ
            den = work("den", shape)
            np.multiply(x, C_, out=den)
            den += 1.0
            M /= den                                                       # (1 + Cx)^(-β-1)
            M *= x
            v = wide64(M)
            J[sel, 0] = beta * (v @ dk)                                    # dG/dC
            J[sel, 2] = -(beta * C) * (v @ dkl[:kmax])                     # dG/dγ
    return (out, J) if jac else out


def _areas(Pt, Pkm1, sel, kmax, dtype, out=None):
    """``max(P_t − P_{k−1}, 0)`` for the rows ``sel`` and the first ``kmax`` changes (into
    ``out`` when given)."""
    if out is not None:
        np.subtract(Pt[sel, None], Pkm1[None, :kmax], out=out, casting="unsafe")
        return np.maximum(out, 0.0, out=out)
    S = np.subtract(Pt[sel, None], Pkm1[None, :kmax])
    np.maximum(S, 0.0, out=S)
    return S.astype(dtype, copy=False)


class _SaturatedDrop(Law):
    """The multi-power law's saturated limit (every LR decrease fully acted, G ≡ 1):
    ``L0 + A·S1^−α − B·drop`` with ``drop = Σ_k (η_{k−1} − η_k)`` over the law's LD range.
    Linear in ``L0, A, B``; only α is searched.  Used by :meth:`MultiPowerLaw.anchor_stage`."""

    name = "multipower_saturated"
    variables = ("S1", "drop")
    param_names = ("L0", "A", "alpha", "B")
    formula = "L0 + A*S1^-alpha - B*drop"
    linear_params = ("L0", "A", "B")
    log_params = ("A",)

    def default_bounds(self):
        return {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "B": (0.0, INF)}

    def default_grid(self):
        return {"alpha": np.geomspace(0.05, 2.0, 12)}

    def basis(self, x, p):
        p = np.asarray(p, dtype=float)
        t = x["S1"] ** -p[..., 2, None]
        return np.stack([np.ones_like(t), t, np.broadcast_to(-x["drop"], t.shape)], axis=-1)

    def evaluate(self, x, p):
        p = np.asarray(p, dtype=float)
        return (p[..., 0, None] + p[..., 1, None] * x["S1"] ** -p[..., 2, None]
                - p[..., 3, None] * x["drop"])

    def evaluate_with_jacobian(self, x, p):
        return self.evaluate(x, p), self.jacobian(x, p)

    def jacobian(self, x, p):
        p = np.asarray(p, dtype=float)
        power, cols_ = _power_part(x["S1"], p[0], p[1], p[2])
        return np.column_stack(cols_ + [-x["drop"]])


def ld_naive(eta, t, C, beta, gamma, k0=1):
    """Reference O(T²) loop: ``Σ_{k=k0..t} (η_{k−1} − η_k)·G(η_k^−γ·Σ_{τ=k..t} η_τ)``."""
    tot = 0.0
    for k in range(k0, t + 1):
        S = float(np.sum(eta[k:t + 1]))
        tot += (eta[k - 1] - eta[k]) * (1.0 - (C * eta[k] ** -gamma * S + 1.0) ** -beta)
    return tot


class MultiPowerLaw(_LRLaw):
    """Multi-power law (Luo et al. 2025):
    ``L(t) = L0 + A·(S1(t) + S_W)^−α − LD(t)``,
    ``LD(t) = B·Σ_k (η_{k−1} − η_k)·G(η_k^−γ·S_k(t))``, ``S_k(t) = Σ_{τ=k..t} η_τ``,
    ``G(x) = 1 − (C·x + 1)^−β``.

    ``convention='released'`` (default; the parameters published with the paper's code use
    it): ``S1 + S_W = Σ_{τ=0..t} η_τ`` over the real LR including the warmup ramp, and LD is
    summed over every step ``k = 1..t``.  ``convention='paper'``: steps counted from the end
    of warmup ``W``, ``S_W = ½·η_max·W``, LD summed over ``k > W``.  Only steps where the LR
    changes contribute to LD; the sum is evaluated exactly on those steps, vectorized.

    ``amplitude`` says how ``B`` (loss drop per unit of LR decrease once the decrease has
    fully acted, G → 1) is estimated.  ``'anchored'`` (default): first the law's saturated
    limit ``L0 + A·(S1 + S_W)^−α − B·Σ_k (η_{k−1} − η_k)`` (G ≡ 1, four parameters) is
    fitted by the same engine, then the other six parameters with that ``B`` held (see
    :meth:`anchor`; the bootstrap repeats both stages).  ``'free'``: all seven jointly, the
    exact optimum of the paper's objective.  On curves up to 24k steps B is weakly identified
    jointly (it trades against β and C: 531–7,262 across six training splits of the paper's
    25M curves) and a large B with an unsaturated G extrapolates the annealing gain far past
    the data; the saturated limit pins B (317–384 on the same splits).  docs/lr.md has the
    numbers.
    """

    name = "multipower"
    param_names = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
    formula = "L0 + A*(S1+S_W)^-alpha - B*sum_k (eta_{k-1}-eta_k)*(1-(C*eta_k^-gamma*S_k(t)+1)^-beta)"
    linear_params = ("L0", "A", "B")
    log_params = ("A", "B", "C")

    conventions = ("released", "paper")
    #: area blocks cached per run up to this many elements (memory: 4 or 8 bytes each)
    cache_elements = 20_000_000
    #: each evaluation touches every (observation, LR change) pair: polish two starts
    n_polish = 2
    costly = True

    def __init__(self, convention: str = "released", warmup: int | None = None,
                 schedule: str | None = None, precision: str = "single",
                 amplitude: str = "anchored"):
        if convention not in ("released", "paper"):
            raise ScalelawError(f"multipower convention must be 'released' or 'paper', not {convention!r}")
        if precision not in ("single", "double"):
            raise ScalelawError(f"precision must be 'single' or 'double', not {precision!r}")
        if amplitude not in ("anchored", "free"):
            raise ScalelawError(f"multipower amplitude must be 'anchored' or 'free', not {amplitude!r}")
        self.convention = convention
        self.precision = precision
        self.amplitude = amplitude
        super().__init__(warmup, schedule)

    def config(self):
        c = super().config()
        if self.convention != "released":
            c["convention"] = self.convention
        if self.precision != "single":
            c["precision"] = self.precision
        if self.amplitude != "anchored":
            c["amplitude"] = self.amplitude
        return c

    def anchor_stage(self, x, weights, fixed):
        """The stage that anchors ``B`` (``amplitude='anchored'``): the saturated limit
        :class:`_SaturatedDrop` on the same rows, solved by the engine before its search
        (with the main fit's weights, objective and any fixed ``L0, A, alpha``).  None when B
        is fixed or ``amplitude='free'``; None with a note when no run's LR changes over the
        fitted steps (B is then left to the joint fit)."""
        if self.amplitude != "anchored" or "B" in fixed:
            return None, None
        drop = np.zeros(len(x["S1"]))
        for r in x["_runs"]:
            c = r.cache
            cum = np.concatenate([[0.0], np.cumsum(c["d"])])
            drop[r.rows] = cum[np.searchsorted(c["k"], r.steps, side="right")]
        fitted = np.asarray(weights) > 0
        span = np.ptp(drop[fitted]) if fitted.any() else 0.0
        if not span > 1e-9 * max(np.max(np.abs(drop)), 1e-300):
            return None, ("B not anchored: the LR does not change over the fitted steps of any run "
                          "(B fitted jointly and weakly identified)")
        note = ("B = {B:.6g} anchored by the saturated limit G ≡ 1 "
                "(L0 + A·S1^-alpha - B·Σ LR decreases); asymptotic errors are "
                "conditional on it, the bootstrap refits both stages")
        return AnchorStage(_SaturatedDrop(), {"S1": x["S1"], "drop": drop}, ("B",), note), None

    def default_bounds(self):
        return {"L0": (0.0, INF), "A": (1e-12, INF), "alpha": (1e-3, 3.0), "B": (0.0, INF),
                "C": (1e-6, 1e6), "beta": (1e-3, 1.0), "gamma": (1e-3, 1.0)}

    def default_grid(self):
        # β, γ ∈ (0, 1) by construction; C spans decades (log-scale parameter)
        return {"alpha": [0.3, 0.6], "C": [0.3, 3.0], "beta": [0.3, 0.7], "gamma": [0.3, 0.7]}

    def features(self, runs):
        S1, st = [], []
        for r in runs:
            eta = r.eta
            P = np.cumsum(eta)                      # P_t = Σ_{τ=0..t} η_τ
            if self.convention == "released":
                k0, base = 1, P
            else:
                W = r.warmup
                k0 = W + 1
                SW = warmup_area(eta, W)
                base = np.zeros_like(P)
                base[W:] = P[W:] - P[W] + SW       # Σ_{τ=W+1..t} η_τ + S_W
                if np.any(r.steps <= W):
                    base[: W + 1] = np.maximum(P[: W + 1], 1e-300)  # inside warmup: plain area
            d = np.zeros_like(eta)
            d[1:] = eta[:-1] - eta[1:]
            d[:k0] = 0.0
            ks = np.flatnonzero(d != 0)
            r.cache.update(P=P, k=ks, d=d[ks], eta_k=eta[ks], Pkm1=P[ks - 1] if len(ks) else ks.astype(float))
            S1.append(base[r.steps])
            st.append(r.steps.astype(float))
        return {"S1": np.concatenate(S1), "step": np.concatenate(st), "_runs": runs}

    def ld(self, x, C, beta, gamma, jac=False):
        """``Σ_k (η_{k−1} − η_k)·G(...)`` at every design row (without the factor B)."""
        n = len(x["S1"])
        out = np.zeros(n)
        J = np.zeros((n, 3)) if jac else None
        dt = np.float32 if self.precision == "single" else np.float64
        with single_threaded_blas():  # matvecs on thin blocks: threads only spin
            for r in x["_runs"]:
                c = r.cache
                key = ("blocks", dt)
                if key not in c and len(r.steps) * len(c["d"]) <= self.cache_elements:
                    c[key] = []
                res = ld_terms(c["P"][r.steps], c["d"], c["eta_k"], c["Pkm1"], C, beta, gamma,
                               jac, dt, c.get(key))
                if jac:
                    out[r.rows], J[r.rows] = res
                else:
                    out[r.rows] = res
        return (out, J) if jac else out

    def basis(self, x, p):
        def one(x, q):
            return np.stack([np.ones_like(x["S1"]), x["S1"] ** -q[2], -self.ld(x, q[4], q[5], q[6])],
                            axis=-1)
        return self._batched(x, p, one)

    def evaluate(self, x, p):
        def one(x, q):
            return q[0] + q[1] * x["S1"] ** -q[2] - q[3] * self.ld(x, q[4], q[5], q[6])
        return self._batched(x, p, one)

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        """Prediction and Jacobian from one pass over the LD terms."""
        p = np.asarray(p, dtype=float)
        power, cols_ = _power_part(x["S1"], p[0], p[1], p[2])
        ld, J = self.ld(x, p[4], p[5], p[6], jac=True)
        return power - p[3] * ld, np.column_stack(cols_ + [-ld, -p[3] * J[:, 0], -p[3] * J[:, 1],
                                                           -p[3] * J[:, 2]])


__all__ = ["MomentumLaw", "MomentumSizeLaw", "MultiPowerLaw", "S1PowerLaw", "Run",
           "ld_terms", "ld_naive"]
