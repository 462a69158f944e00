"""The runs a figure draws, in canonical columns, and the fitted range of a result."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ._base import fitted_design


def two_variable(law) -> bool:
    """A law of model size N and data D (Chinchilla, Kaplan, formulas in N and D)."""
    return tuple(sorted(law.variables)) == ("D", "N")


def source(result, var):
    return (getattr(result, "mapping", None) or {}).get(var)


def points(result, data, k):
    """Canonical columns of the runs to draw (``N, D, C, loss`` or ``<var>, loss``): from
    ``data`` when given (column names matched as the fit matched them), else the fitted
    points of a result fitted in this session; None when there are none."""
    law = result.law
    two = two_variable(law)
    if data is None:
        design = fitted_design(result)
        if design is None or design.y is None:
            return None
        out = pd.DataFrame({v: np.asarray(design.x[v], float) for v in law.variables if v in design.x})
        out["loss"] = np.asarray(design.y, float)
    else:
        from ..io.columns import resolve
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        wanted = ("N", "D", "C", "loss") if two else (law.variables[0], "loss")
        mapping = {c: s for c, s in (getattr(result, "mapping", None) or {}).items()
                   if c in wanted and s in frame.columns}
        cols = resolve(frame.columns, wanted, mapping=mapping, required=[], ambiguous=[])
        if "loss" not in cols:
            raise ScalelawError(f"no loss column in the runs to draw; the table has: "
                                f"{', '.join(map(str, frame.columns))}")
        out = pd.DataFrame({c: pd.to_numeric(frame[s], errors="coerce") for c, s in cols.items()})
        if two:
            if "N" not in out or ("D" not in out and "C" not in out):
                raise ScalelawError("the runs to draw need N and D (or N and C) columns")
            if "D" not in out:
                out["D"] = out["C"] / (k * out["N"])
        elif law.variables[0] not in out:
            raise ScalelawError(f"the runs to draw need a {law.variables[0]} column")
    if two and "C" not in out:
        out["C"] = k * out["N"] * out["D"]
    out = out.replace([np.inf, -np.inf], np.nan).dropna()
    return out.reset_index(drop=True) if len(out) else None


def fitted_range(result, x, k):
    """The fitted range of ``x`` (C from the fitted runs, else the corners of the N and D
    ranges), or None."""
    design = fitted_design(result)
    if x == "C" and design is not None and "N" in design.x and "D" in design.x:
        c = k * np.asarray(design.x["N"], float) * np.asarray(design.x["D"], float)
        return float(np.nanmin(c)), float(np.nanmax(c))
    dom = getattr(result, "domain", None) or {}
    if x == "C":
        if "N" in dom and "D" in dom:
            return k * dom["N"][0] * dom["D"][0], k * dom["N"][1] * dom["D"][1]
        return None
    if x in dom:
        return tuple(float(v) for v in dom[x])
    if design is not None and x in design.x:
        v = np.asarray(design.x[x], float)
        return float(np.nanmin(v)), float(np.nanmax(v))
    return None
