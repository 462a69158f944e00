"""Read a table of runs (one row per run or per logged point) from CSV, TSV, Parquet,
JSON lines or JSON into a :class:`pandas.DataFrame`, with a clear error for a bad file."""
from __future__ import annotations

import os

from ..errors import ScalelawError


def read_table(path: str | os.PathLike):
    """Read ``path`` by its extension (.csv, .tsv, .parquet, .jsonl/.ndjson, .json)."""
    import pandas as pd

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ScalelawError(f"file not found: {path}")
    if os.path.isdir(path):
        raise ScalelawError(f"{path} is a directory; give a table file")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".parquet":
            try:
                return pd.read_parquet(path)
            except ImportError as e:
                raise ScalelawError("reading Parquet needs pyarrow: pip install 'scalelaw[parquet]'") from e
        if ext in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if ext == ".json":
            return pd.read_json(path)
        sep = "\t" if ext == ".tsv" else None
        return pd.read_csv(path, sep=sep, engine="python" if sep is None else "c")
    except ScalelawError:
        raise
    except Exception as e:  # pandas raises many types for malformed files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ScalelawError(f"cannot read {path} as a table: {msg}") from e
