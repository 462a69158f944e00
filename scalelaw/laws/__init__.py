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

import importlib

from ..errors import ScalelawError
from .base import Design, Law

#: name -> "module:Class"; classes are imported on first use
REGISTRY: dict[str, str] = {
    "powerlaw": "scalelaw.laws.scaling:PowerLaw",
    "powerlaw_const": "scalelaw.laws.scaling:PowerLawConst",
    "chinchilla": "scalelaw.laws.scaling:Chinchilla",
    "kaplan": "scalelaw.laws.scaling:Kaplan",
    "nmt": "scalelaw.laws.scaling:EncoderDecoder",
    "bnsl": "scalelaw.laws.scaling:BNSL",
    "bnsl2": "scalelaw.laws.scaling:BNSL2",
    "momentum": "scalelaw.laws.lr:MomentumLaw",
    "momentum_n": "scalelaw.laws.lr:MomentumSizeLaw",
    "multipower": "scalelaw.laws.lr:MultiPowerLaw",
    "s1power": "scalelaw.laws.lr:S1PowerLaw",
}

#: names of the laws whose data are per-step training logs (LR-schedule laws)
SCHEDULE_LAWS = ("momentum", "momentum_n", "multipower", "s1power")


def get_law(law, **config) -> Law:
    """Return a law object from a name in :data:`REGISTRY`, a formula string, or a law."""
    if isinstance(law, Law):
        return law
    if not isinstance(law, str):
        raise ScalelawError(f"law must be a name or a formula, not {type(law).__name__}")
    key = law.strip().lower()
    if key == "formula" and "formula" in config:   # a formula law rebuilt from its config
        from .formula import FormulaLaw
        return FormulaLaw(**config)
    if key in REGISTRY:
        mod, cls = REGISTRY[key].split(":")
        return getattr(importlib.import_module(mod), cls)(**config)
    if any(ch in law for ch in "+-*/^()"):
        from .formula import FormulaLaw
        return FormulaLaw(law, **config)
    raise ScalelawError(f"unknown law {law!r}; choose one of {', '.join(REGISTRY)} "
                        f"or give a formula such as 'E + A*N**-alpha'")


__all__ = ["Law", "Design", "get_law", "REGISTRY", "SCHEDULE_LAWS"]
