"""Read a table of runs (one row per run or per logged point) from CSV, TSV, Parquet,
JSON lines or JSON into a :class:`pandas.DataFrame`, with a clear error for a bad file.

What the file states in its own conventions is read into scalelaw's, and each conversion
is noted in ``df.attrs["scalelaw"]["notes"]``:

* the delimiter (comma, tab, semicolon, ``|``) and the decimal mark: a semicolon- or
  tab-delimited file whose numbers are written ``3,21`` (and ``1.400.000`` for thousands) is
  read with a decimal comma;
* units in column names (:func:`scalelaw.io.units.column_unit`): ``params (M)`` x 1e6,
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
from .units import convert_units

__all__ = ["read_table", "sniff_sep", "sniff_decimal", "convert_units"]

_COMMA_DEC = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")
_DOT_GROUPS = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})+$")
_DOT_DEC = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?$")


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
    df, notes, _decimal = read(path, units=units, label=label)
    df.attrs["scalelaw"] = {"source": label, "notes": notes}
    return df


def read(path: str, head: bytes | None = None, *, units: bool = True, cells: bool = True,
         label: str | None = None):
    """``(frame, notes, decimal mark)`` of :func:`read_table` for a path known to be a file (``head``:
    its first bytes, when the caller has them).  ``cells=False`` leaves units in cells to
    the caller (the log reader parses only the columns it maps)."""
    import pandas as pd

    head = check_content(path, "table", head)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json") \
            and head.lstrip()[:1] in (b"{", b"["):
        # standard input, or JSON lines in a .log/.txt: told by the content
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
        df, more = convert_units(df, decimal, cells=cells)
        notes += [f"{label or path}: {n}" for n in more]
    return df, notes, decimal
