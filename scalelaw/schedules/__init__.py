"""Learning-rate schedules as objects, their spec grammar, and LR areas.

Conventions
-----------
* Steps are optimizer steps counted from 0.  A schedule maps step ``s`` to the LR ``η_s``
  used at that step (per-step LR, in the optimizer's units).
* A schedule is a sequence of *phases*.  A phase of length ``L`` starting at step ``b``
  evaluates its shape at ``f = (s − b) / L`` in ``[0, 1)``; decays therefore reach their end
  value at the first step of the next phase, and the last phase reaches its end value at
  step ``total`` (``cosine`` with ``steps=T`` has ``η_T = final``).  Steps at or beyond
  ``total`` keep that end value.
* Warmup is linear from 0 at step 0 to ``peak`` at step ``W − 1`` (``linspace(0, peak, W)``,
  the convention of the multi-power-law release); the main phase starts at step ``W``.
* Areas: ``S1(s) = Σ_{i=1..s} η_i`` (LR·steps).  ``S2`` is the annealing area of Tissue et
  al. (2024): ``m_i = λ·m_{i−1} + (η_{i−1} − η_i)``, ``m_1 = 0``, ``S2(s) = Σ_{i=1..s} m_i``,
  computed as a linear filter in O(T).  :func:`momentum_areas` applies their warmup
  convention (LR taken as ``η_max`` for steps ``1..W``).

Modules: ``_core`` (:class:`Phase`, :class:`Schedule`, composition, shapes), ``_families``
(the constructors, whose signatures define the spec keys, and :data:`RANGES`), ``_grammar``
(:func:`parse_schedule` through :mod:`scalelaw.spec`), ``_areas`` (S1, S2, warmup
conventions).

Spec grammar (``parse_schedule``)::

    SPEC  := PART ('+' PART)*                      parts are concatenated in time
    PART  := KIND ':' KEY=VALUE (',' KEY=VALUE)*
    KIND  := constant | cosine | linear | wsd | multistep | invsqrt | cyclic | rewarmup
             | warmup | file

Keys are the constructors' parameters, with their defaults: ``peak`` (or ``lr``),
``final`` (default 0), ``steps`` (length of the part, warmup included), ``warmup``
(default 0); ``wsd``: ``cooldown`` (fraction < 1 or steps ≥ 1, default 0.2), ``shape`` =
linear | cosine | sqrt (1−sqrt) | exp; ``multistep``: ``milestones=0.8/0.9`` (fractions or
steps), ``factors=0.316/0.1`` or ``split=8-1-1``; ``invsqrt``: ``timescale`` (default the
warmup); ``cyclic``: ``cycles``, ``shape``, ``rewarm`` (steps of linear re-warmup per cycle);
``rewarmup``: ``at`` (fraction or step where the re-warmup starts), ``rewarm`` (steps),
``peak2``, ``shape``; ``file``: ``path``, ``column`` (a CSV of per-step LRs, one row per step
from 0).  Numbers must be finite and within :data:`RANGES`.
Example: ``wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2,shape=linear``.
"""
from ._areas import (detect_warmup, momentum_areas, momentum_lrs, s1_area, s2_momentum,
                     warmup_area)
from ._core import DECAY_SHAPES, SHAPES, Phase, Schedule
from ._families import (RANGES, constant, cosine, cyclic, from_array, from_csv, inverse_sqrt, linear,
                        multistep, rewarmup, warmup_only, wsd)
from ._grammar import GRAMMAR, SPEC, parse_schedule

__all__ = ["Phase", "Schedule", "parse_schedule", "GRAMMAR", "constant", "cosine", "linear",
           "wsd", "multistep", "inverse_sqrt", "cyclic", "rewarmup", "warmup_only",
           "from_array", "from_csv", "detect_warmup", "s1_area", "s2_momentum",
           "momentum_lrs", "momentum_areas", "warmup_area",
           "SHAPES", "DECAY_SHAPES", "RANGES", "SPEC"]
