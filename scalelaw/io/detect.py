"""Which reader a file needs: format detection, and content sniffed by bytes before any
parser sees the file.

* :func:`detect_format` -- the format of a path (see :data:`FORMATS`).
* :func:`check_content` -- refuse, from the first bytes only, what no reader can use: a Git
  LFS pointer, compressed or zipped files, UTF-16 text, binary bytes in a text format, a file
  that is not a regular file.  Every reader runs it first, so a 2 GB file of zero bytes is
  refused after reading 64 KiB whatever its name.
* :func:`run_table` (from :mod:`._frame`, where columns are mapped) -- whether a table is a
  table of runs (one row per run: N, D or C, loss) rather than a training log;
  :class:`RunTableError` says so.
"""
from __future__ import annotations

import os

from ..errors import ScalelawError
from . import _stdin
# tables of runs are recognized where columns are mapped (_frame); re-exported here
from ._frame import run_table, run_table_error  # noqa: F401
from ._sniff import (HEAD, LFS_MAGIC, LFS_MESSAGE, NotALogError, RunTableError,  # noqa: F401
                     content_problem, read_head)

#: formats read_log understands (``format=`` values); aliases are listed in ``ALIASES``
FORMATS = ("table", "wandb-csv", "wandb-history", "hf", "tensorboard", "mlflow",
           "mlflow-sqlite", "lightning", "text")
ALIASES = {"csv": "table", "tsv": "table", "parquet": "table", "jsonl": "table", "json": "table",
           "wandb": "wandb-csv", "wandb-panel": "wandb-csv", "tb": "tensorboard",
           "tfevents": "tensorboard", "trainer_state": "hf", "huggingface": "hf",
           "mlflow-file": "mlflow", "sqlite": "mlflow-sqlite", "log": "text", "nanogpt": "text",
           "megatron": "text", "litgpt": "text", "csvlogger": "lightning"}

TABLE_EXTS = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson")
TEXT_EXTS = (".log", ".txt", ".out", ".err")
#: file names that say nothing about the run: the run is named by the directory
GENERIC_NAMES = ("trainer_state.json", "metrics.csv", "history.csv", "history.jsonl")

def canonical_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    f = str(fmt).strip().lower()
    f = ALIASES.get(f, f)
    if f not in FORMATS:
        raise ScalelawError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    return f


# ---------------------------------------------------------------------------------------
# bytes


def check_content(path: str, fmt: str | None = None, head: bytes | None = None) -> bytes:
    """Refuse a file no reader of ``fmt`` can use, from its first bytes; returns the head.

    Binary formats (Parquet, SQLite, TensorBoard) are checked by their own magic bytes or
    record header; every other format is text, and a NUL byte refuses it."""
    if head is None:
        head = read_head(path)
    why = content_problem(head, text=False)
    if why is None:
        if path.lower().endswith((".parquet", ".pq")) or head[:4] == b"PAR1":
            if head[:4] != b"PAR1":
                why = "not a Parquet file (no PAR1 header)"
        elif fmt == "tensorboard":
            from . import tensorboard
            why = tensorboard.header_problem(head, os.path.getsize(path))
        elif fmt in ("mlflow-sqlite", "mlflow"):
            if head[:16] != b"SQLite format 3\x00":
                why = "not an SQLite database"
        elif b"\x00" in head:
            why = "binary content (NUL bytes), not a text log"
    if why:
        raise ScalelawError(f"{path}: {why}")
    return head


def sniff_sep(path: str, head: bytes | None = None) -> str:
    """The delimiter of a delimited text file: tab, comma, semicolon or '|' (from line one;
    ``head``: the file's first bytes when the caller has them already)."""
    if path.lower().endswith(".tsv"):
        return "\t"
    if head is None:
        with open(path, "rb") as f:
            head = f.read(HEAD)
    line = head.split(b"\n", 1)[0]
    counts = {sep: line.count(sep.encode()) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# ---------------------------------------------------------------------------------------
# detection


def detect_format(path: str | os.PathLike) -> str:
    """The format of a log file or directory (see :data:`FORMATS`; ``'dir'`` for a
    directory of runs in mixed formats; ``'-'`` reads standard input)."""
    return detect(path)[0]


def detect(path: str | os.PathLike) -> tuple[str, bytes | None]:
    """``(format, first bytes)`` of a path (the bytes are reused by the readers)."""
    from . import mlflow, tensorboard, text

    path = _stdin.resolve(os.fspath(path))
    if not os.path.lexists(path):
        raise ScalelawError(f"file not found: {path}")
    if os.path.isdir(path):
        return ("mlflow" if mlflow.looks_like(path) else "dir"), None
    head = read_head(path)
    why = content_problem(head, text=False)
    if why:
        raise ScalelawError(f"{path}: {why}")
    name = os.path.basename(path).lower()
    ext = os.path.splitext(name)[1]
    if name.startswith("events.out.tfevents") or tensorboard.head_looks_like(head):
        why = tensorboard.header_problem(head, os.path.getsize(path))
        if why:
            raise ScalelawError(f"{path}: {why}")
        return "tensorboard", head
    if head[:16] == b"SQLite format 3\x00":
        return "mlflow-sqlite", head
    if ext in (".parquet", ".pq") or head[:4] == b"PAR1":
        if head[:4] != b"PAR1":
            raise ScalelawError(f"{path}: not a Parquet file (no PAR1 header)")
        return _table_kind(columns(path, ".parquet"), path), head
    if b"\x00" in head:
        raise ScalelawError(f"{path}: binary content (NUL bytes), not a text log; is it the "
                            f"right file?")
    stripped = head.lstrip()
    if ext == ".json" or stripped[:1] == b"{" and b"log_history" in head:
        if b"log_history" in head or name == "trainer_state.json":
            return "hf", head
        return "table", head
    if ext in (".jsonl", ".ndjson"):
        return _table_kind(columns(path, ext), path), head
    if ext in (".csv", ".tsv") or (ext not in TEXT_EXTS and looks_delimited(head)):
        return _table_kind(columns(path, ext, head), path), head
    if ext not in (".csv", ".tsv") and _json_lines(head):
        return _table_kind(columns(path, ".jsonl"), path), head     # JSON lines in a .log/.txt
    txt = head.decode("utf-8", errors="replace")
    if text.sniff(txt):
        return "text", head
    if ext in TEXT_EXTS:
        return "text", head
    if ext == "" and stripped[:1] in (b"{", b"["):
        return "table", head
    raise NotALogError(f"{path}: cannot tell what kind of log this is; name it (one of "
                        f"{', '.join(FORMATS)})", option="format")


def _json_lines(head: bytes) -> bool:
    """The first lines are JSON objects, one per line."""
    lines = [ln.strip() for ln in head.split(b"\n")[:3] if ln.strip()]
    return bool(lines) and all(ln.startswith(b"{") and ln.endswith(b"}") for ln in lines[:2]) \
        and len(lines) >= 2


def _table_kind(cols, path: str) -> str:
    from . import lightning, wandb

    if wandb.is_panel_csv(cols):
        return "wandb-csv"
    if wandb.is_history(cols):
        return "wandb-history"
    if lightning.looks_like(cols, path):
        return "lightning"
    return "table"


def looks_delimited(head: bytes) -> bool:
    """A comma or tab on the first line, or the same number (>= 1) of semicolons on each
    of the first lines (a CSV written with a decimal comma)."""
    raw = head.split(b"\n")
    if len(head) >= HEAD:
        raw = raw[:-1]          # the last line may be cut
    lines = [ln for ln in raw[:8] if ln.strip()]
    if not lines:
        return False
    if b"," in lines[0] or b"\t" in lines[0]:
        return True
    n = lines[0].count(b";")
    return n >= 1 and len(lines) >= 2 and all(ln.count(b";") == n for ln in lines[1:])


def columns(path: str, ext: str, head: bytes | None = None):
    """Column names of a table file (delimited text: from its header line in ``head`` when
    that holds the whole line; a pandas call per file was half the time of reading a
    directory of small logs)."""
    import pandas as pd

    if head is not None and ext not in (".parquet", ".pq", ".jsonl", ".ndjson"):
        first, nl, _ = head.partition(b"\n")
        first = first.rstrip(b"\r")
        # a plain header line only: blank lines, stray CRs and quoted newlines go to pandas
        if nl and first.strip() and b"\r" not in first and first.count(b'"') % 2 == 0:
            import csv

            line = first.decode("utf-8-sig", errors="replace")
            try:
                return next(csv.reader([line], delimiter=sniff_sep(path, head)), [])
            except csv.Error:
                pass
    try:
        if ext in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_schema(path).names
        if ext in (".jsonl", ".ndjson"):
            import json

            with open(path, "r", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.strip():
                        obj = json.loads(line)
                        return list(obj) if isinstance(obj, dict) else []
            return []
        return list(pd.read_csv(path, sep=sniff_sep(path, head), nrows=0, engine="c",
                                encoding_errors="replace").columns)
    except ImportError as e:
        raise ScalelawError("reading Parquet needs pyarrow: pip install 'scalelaw[parquet]'") from e
    except Exception:  # the full read will give the precise error
        return []

