"""Read what a path holds into :class:`~scalelaw.io._frame.Source` objects, one format
at a time: one file or store (:func:`file_sources`), the event files of TensorBoard runs
(:func:`event_sources`), or every log below a directory, each file on its own so that
one bad file is a note and not the end of the read (:func:`directory_units`).

Every file's first bytes are checked (:func:`scalelaw.io.detect.check_content`) before a
parser sees it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from ..errors import ScalelawError
from . import _frame as F
from . import detect, walk


def file_sources(path: str, fmt: str, run: str | None = None, head: bytes | None = None) -> list:
    """The sources of one file (or store directory) in format ``fmt``."""
    from . import hf, lightning, mlflow, table, text, wandb

    if fmt == "tensorboard":
        problems: list = []
        out = event_sources(walk.event_groups(path, run), problems, strict=os.path.isfile(path))
        if problems:
            out[0].warnings.extend(problems)
        return out
    if fmt == "mlflow":
        if os.path.isfile(path):
            if mlflow.is_sqlite(path):
                return mlflow.sqlite_sources(path)
            raise ScalelawError(f"{path}: an MLflow file store is a directory (mlruns/)")
        return mlflow.file_sources(path)
    if os.path.isdir(path):
        raise ScalelawError(f"{path} is a directory; format {fmt} reads a file")
    head = detect.check_content(path, fmt, head)
    default = run or walk.run_name(path)
    try:
        if fmt == "mlflow-sqlite":
            return mlflow.sqlite_sources(path)
        if fmt == "hf":
            return [hf.source(path, default)]
        if fmt == "text":
            return [text.source(path, default)]
        df, notes, decimal = table.read(path, head, cells=False)
    except OSError as e:
        raise ScalelawError(f"{path}: unreadable: {e.strerror}") from e
    if fmt == "wandb-csv":
        if not wandb.is_panel_csv(df.columns):
            raise ScalelawError(f"{path}: not a W&B panel export (needs a Step column and "
                                f"'<run> - <metric>' columns)")
        out = wandb.panel_sources(df, path)
        for s in out:
            s.decimal = decimal
        if out:
            out[0].notes.extend(notes)
        return out
    if fmt == "wandb-history":
        if "_step" not in df.columns:
            raise ScalelawError(f"{path}: not a W&B history export (no _step column)")
        src = wandb.history_source(df, path, run or default)
    elif fmt == "lightning":
        src = F.Source(df, path, run=run or lightning.run_name(path))
    else:
        src = F.Source(df, path, run=run)
    src.notes.extend(notes)
    src.decimal = decimal
    return [src]


def event_sources(groups, problems: list | None = None, strict: bool = True) -> list:
    """One source per :class:`~scalelaw.io.walk.EventGroup`: its files' scalars joined on
    step.  With ``strict=False`` a file that cannot be read adds a line to ``problems`` and
    the others are read; a group with no readable file is left out."""
    import numpy as np

    from . import tensorboard

    out = []
    for g in groups:
        warnings: list = []
        series: dict = {}
        read = 0
        for fp in g.files:
            try:
                got = tensorboard.read_scalars(fp, warnings)
            except ScalelawError as e:
                if strict or problems is None:
                    raise
                problems.append(str(e))
                continue
            read += 1
            for tag, (s, v) in got.items():
                if tag in series:
                    s0, v0 = series[tag]
                    series[tag] = (np.concatenate([s0, s]), np.concatenate([v0, v]))
                else:
                    series[tag] = (s, v)
        if not read:
            continue
        wide, dropped = F.join_series(series)
        out.append(F.Source(wide, g.directory, run=g.name, split=g.split, fixed={"step": "step"},
                            labels={"step": "event step"}, dropped=dropped, warnings=warnings))
    if not out and (strict or problems is None):
        raise ScalelawError("; ".join(problems or []) or "no readable TensorBoard event files")
    return out


@dataclass
class Unit:
    """One thing to read below a directory: ``label`` (its path below the directory, for
    notes), ``paths`` (absolute paths it covers, to name them in messages) and ``read``
    (returns ``(sources, format, notes on files of the unit that could not be read)``)."""

    label: str
    paths: tuple
    read: Callable


def directory_units(path: str, run: str | None = None) -> tuple[list, list]:
    """The units below a directory and the files passed over by their extension.

    TensorBoard runs come first (one unit per run directory), then every other candidate
    file, each one unit, named by its path below the directory."""
    root = os.path.abspath(path)
    units = []
    for g in walk.event_groups(root, run) if _has_events(root) else []:
        def read_group(g=g):
            problems: list = []
            srcs = event_sources([g], problems, strict=False)
            return srcs, "tensorboard", [_relabel(p, root) for p in problems]
        units.append(Unit(os.path.relpath(g.directory, root), tuple(g.files), read_group))
    found = walk.log_files(root)
    for fp, rel in found.files:
        def read_file(fp=fp, rel=rel):
            fmt, head = detect.detect(fp)
            if fmt == "dir":    # a directory named like a log
                raise detect.NotALogError(f"{fp}: a directory")
            if fmt == "table" and fp.lower().endswith(".json") and head.lstrip()[:1] == b"{":
                # config.json, tokenizer.json, ...: a JSON object without log_history
                raise detect.NotALogError(f"{fp}: a JSON object without log_history, not a "
                                          f"training log")
            name = walk.dir_run_name(fp, rel, fmt)
            # single-run formats are named by their path below the directory; a table keeps
            # its own run column if it has one
            single = fmt in ("wandb-history", "hf", "text", "lightning")
            srcs = file_sources(fp, fmt, name if single else None, head)
            for s in srcs:
                if s.run is None and fmt == "table":
                    s.run = name
            return srcs, fmt, []
        units.append(Unit(rel, (fp,), read_file))
    return units, found.passed


def _has_events(root: str) -> bool:
    for _d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        if any(walk.is_event_file(f) for f in fs):
            return True
    return False


def _relabel(msg: str, root: str) -> str:
    """A message about a file below ``root`` with the file named by its relative path."""
    prefix = root.rstrip(os.sep) + os.sep
    return msg.replace(prefix, "")


def file_note(unit: Unit, err: Exception, root: str) -> str:
    """The one-line note for a unit of a directory that could not be read."""
    msg = str(err)
    for p in unit.paths:
        if msg.startswith(p + ": "):
            return f"{unit.label}: {msg[len(p) + 2:]}"
    msg = _relabel(msg, os.path.abspath(root))
    return msg if msg.startswith(unit.label) else f"{unit.label}: {msg}"
