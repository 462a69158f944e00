"""A loss surface over learning rate and batch size whose optimum moves with compute
(DeepSeek-LLM 2024 style hyperparameter laws, REFERENCE §13).

Fitted to a sweep table: one row per run with its compute ``C`` (FLOPs, ``C = 6·N·D`` when
derived), its peak learning rate ``lr`` and its batch size ``batch_size`` (tokens per
optimizer step: DeepSeek's convention; sequences per step work too, only ``B0`` changes by
the sequence length), and the final ``loss`` (nats per token)::

    L = E + G·C^−γ + k_lr·ln(lr/η_opt(C))² + k_bs·ln(batch_size/B_opt(C))²
    η_opt(C) = η0·C^a,    B_opt(C) = B0·C^b

At each budget the loss is a bowl in (ln lr, ln batch_size) whose bottom, ``E + G·C^−γ``, is
the best loss reachable at that compute and whose centre moves along the two power laws.
``k_lr`` and ``k_bs`` (≥ 0, nats per squared e-fold) are the curvatures: how much loss a
factor ``e`` away from the optimal LR or batch size costs.  DeepSeek-LLM report
``η_opt = 0.3118·C^−0.1250`` and ``B_opt = 0.2920·C^0.3271`` (C = M·D FLOPs, see below; B
in tokens).

The bowl is separable and quadratic in logs: a local model of the surface near its optimum.
Fit it on runs within a few e-folds of the best LR and batch size at each budget; far off
(divergent LRs, tiny batches) the true surface is not a parabola.  The optimum is identified
only when each budget's sweep brackets it; a sweep that does not vary the batch size leaves
``B0, b`` unidentified and ``k_bs`` on its lower bound, which the results say.  With
``C_ref`` the power laws read ``η0·(C/C_ref)^a`` (so ``η0`` is the optimal LR at ``C_ref``);
the default ``C_ref = 1`` gives coefficients in DeepSeek's form.  They are DeepSeek's numbers
only for DeepSeek's compute: their ``C = M·D`` with ``M = 72·n_layer·d_model² +
12·n_layer·d_model·l_seq`` the non-embedding FLOPs per token *including attention*, not
``6·N·D`` with ``N`` the non-embedding parameters (``6·N = 72·n_layer·d_model²``), which
leaves out the attention term: ``M = 6·N·(1 + l_seq/(6·d_model))``, a factor that changes
with the model shape.  To compare with DeepSeek's coefficients, give a column ``C``
computed as ``M·D``.

:func:`scalelaw.fitting.hyperparams.optimal_hparams` gives ``η_opt``, ``B_opt`` and ``L*``
of a fit at chosen budgets with intervals (per bootstrap draw, fixed parameters included);
on the command line ``scalelaw predict FIT.json --optimum C ...``.

:func:`scalelaw.fitting.hyperparams.fit_hyperparams` is DeepSeek's own procedure (keep the
runs within 0.25% of each budget's best loss, fit power laws to their LRs and batch sizes).
"""
from __future__ import annotations

import numpy as np

from ..errors import ScalelawError
from .base import INF, Design, Law, cols


class LRBatchLaw(Law):
    """Loss over (compute, learning rate, batch size) with optimal LR and batch size as
    power laws of compute; see the module docstring."""

    name = "lr_batch"
    variables = ("C", "lr", "batch_size")
    param_names = ("E", "G", "gamma", "eta0", "a", "B0", "b", "k_lr", "k_bs")
    linear_params = ("E", "G", "k_lr", "k_bs")
    log_params = ("E", "G", "eta0", "B0")

    def __init__(self, C_ref: float = 1.0):
        c = float(C_ref)
        if not (np.isfinite(c) and c > 0):
            raise ScalelawError(f"C_ref must be a positive number of FLOPs, not {C_ref!r}")
        self.C_ref = c
        ref = "C" if c == 1.0 else f"(C/{c:g})"
        self.formula = (f"E + G*C**-gamma + k_lr*log(lr/(eta0*{ref}**a))**2 "
                        f"+ k_bs*log(batch_size/(B0*{ref}**b))**2")
        super().__init__()

    def config(self):
        return {"C_ref": self.C_ref}

    def default_bounds(self):
        return {"E": (0.0, INF), "G": (0.0, INF), "gamma": (0.0, 5.0),
                "eta0": (1e-300, INF), "a": (-3.0, 3.0), "B0": (1e-300, INF), "b": (-3.0, 3.0),
                "k_lr": (0.0, INF), "k_bs": (0.0, INF)}

    def default_grid(self):
        return {"gamma": [0.03, 0.1, 0.3], "a": [-0.4, -0.15, 0.1], "b": [-0.1, 0.2, 0.5]}

    def grid_for(self, design):
        """Start values for ``η0`` and ``B0`` that put the optimum, for each exponent of the
        grid, within a factor ``e`` of the middle of the swept LRs and batch sizes at the
        middle budget."""
        g = dict(self.start_grid)
        x = design.x
        lc = float(np.mean(np.log(x["C"] / self.C_ref)))
        for scale, var, expo in (("eta0", "lr", "a"), ("B0", "batch_size", "b")):
            if scale in g:
                continue
            mid = float(np.mean(np.log(x[var])))
            ex = np.asarray(g.get(expo, self.start_grid[expo]), dtype=float)
            g[scale] = np.exp((mid - ex[:, None] * lc + np.array([-1.0, 0.0, 1.0])[None, :]).ravel())
        return g

    def prepare(self, frame, target="y"):
        d = super().prepare(frame, target)
        for v in self.variables:
            bad = ~(d.x[v] > 0)
            if bad.any():
                raise ScalelawError(f"law {self.name} needs {v} > 0; {int(bad.sum())} row(s) are not "
                                    f"(select '{v} > 0')", option="where")
        x = dict(d.x)
        x["_lC"] = np.log(x["C"] / self.C_ref)
        x["_llr"] = np.log(x["lr"])
        x["_lbs"] = np.log(x["batch_size"])
        return Design(x=x, y=d.y, groups=d.groups, info=d.info)

    def _logs(self, x):
        if "_lC" not in x:
            x = self.prepare(dict(x), target=None).x
        return x["_lC"], x["_llr"], x["_lbs"]

    def _terms(self, x, gamma, eta0, a, B0, b):
        lC, llr, lbs = self._logs(x)
        tc = np.exp(-gamma * lC)
        dl = llr - np.log(eta0) - a * lC
        db = lbs - np.log(B0) - b * lC
        return lC, tc, dl, db

    def optimum(self, C, p) -> tuple:
        """``(η_opt, B_opt, L*)`` at compute ``C`` (FLOPs) for parameters ``p``: a vector in
        :attr:`param_names` order (or an array of them, shape ``(draws, k)``, which gives one
        row per draw), a mapping (``res.params``), or a table with a column per parameter.

        A fit's bootstrap table ``res.boot`` holds only the drawn parameters (none for fixed
        ones): for optima per draw with intervals use
        :func:`scalelaw.fitting.hyperparams.optimal_hparams` (``optimal_hparams(res, C)``)."""
        if hasattr(p, "keys"):
            missing = [k for k in self.param_names if k not in p.keys()]
            if missing:
                raise ScalelawError(
                    f"no value for {', '.join(missing)} (a fit's bootstrap table res.boot leaves "
                    "out fixed parameters); for optima per draw use "
                    "scalelaw.fitting.hyperparams.optimal_hparams(res, C)")
            if hasattr(p, "columns"):
                p = p[list(self.param_names)].to_numpy(dtype=float)
            else:
                p = np.array([p[k] for k in self.param_names], dtype=float)
        E, G, gamma, eta0, a, B0, b, _, _ = cols(np.asarray(p, dtype=float), 9)
        scalar = np.ndim(C) == 0
        lC = np.log(np.atleast_1d(np.asarray(C, dtype=float)) / self.C_ref)
        out = (eta0 * np.exp(a * lC), B0 * np.exp(b * lC), E + G * np.exp(-gamma * lC))
        out = tuple(o[..., 0] if scalar else o for o in out)
        return tuple(float(o) if np.ndim(o) == 0 else o for o in out)

    def basis(self, x, p):
        E, G, gamma, eta0, a, B0, b, kl, kb = cols(p, 9)
        _, tc, dl, db = self._terms(x, gamma, eta0, a, B0, b)
        tc, dl, db = np.broadcast_arrays(tc, dl, db)
        return np.stack([np.ones_like(tc), tc, dl * dl, db * db], axis=-1)

    def evaluate(self, x, p):
        E, G, gamma, eta0, a, B0, b, kl, kb = cols(p, 9)
        _, tc, dl, db = self._terms(x, gamma, eta0, a, B0, b)
        return E + G * tc + kl * dl * dl + kb * db * db

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        E, G, gamma, eta0, a, B0, b, kl, kb = np.asarray(p, dtype=float)
        lC, tc, dl, db = self._terms(x, gamma, eta0, a, B0, b)
        J = np.empty((len(lC), 9))
        J[:, 0] = 1.0
        J[:, 1] = tc
        J[:, 2] = -G * tc * lC
        J[:, 3] = -2.0 * kl * dl / eta0
        J[:, 4] = -2.0 * kl * dl * lC
        J[:, 5] = -2.0 * kb * db / B0
        J[:, 6] = -2.0 * kb * db * lC
        J[:, 7] = dl * dl
        J[:, 8] = db * db
        return E + G * tc + kl * dl * dl + kb * db * db, J


__all__ = ["LRBatchLaw"]
