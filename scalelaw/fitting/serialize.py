"""Fits to and from JSON: what ``scalelaw fit --json`` writes and every command reads.

One reader (:func:`read_fit_json`) gives every way a file can be bad a one-line message;
:func:`result_to_dict` / :func:`result_from_json` are what ``FitResult.to_dict`` and
``FitResult.from_json`` do.  A user's own law class is recorded as ``law_class``
("module:Class") and imported again on reading.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from .objective import Objective


def result_to_dict(self, alpha: float = 0.05) -> dict:
    """The JSON object of a fit (what ``scalelaw fit --json`` writes)."""
    ci = self.conf_int(alpha)
    se = self.stderr

    def num(v):
        v = float(v)
        return v if np.isfinite(v) else None

    d = {
        "law": self.law.name,
        "law_class": _law_class_path(self.law),
        "formula": self.law.formula,
        "config": self.law.config(),
        "params": {k: num(v) for k, v in self.params.items()},
        "stderr": {k: (None if k in self.fixed else num(se.get(k, np.nan))) for k in self.params.index},
        "ci": {k: [num(ci.loc[k, "lower"]), num(ci.loc[k, "upper"])] for k in self.params.index},
        "ci_level": 1 - alpha,
        "ci_method": "bootstrap" if self.boot is not None else "asymptotic",
        "objective": self.objective,
        "n": self.n,
        "dof": self.dof,
        "metrics": {k: num(v) for k, v in self.metrics.items()},
        "fixed": self.fixed,
        "anchored": self.anchored,
        "settings": self.settings.to_dict(),
        "cov": self.cov.to_numpy().tolist(),
        "domain": {k: list(v) for k, v in self.domain.items()},
        "residual_scale": self.residual_scale,
        "bounds": {k: [num(lo), num(hi)] for k, (lo, hi) in self.bounds.items()},
        "columns": self.mapping,
        "notes": self.notes,
        "at_bound": self.at_bound,
    }
    if self.design_info:
        d["data"] = self.design_info
    if self.holdout is not None:
        d["holdout"] = self.holdout
    if self.convergence is not None:
        d["convergence"] = self.convergence.to_dict()
    if self.boot is not None:
        d["bootstrap"] = {k: self.boot[k].tolist() for k in self.boot.columns}
        d["bootstrap_unit"] = self.boot_groups or "points"
    if getattr(self, "compute_range", None) is not None:
        d["compute_range"] = [float(v) for v in self.compute_range]
    if getattr(self, "cv", None) is not None:
        d["cv"] = cv_to_dict(self.cv)
    if getattr(self, "calibration", None) is not None:
        d["calibration"] = self.calibration.to_dict()
    if getattr(self, "components", None) is not None:
        d["components"] = self.components.to_dict()
    if getattr(self, "selection", None) is not None:
        d["selection"] = self.selection.to_dict(alpha)
    return d


def cv_to_dict(cv: pd.DataFrame) -> dict:
    """A cross-validation table as JSON: its kind, rows and means (the per-point errors
    are not written; the calibration built from them is)."""
    from .select import json_records, json_value
    return {"kind": cv.attrs.get("kind"), "rows": json_records(cv),
            "mean": {k: json_value(v) for k, v in (cv.attrs.get("mean") or {}).items()}}


def cv_from_dict(d: dict) -> pd.DataFrame:
    if not isinstance(d, dict) or not isinstance(d.get("rows"), list):
        raise ScalelawError("not a scalelaw fit JSON: \"cv\" must hold the rows of a cross-validation table")
    out = pd.DataFrame(d["rows"])
    out.attrs["kind"] = d.get("kind")
    out.attrs["mean"] = d.get("mean") or {}
    return out


def result_from_json(cls, source):
    """A ``cls`` (:class:`~scalelaw.fitting.results.FitResult`) rebuilt from a fit's JSON
    object, JSON text or file path (for prediction and allocation).  JSON written before B
    was anchored reloads a multi-power fit as the joint fit it was."""
    if isinstance(source, dict):
        d = source
    else:
        d = read_fit_json(source)
    where = "the JSON" if isinstance(source, dict) or str(source).lstrip().startswith("{") else str(source)
    _check_fit_json(d, where)
    try:
        config = dict(d.get("config") or {})
        if d.get("law") == "multipower" and "anchored" not in d:
            config.setdefault("amplitude", "free")   # written before B was anchored
        law = _law_from_json(d, config)
        params = [d["params"][p] for p in law.param_names]
        settings = Objective(**d.get("settings", {}))
        fixed = d.get("fixed", [])
        free = [p for p in law.param_names if p not in fixed and p not in (d.get("anchored") or ())]
        cov = np.asarray(d.get("cov") or np.full((len(free), len(free)), np.nan), dtype=float)
    except (KeyError, TypeError) as e:
        raise ScalelawError(f"not a scalelaw fit JSON: missing or malformed {e}") from None
    res = cls(law, np.asarray(params, dtype=float), fixed, cov, d.get("objective", np.nan), settings,
              d.get("n", 0), anchored=d.get("anchored") or (), domain={k: tuple(v) for k, v in (d.get("domain") or {}).items()},
              residual_scale=d.get("residual_scale"), mapping=d.get("columns"),
              notes=d.get("notes"), metrics=d.get("metrics"), design_info=d.get("data"),
              bounds={k: (-np.inf if lo is None else lo, np.inf if hi is None else hi)
                      for k, (lo, hi) in (d.get("bounds") or {}).items()} or None)
    if d.get("bootstrap"):
        if not isinstance(d["bootstrap"], dict):
            raise ScalelawError("not a scalelaw fit JSON: \"bootstrap\" must map each parameter "
                                "to a list of draws")
        res.boot = pd.DataFrame(d["bootstrap"])
        unit = d.get("bootstrap_unit")
        res.boot_groups = None if unit in (None, "points") else unit
    res.holdout = d.get("holdout")
    if d.get("convergence") is not None:
        from .engine import SolveInfo
        res.convergence = SolveInfo.from_dict(d["convergence"])
    if d.get("compute_range") is not None:
        res.compute_range = tuple(float(v) for v in d["compute_range"])
    if d.get("cv") is not None:
        res.cv = cv_from_dict(d["cv"])
    if d.get("calibration") is not None:
        from .calibration import Calibration
        res.calibration = Calibration.from_dict(d["calibration"])
    if d.get("components") is not None:
        from .components import Components
        res.components = Components.from_dict(d["components"])
    if d.get("selection") is not None:
        from .select import Selection
        res.selection = Selection.from_dict(d["selection"], cls, chosen_result=res)
    return res


#: keys that mark the JSON files other scalelaw commands write (not fits)
_OTHER_JSON = (
    (("rows", "exponents"), "a compute-optimal allocation (written by scalelaw allocate FIT.json --json)"),
    (("method", "budgets"), "an IsoFLOP/envelope allocation (written by scalelaw allocate --isoflop/--envelope --json)"),
    (("rows_read", "dropped"), "a log report (written by scalelaw inspect --json)"),
    (("eval_loss_per_char",), "a training result (written by scalelaw train)"),
    (("entropy_rate", "conditional_entropies"), "a source report (written by scalelaw source --json)"),
)


def _check_fit_json(d: dict, where: str) -> None:
    """Refuse, in one line, a JSON object that is not a fit (another command's output, or
    parameters that are not numbers)."""
    hint = "give the file written by `scalelaw fit --json`"
    if "multi_target" in d:   # scalelaw.fitting.multi.MultiFit's JSON
        targets = ", ".join(map(str, d.get("targets") or ()))
        raise ScalelawError(f"{where} holds the fits of several targets ({targets}); this needs one fit: "
                            "refit one target (--y COL, columns={'loss': COL}), or load it with "
                            "MultiFit.from_json and take .results[TARGET]")
    chain = chain_refusal(d, where)
    if chain:
        raise ScalelawError(chain)
    for keys, what in _OTHER_JSON:
        if all(k in d for k in keys):
            raise ScalelawError(f"{where} is {what}, not a fit; {hint}")
    params = d.get("params")
    if not isinstance(params, dict) or not params:
        raise ScalelawError(f"{where} is not a fit: it has no \"params\" object; {hint}")
    if "law" not in d:
        raise ScalelawError(f"{where} is not a fit: it does not name its \"law\"; {hint}")
    bad = [k for k, v in params.items() if not (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)))]
    if bad:
        raise ScalelawError(f"{where}: parameter {bad[0]} is {params[bad[0]]!r}, not a number; {hint}")


def chain_refusal(d: dict, where: str) -> str | None:
    """The one-line refusal of a two-stage chain's JSON (``scalelaw fit --metric COL``,
    :meth:`scalelaw.fitting.chain.ChainResult.to_dict`) where one fit of the loss is needed,
    or None for any other object."""
    chain = d.get("chain")
    if not (isinstance(chain, dict) and "stage1" in d and "stage2" in d):
        return None
    stage1 = d["stage1"] if isinstance(d["stage1"], dict) else {}
    law, loss = stage1.get("law", "LAW"), chain.get("loss", "loss")
    return (f"{where} is a two-stage chain ({loss} by {law}, then {chain.get('metric', 'the metric')} from "
            f"the loss), not one fit: `scalelaw predict` (ChainResult.from_json) predicts its metric; "
            f"for the loss alone fit it without --metric (scalelaw fit TABLE --law {law} --y {loss} --json "
            "FIT.json)")


def _law_class_path(law):
    """``"module:Class"`` of a law the registry does not build under its name (a user's
    subclass), else None; ``from_json`` imports it to rebuild the law."""
    from ..laws.registry import BUILTIN, law_path
    path = law_path(law)
    return None if BUILTIN.get(law.name.lower()) == path or law.name == "formula" else path


def _law_from_json(d, config):
    """The law of a fit JSON: a registered name (scalelaw's own laws, or one the user has
    registered in this process) first, else the recorded ``law_class`` import path."""
    from ..laws import REGISTRY, get_law, law_class
    name = str(d.get("law", "")).lower()
    if d.get("law_class") and name not in REGISTRY:
        return law_class(d["law_class"])(**config)
    return get_law(d["law"], **config)


def read_fit_json(source) -> dict:
    """The JSON object of a fit: JSON text or a path to the file ``scalelaw fit --json``
    wrote.  Every way the file can be bad is a one-line :class:`ScalelawError`."""
    hint = "give the file written by `scalelaw fit --json`"
    text, where = source, "the text"
    is_text = isinstance(source, bytes) or (isinstance(source, str) and source.lstrip().startswith("{")
                                             and not os.path.exists(source))
    if not is_text:
        where = str(source)
        if not os.path.exists(source):
            raise ScalelawError(f"file not found: {source}")
        if os.path.isdir(source):
            raise ScalelawError(f"{source} is a directory; {hint}")
        try:
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            raise ScalelawError(f"{source} is not a text JSON file; {hint}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScalelawError(f"{where} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); "
                            f"{hint}") from None
    if not isinstance(d, dict):
        raise ScalelawError(f"{where} is not a JSON object; {hint}")
    return d


def dump_json(obj: dict, path=None) -> str:
    """A result's dict as JSON text (numpy numbers as plain ones); written atomically to
    ``path`` when given.  Every result's ``to_json`` goes through here."""
    text = json.dumps(obj, indent=2, default=json_default)
    if path is not None:
        from .._atomic import write_text
        write_text(path, text + "\n")
    return text


def json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot serialize {type(o).__name__}")
