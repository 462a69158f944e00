"""Read a table of runs (one row per run or per logged point) from CSV, TSV, Parquet,
JSON lines or JSON into a :class:`pandas.DataFrame`, with a clear error for a bad file."""
from __future__ import annotations

import os

from ..errors import ScalelawError


def sniff_sep(path: str, head: bytes | None = None) -> str:
    """The delimiter of a delimited text file: tab, comma, semicolon or '|' (from line one;
    ``head``: the file's first bytes when the caller has them already)."""
    if path.lower().endswith(".tsv"):
        return "\t"
    if head is None:
        with open(path, "rb") as f:
            head = f.read(65536)
    line = head.split(b"\n", 1)[0]
    counts = {sep: line.count(sep.encode()) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(path: str | os.PathLike):
    """Read ``path`` by its extension (.csv, .tsv, .parquet, .jsonl/.ndjson, .json).

    Delimited text uses pandas' fast C parser with the delimiter sniffed from the header
    line (comma, tab, semicolon or '|').  Any parse failure is a :class:`ScalelawError`.
    """
    import pandas as pd

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ScalelawError(f"file not found: {path}")
    if os.path.isdir(path):
        raise ScalelawError(f"{path} is a directory; give a table file")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext in (".parquet", ".pq"):
            try:
                return pd.read_parquet(path)
            except ImportError as e:
                raise ScalelawError("reading Parquet needs pyarrow: pip install 'scalelaw[parquet]'") from e
        if ext in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if ext == ".json":
            return pd.read_json(path)
        return pd.read_csv(path, sep=sniff_sep(path), engine="c", encoding_errors="replace")
    except ScalelawError:
        raise
    except Exception as e:  # pandas raises many types for malformed files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ScalelawError(f"cannot read {path} as a table: {msg[:200]}") from e
