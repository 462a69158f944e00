"""From a user's table to the frame a law prepares: column matching, derived columns,
row filters, and the checks that turn bad input into one-line messages.

The frame handed to :meth:`Law.prepare` has one column per law variable (canonical names),
``y`` (the observed target), and, when present, ``weight``, ``group`` and ``run``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ..expr import select_rows
from ..io.columns import SYNONYMS, resolve, show

#: variables whose values must be positive (power laws take their logarithm)
POSITIVE = ("N", "D", "C", "x", "tokens", "N_e", "N_d")
#: order tried when a one-variable law is given no ``x``
X_DEFAULT_ORDER = ("N", "D", "C", "step", "tokens", "x")
PASS_THROUGH = ("run", "group", "weight", "split")


@dataclass
class Prepared:
    frame: pd.DataFrame                 # canonical columns + y (+ pass-through)
    mapping: dict[str, str]             # canonical -> source column (or 'derived: ...')
    notes: list[str] = field(default_factory=list)
    dropped: int = 0
    env: pd.DataFrame | None = None     # columns usable in where / holdout selections


def column_options(law, columns) -> tuple[dict | None, str | None]:
    """A fit's ``columns`` mapping (canonical name -> source column) as the variable
    mapping and target column :func:`prepare_frame` takes."""
    if columns is None:
        return None, None
    if not isinstance(columns, Mapping):
        raise ScalelawError("columns must map canonical names to source columns, "
                            "e.g. {'N': 'params', 'loss': 'eval_loss'}")
    cols = {str(k): v for k, v in columns.items()}
    target = cols.pop(law.target, None)
    target = cols.pop("y", None) or target
    return (cols or None), target


def as_frame(data) -> pd.DataFrame:
    """Accept a DataFrame, a mapping of columns, or a path to a table file."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame({k: np.atleast_1d(v) for k, v in data.items()})
        except ValueError as e:
            raise ScalelawError(f"columns of different lengths: {e}") from None
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        from ..io.table import read_table
        return read_table(data)
    raise ScalelawError(f"cannot use {type(data).__name__} as data: give a DataFrame, a dict of "
                        "columns or a file path")


def bind_x(law, frame: pd.DataFrame, x) -> tuple[object, dict[str, str], list[str]]:
    """Bind the user's ``x`` (column names) to the law's variables.

    For one-variable laws declared on the placeholder ``x`` (``powerlaw``,
    ``powerlaw_const``, ``bnsl``), the law is rebuilt on the chosen variable so that its
    formula, JSON and predictions name it.  Returns ``(law, mapping, notes)``.
    """
    notes: list[str] = []
    mapping: dict[str, str] = {}
    xs = [x] if isinstance(x, str) else list(x or [])
    placeholder = law.variables == ("x",) and "var" in law.config()
    if isinstance(x, Mapping):
        if placeholder and len(x) == 1:   # the one variable named, e.g. {"C": "Training FLOP"}
            (canon, col), = x.items()
            if col not in frame.columns:
                raise ScalelawError(f"column {col!r} is not in the table; it has: {show(frame.columns)}")
            return law.replace(var=canon), {canon: col}, notes
        return law, dict(x), notes
    if placeholder:
        if xs:
            col = resolve(frame.columns, [xs[0]], required=[]).get(xs[0], xs[0])
            canon = next((c for c in X_DEFAULT_ORDER if c == xs[0]), None)
            if canon is None:
                hit = resolve(frame.columns, X_DEFAULT_ORDER, required=[])
                canon = next((c for c, v in hit.items() if v == col), None) or xs[0]
            if col not in frame.columns:
                raise ScalelawError(f"column {xs[0]!r} is not in the table; it has: "
                                    f"{show(frame.columns)}")
        else:
            hit = resolve(frame.columns, X_DEFAULT_ORDER, required=[])
            canon = next((c for c in X_DEFAULT_ORDER if c in hit), None)
            if canon is None:
                raise ScalelawError("no x column found (tried N, D, C, step); the table has: "
                                    f"{show(frame.columns)}; name the column of the variable", option="x")
            col = hit[canon]
            notes.append(f"x = {canon} (column {col!r}); name another column to choose another variable")
        law = law.replace(var=canon)
        mapping[canon] = col
        return law, mapping, notes
    if xs:
        if len(xs) != len(law.variables):
            raise ScalelawError(f"law {law.name} has variables {', '.join(law.variables)}; "
                                f"{len(xs)} column(s) given")
        mapping = dict(zip(law.variables, xs))
    return law, mapping, notes


def prepare_frame(data, law, *, x=None, y=None, weights=None, groups=None, strict=False,
                  flops_per_token: float = 6.0, keep_unobserved: bool = False,
                  require_target: bool = True):
    """Resolve columns and clean rows.  Returns ``(law, Prepared)``.

    * ``D = C/(k·N)`` (k = ``flops_per_token``, 6 by default) is derived when the law
      needs D and the table has N and C; likewise C or N; the notes say so.
    * Rows with NaN/inf in a variable or the target are dropped and counted
      (``strict=True`` refuses them instead); with ``keep_unobserved`` rows whose target
      alone is missing are kept (per-step logs with LR but no loss).
    * ``require_target=False`` (prediction): a missing target column gives ``y`` = NaN.
    * Text in the target column is refused (:func:`numeric_column`), and so is a target
      column with no numbers at all (every cell empty or NaN), naming the column.
    """
    frame = as_frame(data)
    if len(frame) == 0:
        raise ScalelawError("the table has no rows")
    law, mapping, notes = bind_x(law, frame, x)
    target = law.target
    want = list(law.variables)
    derivable = {"D": ("N", "C"), "C": ("N", "D"), "N": ("C", "D")}
    found = resolve(frame.columns, want + [target] + list(PASS_THROUGH),
                    mapping={**mapping, **({target: y} if y else {})}, required=[],
                    ambiguous=want + [target])
    # N, D, C wherever the table has them: the sources of derived variables
    size = {**resolve(frame.columns, ["N", "D", "C"], required=[]),
            **{v: c for v, c in found.items() if v in ("N", "D", "C")}}
    for v in want + ([target] if require_target else []):
        if v not in found and not (v in derivable and all(u in size for u in derivable[v])):
            tried = ", ".join(SYNONYMS.get(v, (v,))[:6])
            raise ScalelawError(f"no column for {v} (tried {tried}); the table has: "
                                f"{show(frame.columns)}; name the column",
                                option="y" if v == target else "x")
    out = pd.DataFrame(index=frame.index)
    for v in want:
        if v in found:
            out[v] = pd.to_numeric(frame[found[v]], errors="coerce")
    for v in want:
        if v not in found:
            a, b = derivable[v]
            ca = pd.to_numeric(frame[size[a]], errors="coerce")
            cb = pd.to_numeric(frame[size[b]], errors="coerce")
            k = float(flops_per_token)
            if v == "D":
                out[v] = cb / (k * ca)
                found[v] = f"derived: C/({k:g}*N)"
            elif v == "C":
                out[v] = k * ca * cb
                found[v] = f"derived: {k:g}*N*D"
            else:
                out[v] = ca / (k * cb)
                found[v] = f"derived: C/({k:g}*D)"
            notes.append(f"{v} = {found[v].split(': ')[1]} (no {v} column)")
    if target in found:   # text in the target column: one line, not silently dropped rows
        out["y"] = numeric_column(frame, found[target], f"{target} column", option="y",
                                  empty_ok=keep_unobserved or not require_target)
    else:
        out["y"] = np.nan
    for extra in PASS_THROUGH:
        if extra in found:
            out[extra] = frame[found[extra]].to_numpy()
    if weights is not None:
        out["weight"] = _column_or_array(frame, weights, "weights")
    if groups is not None:
        out["group"] = _column_or_array(frame, groups, "groups")
    env = _filter_env(frame, size, out, flops_per_token)
    # non-finite rows
    # per-step logs: a row may carry a loss without an LR (it is interpolated from the rows
    # that have one), so only the other variables must be finite there
    need = [v for v in want if not (keep_unobserved and v == "lr")]
    num = out[need].to_numpy(dtype=float)
    bad_x = ~np.isfinite(num).all(axis=1)
    yv = out["y"].to_numpy(dtype=float)
    bad_y = ~np.isfinite(yv)
    bad = bad_x | (bad_y & (not keep_unobserved))
    if keep_unobserved:
        bad |= bad_y & np.isinf(yv)
    dropped = int(bad.sum())
    if dropped:
        if strict:
            rows = ", ".join(str(i) for i in np.flatnonzero(bad)[:5])
            raise ScalelawError(f"{dropped} row(s) with NaN/inf values (rows {rows}...); "
                                "clean them, or turn strict checking off to skip them", option="strict")
        notes.append(f"dropped {dropped} row(s) with NaN/inf values")
        out = out.loc[~bad]
    mapping = {k: v for k, v in found.items()}
    if dropped:
        env = env.loc[~bad]
    prep = Prepared(out.reset_index(drop=True), mapping, notes, dropped)
    prep.env = env.reset_index(drop=True)
    return law, prep


def numeric_column(frame: pd.DataFrame, column, what: str = "column", option: str | None = None,
                   empty_ok: bool = True) -> pd.Series:
    """Column ``column`` of ``frame`` as floats (same index), refusing text in it.

    The one rule for a column of values to fit (a fit's target, each target of several,
    the chain's loss): empty cells, None and NaN (also the string ``"nan"``) become NaN, and
    the rows are dropped and counted as before; numbers written as text (``"2.31"``,
    ``"inf"``) are read as numbers; any other text (``"n/a"`` typed into a Python frame, a
    run name, ``"oops"``) or a boolean is a one-line :class:`ScalelawError` naming ``what``
    and ``column``, quoting a value and its row (0-based position in the table), with
    ``option`` as the error's option (e.g. ``"y"``).  (pandas' CSV reader already turns
    ``NA``, ``n/a``, ``null`` and empty cells into NaN.)  ``empty_ok=False`` also refuses a
    column with no finite number at all (every cell empty, NaN or inf), naming it.
    """
    raw = frame[column]
    if isinstance(raw, pd.DataFrame):
        raise ScalelawError(f"the table has {raw.shape[1]} columns named {column!r}: rename all but one")
    if pd.api.types.is_bool_dtype(raw):
        raise ScalelawError(f"{what} {column!r} is not numeric (it holds True/False): name a column of "
                            "numbers", option=option)
    if pd.api.types.is_numeric_dtype(raw):
        return _some_values(raw.astype(float), column, what, option, empty_ok)
    values = pd.to_numeric(raw.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
    present = raw.notna() & ~raw.astype(str).str.strip().str.lower().isin(("", "nan"))
    boolean = raw.map(lambda v: isinstance(v, (bool, np.bool_))).astype(bool)
    text = (present & values.isna()) | boolean
    if text.any():
        where = np.flatnonzero(text.to_numpy())
        first = str(raw.iloc[where[0]])
        raise ScalelawError(f"{what} {column!r} is not numeric ({len(where)} value(s) such as {first[:30]!r} "
                            f"in row {where[0]}): name a column of numbers, or clean those cells "
                            "(empty cells are dropped)", option=option)
    return _some_values(values.astype(float), column, what, option, empty_ok)


def _some_values(values: pd.Series, column, what, option, empty_ok) -> pd.Series:
    if not empty_ok and not np.isfinite(values.to_numpy()).any():
        raise ScalelawError(f"{what} {column!r} has no numbers (every cell is empty, NaN or inf): "
                            "name a column with values to fit", option=option)
    return values


def _filter_env(frame, size, out, k):
    """Columns a where/holdout selection may name: the file's own columns, the
    canonical names (N, D, C, loss, ...), and C or D derived from the others."""
    env = frame.copy()
    env.columns = [str(c) for c in env.columns]
    for v in out.columns:
        if v == "y":
            continue
        env[v] = out[v].to_numpy()
    env["loss"] = out["y"].to_numpy()
    for v, col in size.items():
        if v not in out:
            env[v] = pd.to_numeric(frame[col], errors="coerce").to_numpy()
    if "C" not in env and "N" in env and "D" in env:
        env["C"] = k * env["N"] * env["D"]
    if "D" not in env and "N" in env and "C" in env:
        env["D"] = env["C"] / (k * env["N"])
    return env


def _column_or_array(frame, spec, what):
    if isinstance(spec, str):
        hit = resolve(frame.columns, [spec], required=[]).get(spec)
        if hit is None:
            raise ScalelawError(f"{what} column {spec!r} not found; the table has: "
                                f"{show(frame.columns)}")
        return frame[hit].to_numpy()
    arr = np.asarray(spec)
    if len(arr) != len(frame):
        raise ScalelawError(f"{what} has {len(arr)} values for {len(frame)} rows")
    return arr


def row_mask(env: pd.DataFrame, expr: str | None, what: str) -> np.ndarray:
    """Rows selected by a filter expression over ``Prepared.env``."""
    if expr is None:
        return np.ones(len(env), dtype=bool)
    try:
        return select_rows(env, expr, what)
    except ScalelawError as e:   # point the message at the option it came from
        if getattr(e, "option", None):
            raise
        raise ScalelawError(getattr(e, "message", str(e)), option=what) from None


def check_fittable(law, frame: pd.DataFrame, n_free: int, space: str) -> None:
    """Refuse data that cannot identify the law, with a message saying why."""
    n = int(frame["y"].notna().sum())
    if n <= n_free:
        raise ScalelawError(f"{n} data point(s) for {n_free} free parameters of {law.name}: no "
                            "degrees of freedom left to judge the fit; give more points or hold "
                            "some parameters fixed", option="fix")
    y = frame["y"].to_numpy(dtype=float)
    if space == "log" and np.any(y[np.isfinite(y)] <= 0):
        k = int(np.sum(y[np.isfinite(y)] <= 0))
        raise ScalelawError(f"{k} non-positive {law.target} value(s) in a log-space fit; "
                            "remove them or fit residuals in linear space", option="space")
    for v in law.variables:
        if v not in frame:
            continue
        col = frame[v].to_numpy(dtype=float)
        if v in POSITIVE or getattr(law, "var", None) == v:
            if np.any(col <= 0):
                k = int(np.sum(col <= 0))
                raise ScalelawError(f"{k} non-positive value(s) in {v}; a power law needs {v} > 0: "
                                    f"remove those rows (select '{v} > 0')", option="where")
        uniq = np.unique(col)
        if len(uniq) == 1 and v not in getattr(law, "may_be_constant", ()):
            raise ScalelawError(f"{v} has a single distinct value ({uniq[0]:g}); a law in {v} "
                                f"needs several: add runs of other {v} or choose another law")
