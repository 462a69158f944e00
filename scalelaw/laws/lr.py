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

from .curves import MAX_STEPS, CurveLaw, Run, runs_from_frame
from .curves import _LRLaw, _runs_from_frame  # noqa: F401  (old private names)
from .momentum import MomentumLaw, MomentumSizeLaw, S1PowerLaw
from .multipower import MultiPowerLaw, _SaturatedDrop, ld_naive, ld_terms  # noqa: F401

__all__ = ["MomentumLaw", "MomentumSizeLaw", "MultiPowerLaw", "S1PowerLaw", "Run", "CurveLaw",
           "runs_from_frame", "ld_terms", "ld_naive", "MAX_STEPS"]
