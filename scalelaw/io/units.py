"""Units a file states, converted to scalelaw's own (counts, FLOPs, nats), each conversion
noted.  A number without a unit is never rescaled.

* :func:`column_unit` -- a unit in a column name: ``params (M)``, ``Compute (PFLOP-days)``,
  ``GFLOPs``, ``tokens_B``, ``loss (bits)``.
* :func:`parse_cells` -- numbers with a unit in the cells of a text column: ``3.1 nats``,
  ``4.47 bits`` (-> nats), ``70M`` / ``1.4B`` in a count column, ``124,354,560``.
* :func:`convert_units` -- both, on a whole table.
* :func:`parse_count` -- a count as people write them (``124.35M``), for options.
"""
from __future__ import annotations

import re
from functools import lru_cache

from ..errors import ScalelawError
from .columns import SYNONYMS, normalize

_COUNT_UNITS = {"k": 1e3, "thousand": 1e3, "thousands": 1e3, "m": 1e6, "mn": 1e6,
                "million": 1e6, "millions": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
                "billions": 1e9, "t": 1e12, "trillion": 1e12, "trillions": 1e12}
_FLOP_PREFIX = {"": 1.0, "k": 1e3, "kilo": 1e3, "m": 1e6, "mega": 1e6, "g": 1e9, "giga": 1e9,
                "t": 1e12, "tera": 1e12, "p": 1e15, "peta": 1e15, "e": 1e18, "exa": 1e18,
                "z": 1e21, "zetta": 1e21}
_FLOP_UNIT = re.compile(r"^(?P<p>kilo|mega|giga|tera|peta|exa|zetta|[kmgtpez])?(?P<f>flops?|f)"
                        r"(?P<s>/s|s)?(?P<day>days?)?$")
_LOSS_UNITS = {"nats": 1.0, "nat": 1.0, "bits": 0.6931471805599453, "bit": 0.6931471805599453}
_COUNT_BASES = re.compile(r"param|token|size|^n$|^d$|^nonembedding|^data$", re.I)
SECONDS_PER_DAY = 86400.0


def flop_unit(unit: str) -> float | None:
    """FLOPs per unit of ``unit`` (``GFLOP`` 1e9, ``PFLOP-days`` / ``PF-days`` 8.64e19);
    ``None`` if it is not an amount of compute (``TFLOP/s`` is a rate)."""
    u = re.sub(r"[\s_\-]+", "", str(unit).strip().lower())
    m = _FLOP_UNIT.match(u)
    if m is None:
        return None
    per_second = m.group("s") == "/s" or (m.group("s") == "s" and m.group("f") == "f")
    if m.group("day"):
        return _FLOP_PREFIX[m.group("p") or ""] * SECONDS_PER_DAY
    if m.group("f") == "f" or per_second:
        return None
    return _FLOP_PREFIX[m.group("p") or ""]


@lru_cache(maxsize=4096)
def column_unit(name: str):
    """``(new name, factor, unit)`` for a column whose name states a unit that scalelaw
    converts to its own (counts, FLOPs, nats): ``'params (M)'`` -> ``('params', 1e6, 'M')``,
    ``'Compute (PFLOP-days)'`` -> ``('Compute', 8.64e19, 'PFLOP-days')``, ``'GFLOPs'`` ->
    ``('flops', 1e9, 'GFLOPs')``, ``'loss (bits)'`` -> ``('loss', ln 2, 'bits')``; ``None``
    otherwise.  A count unit (K, M, B, T, million, ...) needs a base that names a count
    (parameters, tokens, size, N, D)."""
    name = str(name).strip()
    m = re.match(r"^(?P<b>.*?)\s*[\(\[]\s*(?P<u>[^\)\]]*?)\s*[\)\]]\s*$", name)
    if m and m.group("u"):
        forms = [(m.group("b").strip(), m.group("u"), True)]
    else:
        parts = re.split(r"[\s_\-]+", name)
        forms = []
        for k in (1, 2, 3):
            if len(parts) > k:
                forms.append((" ".join(parts[:-k]), "-".join(parts[-k:]), False))
        forms.append(("", name, False))
    for base, unit, bracket in forms:
        f = flop_unit(unit)
        if f is not None:
            if f == 1.0 and not bracket:
                return None        # "Training FLOP", "train_flops": already FLOPs
            return (base or "flops", f, unit)
        low = unit.strip().lower()
        if base and low in _COUNT_UNITS and _COUNT_BASES.search(normalize(base)):
            if not bracket and not (unit.strip().isupper() or len(low) > 1):
                continue           # "params_m": a lower-case letter is too weak a hint
            return (base, _COUNT_UNITS[low], unit.strip())
        if base and bracket and low in _LOSS_UNITS and "loss" in base.lower():
            return (base, _LOSS_UNITS[low], unit.strip())
        e = re.match(r"^[x×*]?\s*(?:1e\+?|10\^)(\d{1,2})$", low)
        if base and bracket and e and (_COUNT_BASES.search(normalize(base))
                                       or re.search(r"flop|compute|^c$", normalize(base))):
            return (base, 10.0 ** int(e.group(1)), unit.strip())
    return None


def parse_count(text) -> float:
    """A count written as people write them: ``124354560``, ``124,354,560``, ``1.2e8``,
    ``124.35M``, ``1.3B``, ``7K``, ``2T`` (K/M/B/T = 1e3/1e6/1e9/1e12).  Raises
    :class:`ScalelawError` for anything else."""
    t = str(text).strip().replace("_", "")
    m = re.match(r"^([-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([KMBTkmbt]?)$", t)
    if m is None or ("," in m.group(1) and not re.match(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$", m.group(1))):
        raise ScalelawError(f"not a count: {text!r}; write e.g. 124e6, 124,354,560 or 124.35M")
    v = float(m.group(1).replace(",", ""))
    return v * {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]


_CELL = r"^\s*(?P<n>[-+]?(?:\d[\d,.]*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<u>[A-Za-z%][A-Za-z%/\-]*)?\s*$"
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_NA_WORDS = ("", "na", "n/a", "nan", "none", "null", "-", "--", "?", "—", "missing")
_NUMERIC_NAME = re.compile(r"loss|param|token|flop|compute|size|ppl|perplex|budget|step|lr|"
                           r"learning", re.I)


def convert_units(df, decimal: str = ".", cells: bool = True):
    """Convert the columns of a table whose names (and, with ``cells``, cells) state a
    unit: ``(frame, notes)``.  A converted column loses the unit from its name."""
    notes = []
    renames = {}
    for c in list(df.columns):
        if not isinstance(c, str):
            continue
        hit = column_unit(c)
        if hit is None:
            continue
        new, factor, unit = hit
        if new in df.columns or new in renames.values():
            notes.append(f"column {c!r} states the unit {unit!r}; not converted because a "
                         f"column {new!r} exists")
            continue
        col = _numbers(df[c], decimal)
        if col is None:
            continue
        df[c] = col * factor if factor != 1.0 else col
        renames[c] = new
        what = "FLOPs" if "flop" in unit.lower() or unit.lower().endswith("days") else (
            "nats" if unit.lower() in ("bits", "bit", "nats", "nat") else "a count")
        notes.append(f"column {c!r} read as {new!r} in {what} (x {factor:g}, from the unit "
                     f"{unit!r} in its name)")
    if renames:
        df.columns = [renames.get(c, c) for c in df.columns]
    if cells:
        text_cols = [c for c, t in zip(df.columns, df.dtypes) if getattr(t, "kind", "O") == "O"]
        for c in text_cols:
            if isinstance(c, str) and numeric_name(c):
                x, note = parse_cells(df[c], c, decimal)
                if x is not None:
                    df[c] = x
                    notes.append(note)
    return df, notes


def is_text(s) -> bool:
    """Object or string dtype (both have kind ``'O'``)."""
    return getattr(s.dtype, "kind", "O") == "O"


@lru_cache(maxsize=4096)
def numeric_name(name: str) -> bool:
    """A column name that says its values are numbers (a loss, a count, a step, an lr)."""
    n = normalize(name)
    for canon in ("N", "D", "C", "loss", "step", "lr", "tokens"):
        if n in {normalize(s) for s in (canon,) + SYNONYMS[canon]}:
            return True
    return bool(_NUMERIC_NAME.search(name))


def _numbers(s, decimal: str):
    """A column as float64 (text cells parsed by :func:`parse_cells`), or ``None``."""
    import pandas as pd

    if not is_text(s):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    x, _note = parse_cells(s, "x", decimal, count_ok=False)
    return None if x is None else pd.Series(x, index=s.index)


def parse_cells(s, name: str, decimal: str = ".", count_ok: bool | None = None):
    """Numbers with a unit in the text cells of a column: ``(float64 array, note)``, or
    ``(None, None)`` when the cells are not all numbers (with at most one unit other than
    K/M/B/T and nats/bits).  ``count_ok``: K/M/B/T suffixes allowed (default: when ``name``
    names a count)."""
    import numpy as np
    import pandas as pd

    none = (None, None)
    txt = s.astype("string").str.strip()
    na = txt.isna() | txt.str.lower().isin(_NA_WORDS)
    vals = txt[~na]
    if vals.empty or not vals.iloc[:200].str.match(_CELL).all():
        return none
    m = vals.str.extract(_CELL)
    if m["n"].isna().any():
        return none
    num = m["n"]
    if decimal == ",":
        num = num.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        has_comma = num.str.contains(",", regex=False)
        if has_comma.any():
            if not num[has_comma].str.match(_THOUSANDS).all():
                return none
            num = num.str.replace(",", "", regex=False)
    x = pd.to_numeric(num, errors="coerce").to_numpy(dtype=float)
    if np.isnan(x).any():
        return none
    unit = m["u"].fillna("").to_numpy(dtype=object)
    low = np.array([u.lower() for u in unit], dtype=object)
    if count_ok is None:
        count_ok = bool(_COUNT_BASES.search(normalize(name)))
    factor = np.ones(len(x))
    mags = np.isin(low, list(_COUNT_UNITS))
    if mags.any():
        if not count_ok:
            return none
        factor[mags] = [_COUNT_UNITS[u] for u in low[mags]]
    losses = np.isin(low, list(_LOSS_UNITS))
    factor[losses] = [_LOSS_UNITS[u] for u in low[losses]]
    other = sorted({u for u, mg, ls in zip(unit, mags, losses) if u and not mg and not ls})
    if len(other) > 1:
        return none
    if not (unit != "").any() and not (decimal == "," or num.ne(m["n"]).any()):
        return none     # plain numbers pandas left as text for another reason: leave them
    out = np.full(len(s), np.nan)
    out[np.flatnonzero(~na.to_numpy())] = x * factor
    said = []
    if mags.any():
        said.append(f"magnitude suffixes ({', '.join(sorted({u for u in unit[mags]}))}) applied")
    if losses.any():
        lu = sorted({u for u in low[losses]})
        said.append(f"unit {'/'.join(lu)} stripped"
                    + (" (bits x ln 2 = nats)" if any(u.startswith("bit") for u in lu) else ""))
    if other:
        said.append(f"unit {other[0]!r} stripped")
    if not said:
        said.append("thousands separators removed" if decimal == "." else "decimal commas read")
    n_unit = int((unit != "").sum())
    return out, (f"column {name!r}: {len(x)} cell(s) read as numbers ({'; '.join(said)}; "
                 f"{n_unit} with a unit)")
