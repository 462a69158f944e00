"""Simulated tables of training runs drawn from a known law, with run-to-run offsets and
evaluation noise: the ground truth for coverage checks of forecast bands.

Model (all on the log scale of the loss, losses in nats)::

    loss[config, seed, eval] = law(x_config) * exp(u[config, seed] + e[config, seed, eval])
    u ~ Normal(0, run_sd²)   one offset per run (a configuration trained with one seed)
    e ~ Normal(0, eval_sd²)  one draw per evaluation of a run (an evaluation set / pass)

so ``run_sd`` and ``eval_sd`` are standard deviations of log loss (≈ relative errors).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import ScalelawError

__all__ = ["simulate_runs"]


def simulate_runs(law, params, design, noise: Mapping[str, float] | float | None = None, *,
                  run_sd: float = 0.0, eval_sd: float = 0.0, n_seeds: int = 1, n_eval: int = 1,
                  seed: int = 0, flops_per_token: float = 6.0) -> pd.DataFrame:
    """Draw a table of runs from ``law`` at ``params``.

    ``simulate_runs(law, params, design, noise)``: ``noise`` is a mapping
    ``{"run_sd": s, "eval_sd": t}`` (also spelled ``{"run": s, "eval": t}``) or one number
    (the run-to-run standard deviation alone); it is another spelling of the keywords
    ``run_sd`` and ``eval_sd`` (give one or the other).

    Parameters
    ----------
    law : a law object or a registered name (``"chinchilla"``).
    params : the true parameters: a mapping name -> value, or a sequence in the order of
        ``law.param_names``.
    design : the configurations (a DataFrame or a dict of columns) with one column per
        variable of the law (for Chinchilla: ``N`` non-embedding parameters and ``D``
        tokens).  Other columns are carried along.
    run_sd : standard deviation of the run-to-run offset ``u`` (log loss); every
        configuration is trained ``n_seeds`` times, each with its own offset.
    eval_sd : standard deviation of the evaluation noise ``e`` (log loss); every run is
        evaluated ``n_eval`` times, each evaluation with its own draw.
    seed : seed of the random generator (the same seed gives the same table).
    flops_per_token : ``k`` in the added column ``C = k·N·D`` (default 6).

    Returns
    -------
    DataFrame with the design's columns, ``C = k·N·D`` (training FLOPs, added when the
    design has ``N`` and ``D`` but no ``C``), ``run`` (an integer label, unique per
    configuration and seed), ``seed`` (0 .. n_seeds−1), ``eval`` (0 .. n_eval−1),
    ``loss_true`` (the law, no noise) and ``loss``; one row per configuration × seed ×
    evaluation, ordered by configuration, then seed, then evaluation.
    """
    from ..laws import get_law

    law = get_law(law)
    if noise is not None:
        run_sd, eval_sd = _noise(noise, run_sd, eval_sd)
    p = _param_vector(law, params)
    frame = pd.DataFrame(design).reset_index(drop=True)
    missing = [v for v in law.variables if v not in frame]
    if missing:
        raise ScalelawError(f"the design lacks {', '.join(missing)} (law {law.name} reads "
                            f"{', '.join(law.variables)}): add the column(s)")
    n_seeds, n_eval = int(n_seeds), int(n_eval)
    if n_seeds < 1 or n_eval < 1:
        raise ScalelawError(f"n_seeds={n_seeds} and n_eval={n_eval} must both be at least 1")
    if not (run_sd >= 0 and eval_sd >= 0):
        raise ScalelawError(f"run_sd={run_sd} and eval_sd={eval_sd} must be non-negative numbers")
    k = float(flops_per_token)
    if not (np.isfinite(k) and k > 0):
        raise ScalelawError(f"flops_per_token={flops_per_token} must be a positive number (6: "
                            "forward and backward pass)")
    if "N" in frame and "D" in frame and "C" not in frame:
        frame["C"] = k * frame["N"].astype(float) * frame["D"].astype(float)
    x = {v: np.asarray(frame[v], dtype=float) for v in law.variables}
    if any(np.any(~(a > 0)) for a in x.values()):
        raise ScalelawError("the design's variables must be positive numbers")
    truth = np.asarray(law.evaluate(x, p), dtype=float)
    if not np.all(truth > 0):
        raise ScalelawError("the law is not positive at every configuration of the design: "
                            "check the parameters")
    rng = np.random.default_rng(seed)
    n_cfg = len(frame)
    u = rng.normal(0.0, float(run_sd), size=(n_cfg, n_seeds)) if run_sd > 0 else np.zeros((n_cfg, n_seeds))
    e = (rng.normal(0.0, float(eval_sd), size=(n_cfg, n_seeds, n_eval)) if eval_sd > 0
         else np.zeros((n_cfg, n_seeds, n_eval)))
    cfg = np.repeat(np.arange(n_cfg), n_seeds * n_eval)
    out = frame.iloc[cfg].reset_index(drop=True)
    out["run"] = np.repeat(np.arange(n_cfg * n_seeds), n_eval)
    out["seed"] = np.tile(np.repeat(np.arange(n_seeds), n_eval), n_cfg)
    out["eval"] = np.tile(np.arange(n_eval), n_cfg * n_seeds)
    out["loss_true"] = truth[cfg]
    out["loss"] = truth[cfg] * np.exp((u[:, :, None] + e).reshape(-1))
    return out


def _noise(noise, run_sd: float, eval_sd: float) -> tuple[float, float]:
    """``(run_sd, eval_sd)`` from the ``noise`` spelling (refused beside the keywords)."""
    if run_sd or eval_sd:
        raise ScalelawError("noise given twice: pass noise= or run_sd=/eval_sd=, not both")
    if isinstance(noise, Mapping):
        names = {"run_sd": "run_sd", "run": "run_sd", "eval_sd": "eval_sd", "eval": "eval_sd"}
        unknown = [str(k) for k in noise if k not in names]
        if unknown:
            raise ScalelawError(f"noise has unknown key(s) {', '.join(unknown)}: use run_sd "
                                "(run-to-run) and eval_sd (evaluation), standard deviations of log loss")
        out = {"run_sd": 0.0, "eval_sd": 0.0}
        for key, v in noise.items():
            out[names[key]] = v
        return _number(out["run_sd"], "run_sd"), _number(out["eval_sd"], "eval_sd")
    return _number(noise, "noise"), 0.0


def _number(v, what: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ScalelawError(f"{what}={v!r} is not a number (a standard deviation of log loss, "
                            "e.g. 0.01)") from None


def _param_vector(law, params: Mapping[str, float] | Any) -> np.ndarray:
    names = list(law.param_names)
    if isinstance(params, Mapping):
        unknown = [k for k in params if k not in names]
        missing = [k for k in names if k not in params]
        if unknown or missing:
            raise ScalelawError(f"parameters of {law.name} are {', '.join(names)}"
                                + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "")
                                + (f"; missing: {', '.join(missing)}" if missing else ""))
        return np.array([float(params[k]) for k in names])
    p = np.asarray(params, dtype=float).reshape(-1)
    if p.size != len(names):
        raise ScalelawError(f"{p.size} parameter value(s) for {law.name}, which has {len(names)} "
                            f"({', '.join(names)})")
    return p
