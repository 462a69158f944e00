"""Directory walking: which files below a directory are logs, how they group into runs, and
what each run is called.  Nothing here reads a file's content (see :mod:`.sources`).

* :func:`event_groups` -- TensorBoard event files: one group (one run) per directory, files
  in natural name order (= creation order); a ``train/`` or ``validation/`` directory (Keras)
  is that split of its parent run.
* :func:`log_files` -- every other candidate log below a directory (by extension), with
  hidden files and directories and the ``checkpoint-N`` copies of a Trainer output directory
  left out, plus the files passed over.
* :func:`run_name` -- the run name of a single file.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .detect import GENERIC_NAMES, TABLE_EXTS, TEXT_EXTS

#: extensions a directory walk reads (besides event files)
LOG_EXTS = TABLE_EXTS + TEXT_EXTS + (".json", ".db", ".sqlite")
_SPLIT_DIRS = ("train", "training", "validation", "val", "eval", "valid")
_CHECKPOINT = re.compile(r"checkpoint-\d+$")


@dataclass
class EventGroup:
    """The event files of one run: ``files`` in natural name order, ``name`` the run,
    ``split`` ``'train'``/``'val'`` for a Keras split directory (else ``None``)."""

    directory: str
    files: list
    name: str
    split: str | None = None


@dataclass
class Walk:
    """What :func:`log_files` found: candidate ``files`` (path, path relative to the root),
    and ``passed`` -- files not read because of their extension."""

    files: list = field(default_factory=list)
    passed: list = field(default_factory=list)


def natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def is_event_file(name: str) -> bool:
    return name.startswith("events.out.tfevents")


def _walk(root: str):
    for d, dirs, fs in os.walk(root):
        dirs.sort()
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        yield d, dirs, fs


def event_groups(path: str, run: str | None = None) -> list[EventGroup]:
    """Event files of one file, a run directory, or a log directory of runs."""
    if os.path.isfile(path):
        d = os.path.dirname(os.path.abspath(path))
        return [EventGroup(d, [path], run or os.path.basename(d) or d)]
    root = os.path.abspath(path)
    files = {}
    for d, _dirs, fs in _walk(root):
        ev = sorted((f for f in fs if is_event_file(f)), key=natural_key)
        if ev:
            files[d] = [os.path.join(d, f) for f in ev]
    groups = []
    for d, fs in files.items():
        split = None
        rel = os.path.relpath(d, root)
        leaf = os.path.basename(d).lower()
        if leaf in _SPLIT_DIRS:
            split = "train" if leaf.startswith("train") else "val"
            rel = os.path.dirname(rel) or "."
        if run is not None and len(files) == 1:
            name = run
        elif rel == ".":
            name = os.path.basename(root) or root
        else:
            name = rel.replace(os.sep, "/")
        groups.append(EventGroup(d, fs, name, split))
    return groups


def log_files(root: str) -> Walk:
    """Candidate log files below ``root`` (not event files: see :func:`event_groups`)."""
    root = os.path.abspath(root)
    out = Walk()
    for d, dirs, fs in _walk(root):
        if "trainer_state.json" in fs:
            # a Trainer output dir: the top-level state covers its checkpoint-* copies
            dirs[:] = [x for x in dirs if not _CHECKPOINT.match(x)]
        for f in sorted(fs):
            fp = os.path.join(d, f)
            rel = os.path.relpath(fp, root)
            if f.startswith(".") or is_event_file(f):
                continue
            if os.path.splitext(f)[1].lower() not in LOG_EXTS:
                out.passed.append(rel)
                continue
            out.files.append((fp, rel))
    return out


def dir_run_name(path: str, rel: str, fmt: str) -> str:
    """The run name of a file found below a directory: its path below the directory
    without the extension (so ``runs/a/x.log`` and ``runs/b/x.log`` stay two runs), or its
    directory's for generic names (``trainer_state.json``) and Lightning ``metrics.csv``."""
    if fmt == "lightning":
        name = os.path.dirname(rel) or run_name(path)
    elif os.path.basename(path).lower() in GENERIC_NAMES:
        name = run_name(path)
    else:
        name = os.path.splitext(rel)[0]
    return name.replace(os.sep, "/")


def run_name(path: str) -> str:
    """Run name for a single file: its stem, or the directory name for generic file names
    (trainer_state.json, metrics.csv, events.out.tfevents.*)."""
    p = os.path.abspath(path)
    base = os.path.basename(p)
    if base.lower() in GENERIC_NAMES or is_event_file(base) or os.path.isdir(p):
        d = p if os.path.isdir(p) else os.path.dirname(p)
        if _CHECKPOINT.match(os.path.basename(d)):
            d = os.path.dirname(d)
        return os.path.basename(d) or base
    stem = os.path.splitext(base)[0]
    return stem or base
