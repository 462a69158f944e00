"""The law registry: names and import paths -> law classes."""
from __future__ import annotations

import importlib

from ..errors import ScalelawError
from .base import Law

#: name -> "module:Class"; classes are imported on first use
REGISTRY: dict[str, "str | type"] = {
    "powerlaw": "scalelaw.laws.scaling:PowerLaw",
    "powerlaw_const": "scalelaw.laws.scaling:PowerLawConst",
    "chinchilla": "scalelaw.laws.scaling:Chinchilla",
    "kaplan": "scalelaw.laws.scaling:Kaplan",
    "nmt": "scalelaw.laws.scaling:EncoderDecoder",
    "bnsl": "scalelaw.laws.scaling:BNSL",
    "bnsl2": "scalelaw.laws.scaling:BNSL2",
    "shifted_powerlaw": "scalelaw.laws.scaling:ShiftedPowerLaw",
    "data_constrained": "scalelaw.laws.data_constrained:DataConstrained",
    "m4": "scalelaw.laws.m4:M4",
    "lr_batch": "scalelaw.laws.hyperparams:LRBatchLaw",
    "momentum": "scalelaw.laws.momentum:MomentumLaw",
    "momentum_n": "scalelaw.laws.momentum:MomentumSizeLaw",
    "multipower": "scalelaw.laws.multipower:MultiPowerLaw",
    "s1power": "scalelaw.laws.momentum:S1PowerLaw",
    "sigmoid_loss": "scalelaw.laws.downstream:SigmoidLoss",
    "logit": "scalelaw.laws.downstream:LogitLink",
}

#: the laws scalelaw ships (a fit of one of these is rebuilt from its name alone)
BUILTIN: dict[str, str] = dict(REGISTRY)


def register(name: str, cls: type) -> None:
    """Register a law class under ``name`` (then ``get_law(name)`` and ``--law name`` build
    it).  A law can also be named by its import path, ``"package.module:ClassName"``."""
    if not (isinstance(cls, type) and issubclass(cls, Law)):
        raise ScalelawError(f"register needs a Law subclass, not {cls!r}")
    REGISTRY[name.strip().lower()] = cls


def law_path(law: Law) -> str:
    """``"module:ClassName"`` of a law object (what a fit JSON records to rebuild it)."""
    return f"{type(law).__module__}:{type(law).__qualname__}"


def law_class(name: str) -> type:
    """The class a registered name or a ``"module:ClassName"`` path refers to."""
    key = name.strip()
    target = REGISTRY.get(key.lower(), key)
    if isinstance(target, type):   # registered as a class
        return target
    mod, _, cls = target.partition(":")
    try:
        obj = importlib.import_module(mod)
        for part in cls.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        raise ScalelawError(f"cannot import law class {key!r}: give 'package.module:ClassName' "
                            "of an importable module, or a registered name") from None
    if not (isinstance(obj, type) and issubclass(obj, Law)):
        raise ScalelawError(f"{key!r} is not a scalelaw Law class")
    return obj


def curve_law_names() -> tuple[str, ...]:
    """Registered names of the laws that predict loss curves of LR schedules."""
    return tuple(n for n in REGISTRY if law_class(n).predicts_curves)


def get_law(law: str | Law, **config) -> Law:
    """A law object from a name in :data:`REGISTRY`, a ``"module:ClassName"`` path, a
    formula string, or a law (returned as it is)."""
    if isinstance(law, Law):
        return law
    if not isinstance(law, str):
        raise ScalelawError(f"law must be a name or a formula, not {type(law).__name__}")
    key = law.strip().lower()
    if key == "formula" and "formula" in config:   # a formula law rebuilt from its config
        from .formula import FormulaLaw
        return FormulaLaw(**config)
    if key in REGISTRY:
        return law_class(key)(**config)
    if any(ch in law for ch in "+-*/^()"):
        from .formula import FormulaLaw
        return FormulaLaw(law, **config)
    if ":" in law:
        return law_class(law)(**config)
    raise ScalelawError(f"unknown law {law!r}; choose one of {', '.join(REGISTRY)}, give a "
                        "formula such as 'E + A*N**-alpha', or a class as 'package.module:ClassName'")


__all__ = ["REGISTRY", "get_law", "register", "law_class", "law_path", "curve_law_names"]
