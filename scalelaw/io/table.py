"""Read a table of runs (one row per run or per logged point) from CSV, TSV, Parquet,
JSON lines or JSON into a :class:`pandas.DataFrame`, with a clear error for a bad file.

What the file states in its own conventions is read into scalelaw's, and each conversion
is noted in ``df.attrs["scalelaw"]["notes"]``:

* the delimiter (comma, tab, semicolon, ``|``) and the decimal mark: a semicolon- or
  tab-delimited file whose numbers are written ``3,21`` (and ``1.400.000`` for thousands) is
  read with a decimal comma;
* units in column names (:func:`scalelaw.io.columns.column_unit`): ``params (M)`` x 1e6,
  ``tokens (B)`` x 1e9, ``GFLOPs`` x 1e9, ``Compute (PFLOP-days)`` x 8.64e19 FLOPs,
  ``loss (bits)`` x ln 2 (nats); the column loses the unit from its name;
* numbers with a unit in the cells of a numeric-looking column (loss, parameters, tokens,
  FLOPs): ``3.1 nats`` -> 3.1, ``4.47 bits`` -> 3.10 nats, ``70M`` / ``1.4B`` in a count
  column -> 7e7 / 1.4e9, ``124,354,560`` -> 124354560; ``n/a``, ``-`` and the like are
  missing.
"""
from __future__ import annotations

import os
import re

from ..errors import ScalelawError
from . import _stdin
from .detect import HEAD, check_content, sniff_sep

__all__ = ["read_table", "sniff_sep", "sniff_decimal"]

_COMMA_DEC = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")
_DOT_GROUPS = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})+$")
_DOT_DEC = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_CELL = r"^\s*(?P<n>[-+]?(?:\d[\d,.]*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<u>[A-Za-z%][A-Za-z%/\-]*)?\s*$"
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_NA_WORDS = ("", "na", "n/a", "nan", "none", "null", "-", "--", "?", "—", "missing")
_NUMERIC_NAME = re.compile(r"loss|param|token|flop|compute|size|ppl|perplex|budget|step|lr|"
                           r"learning", re.I)


def sniff_decimal(head: bytes, sep: str) -> tuple[str, str | None]:
    """``(decimal, thousands)`` of delimited text from its first lines: a decimal comma
    when numbers are written ``3,21`` and none ``3.21`` (only possible when the delimiter
    is not a comma); then ``1.400.000`` marks thousands."""
    if sep == ",":
        return ".", None
    lines = head.decode("utf-8", errors="replace").splitlines()
    if len(head) >= HEAD:
        lines = lines[:-1]
    comma = dot = groups = 0
    for ln in lines[1:80]:
        for cell in ln.split(sep):
            cell = cell.strip().strip('"').strip()
            if _COMMA_DEC.match(cell):
                comma += 1
            elif _DOT_GROUPS.match(cell):
                groups += 1
            elif _DOT_DEC.match(cell):
                dot += 1
    if comma and not dot:
        return ",", ("." if groups else None)
    return ".", None


def read_table(path: str | os.PathLike, *, units: bool = True):
    """Read ``path`` by its extension (.csv, .tsv, .parquet, .jsonl/.ndjson, .json; ``-``
    reads standard input, its kind told by its content).

    Delimited text uses pandas' fast C parser with the delimiter and decimal mark sniffed
    from the first lines.  With ``units`` (default), units stated in column names or cells
    are converted (see the module docstring); ``df.attrs["scalelaw"]["notes"]`` lists what
    was converted.  Any parse failure is a :class:`ScalelawError`.
    """
    label = os.fspath(path)
    path = _stdin.resolve(label)
    if not os.path.lexists(path):
        raise ScalelawError(f"file not found: {path}")
    if os.path.isdir(path):
        raise ScalelawError(f"{path} is a directory; give a table file")
    return read(path, units=units, label=label)


def read(path: str, head: bytes | None = None, *, units: bool = True, label: str | None = None):
    """:func:`read_table` for a path known to be a file (``head``: its first bytes, when
    the caller has them)."""
    import pandas as pd

    head = check_content(path, "table", head)
    ext = os.path.splitext(path)[1].lower()
    if ext == "" and head.lstrip()[:1] in (b"{", b"["):
        first = head.lstrip().split(b"\n", 1)[0].strip()
        ext = ".jsonl" if first.startswith(b"{") and first.endswith(b"}") and \
            head.strip().count(b"\n") else ".json"
    notes: list[str] = []
    decimal = "."
    try:
        if ext in (".parquet", ".pq"):
            try:
                df = pd.read_parquet(path)
            except ImportError as e:
                raise ScalelawError("reading Parquet needs pyarrow: pip install 'scalelaw[parquet]'") from e
        elif ext in (".jsonl", ".ndjson"):
            df = pd.read_json(path, lines=True)
        elif ext == ".json":
            df = pd.read_json(path)
        else:
            sep = sniff_sep(path, head)
            decimal, thousands = sniff_decimal(head, sep)
            if decimal == ",":
                notes.append(f"{label or path}: numbers written with a decimal comma"
                             + (" and '.' for thousands" if thousands else "")
                             + f" (delimiter {sep!r})")
            df = pd.read_csv(path, sep=sep, decimal=decimal, thousands=thousands, engine="c",
                             encoding_errors="replace")
    except ScalelawError:
        raise
    except Exception as e:  # pandas raises many types for malformed files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ScalelawError(f"cannot read {path} as a table: {msg[:200]}") from e
    if units:
        notes += [f"{label or path}: {n}" for n in convert_units(df, decimal)]
    df.attrs["scalelaw"] = {"source": label or path, "notes": notes}
    return df


# ---------------------------------------------------------------------------------------
# units


def convert_units(df, decimal: str = ".") -> list[str]:
    """Convert, in place, columns whose names or cells state a unit; returns the notes."""
    from .columns import column_unit

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
        df.rename(columns=renames, inplace=True)
    for c in list(df.columns):
        if isinstance(c, str) and _is_text(df[c]) and _numeric_name(c):
            note = _parse_cells(df, c, decimal)
            if note:
                notes.append(note)
    return notes


def _is_text(s) -> bool:
    import pandas as pd

    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def _numeric_name(name: str) -> bool:
    from ._frame import loss_split
    from .columns import SYNONYMS, normalize

    n = normalize(name)
    for canon in ("N", "D", "C", "loss", "step", "lr", "tokens"):
        if n in {normalize(s) for s in (canon,) + SYNONYMS[canon]}:
            return True
    return bool(loss_split(name) or _NUMERIC_NAME.search(name))


def _numbers(s, decimal: str):
    """A column as float64 (text cells parsed as in :func:`_parse_cells`), or ``None``."""
    import pandas as pd

    if not _is_text(s):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    tmp = pd.DataFrame({"x": s})
    _parse_cells(tmp, "x", decimal, count_ok=False)
    return tmp["x"] if not _is_text(tmp["x"]) else None


def _parse_cells(df, c: str, decimal: str, count_ok: bool | None = None) -> str | None:
    """Numbers with a unit in the text cells of column ``c`` -> float64 in place; the note
    (``None``: the column is left as it is)."""
    import numpy as np
    import pandas as pd

    from .columns import _COUNT_BASES, _COUNT_UNITS, _LOSS_UNITS, normalize

    s = df[c]
    txt = s.astype("string").str.strip()
    na = txt.isna() | txt.str.lower().isin(_NA_WORDS)
    vals = txt[~na]
    if vals.empty or not vals.iloc[:200].str.match(_CELL).all():
        return None
    m = vals.str.extract(_CELL)
    if m["n"].isna().any():
        return None
    num = m["n"]
    if decimal == ",":
        num = num.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        has_comma = num.str.contains(",", regex=False)
        if has_comma.any():
            if not num[has_comma].str.match(_THOUSANDS).all():
                return None
            num = num.str.replace(",", "", regex=False)
    x = pd.to_numeric(num, errors="coerce").to_numpy(dtype=float)
    if np.isnan(x).any():
        return None
    unit = m["u"].fillna("").to_numpy(dtype=object)
    low = np.array([u.lower() for u in unit], dtype=object)
    if count_ok is None:
        count_ok = bool(_COUNT_BASES.search(normalize(c)))
    factor = np.ones(len(x))
    mags = np.isin(low, list(_COUNT_UNITS))
    if mags.any():
        if not count_ok:
            return None
        factor[mags] = [_COUNT_UNITS[u] for u in low[mags]]
    losses = np.isin(low, list(_LOSS_UNITS))
    factor[losses] = [_LOSS_UNITS[u] for u in low[losses]]
    other = sorted({u for u, mg, ls in zip(unit, mags, losses) if u and not mg and not ls})
    if len(other) > 1:
        return None
    if not (unit != "").any() and not (decimal == "," or num.ne(m["n"]).any()):
        return None     # plain numbers pandas left as text for another reason: leave them
    out = np.full(len(s), np.nan)
    out[np.flatnonzero(~na.to_numpy())] = x * factor
    df[c] = out
    said = []
    if mags.any():
        said.append(f"magnitude suffixes ({', '.join(sorted({u for u in unit[mags]}))}) applied")
    if losses.any():
        lu = sorted({u for u in low[losses]})
        said.append(f"unit {'/'.join(lu)} stripped" + (" (bits x ln 2 = nats)" if any(u.startswith("bit") for u in lu) else ""))
    if other:
        said.append(f"unit {other[0]!r} stripped")
    if not said:
        said.append("thousands separators removed" if decimal == "." else "decimal commas read")
    n_unit = int((unit != "").sum())
    return f"column {c!r}: {len(x)} cell(s) read as numbers ({'; '.join(said)}; {n_unit} with a unit)"
