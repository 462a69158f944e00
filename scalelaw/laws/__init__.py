"""Law definitions: scaling laws and LR-schedule laws.

``get_law(name_or_formula)`` returns a law object; see :mod:`scalelaw.laws.base` for the
protocol.  Registered names:

===============  =====================================================================
powerlaw         A·x^−α
powerlaw_const   E + A·x^−α
chinchilla       E + A/N^α + B/D^β                       (Hoffmann et al. 2022)
kaplan           [(N_c/N)^(α_N/α_D) + D_c/D]^α_D          (Kaplan et al. 2020)
nmt              β·N_e^−p_e·N_d^−p_d + L_∞               (Ghorbani et al. 2021)
bnsl, bnsl2      broken neural scaling law, 1 or 2 breaks (Caballero et al. 2022)
momentum         L0 + A·S1^−α − C·S2                      (Tissue et al. 2024)
momentum_n       momentum law with model size N
multipower       multi-power law                          (Luo et al. 2025)
s1power          L0 + A·S1^−α (no-annealing baseline)
===============  =====================================================================

Any other string containing an operator is parsed as a formula (``formula.FormulaLaw``).
"""
from __future__ import annotations

from .base import AnchorStage, Design, Law
from .registry import REGISTRY, curve_law_names, get_law, law_class, law_path, register


def __getattr__(name):
    if name == "SCHEDULE_LAWS":   # deprecated: ask the law (``law.predicts_curves``)
        from ..errors import deprecated
        deprecated("scalelaw.laws.SCHEDULE_LAWS", "law.predicts_curves or curve_law_names()")
        return curve_law_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Law", "Design", "AnchorStage", "get_law", "register", "law_class", "law_path",
           "curve_law_names", "REGISTRY"]
