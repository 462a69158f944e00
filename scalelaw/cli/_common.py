"""Helpers shared by the CLI commands: option parsing, output checks, loading tables,
and the CLI's spelling of the options that library messages point at."""
from __future__ import annotations

#: how each option a library message points at (``ScalelawError.option``) is given here
FLAG_SPELLING = {
    "fix": "--fix P=V",
    "start": "--start P=V",
    "bounds": "--bounds P=LO:HI",
    "where": "--where EXPR",
    "holdout": "--holdout EXPR",
    "x": "--x COL",
    "y": "--y COL",
    "step": "--step COL",
    "lr": "--lr COL",
    "loss": "--loss COL",
    "run": "--run COL",
    "format": "--format NAME",
    "groups": "--groups",
    "amplitude": "--amplitude free",
    "split": "--split train|val",
    "strict": "without --strict",
    "space": "--space linear",
}


def error_text(err) -> str:
    """A library error as the CLI says it: the option it points at spelled as a flag (in the
    place the message names it, else appended)."""
    import re

    from ..errors import mentions
    message = getattr(err, "message", None) or str(err)
    option = getattr(err, "option", None) or ""
    flag = FLAG_SPELLING.get(option)
    if not flag:
        return message
    if mentions(message, option):
        return re.sub(rf"(?<![\w-]){re.escape(option)}(?![\w=(-])", "--" + option, message, count=1)
    return f"{message} ({flag})"


def parse_assignments(items, what, allow_range=False):
    """``["E=1.69", "alpha=0.3"]`` -> dict; ``P=LO:HI`` -> (lo, hi) with ``allow_range``."""
    from ..errors import ScalelawError
    out = {}
    for it in items:
        if "=" not in it:
            raise ScalelawError(f"{what} expects P=V, got {it!r}")
        k, v = it.split("=", 1)
        try:
            if allow_range:
                lo, hi = v.split(":")
                out[k.strip()] = (float(lo) if lo else float("-inf"), float(hi) if hi else float("inf"))
            else:
                out[k.strip()] = float(v)
        except ValueError:
            form = "P=LO:HI" if allow_range else "P=V with a number V"
            raise ScalelawError(f"{what} expects {form}, got {it!r}") from None
    return out


#: defaults of the options that one kind of law refuses when the other kind uses them
_DEFAULTS = {"space": "log", "flops_per_token": 6.0, "lam": "fit", "overpredict": 0.0,
             "final": False, "strict": False}


def given_options(args, names) -> list[str]:
    """The options among ``names`` that were set away from their defaults, as ``--flag``s."""
    return [f"--{n.replace('_', '-')}" for n in names
            if getattr(args, n, None) not in (None, [], _DEFAULTS.get(n))]


def check_writable(*paths):
    """Refuse an output path whose folder does not exist before any work is done."""
    import os

    from ..errors import ScalelawError
    for p in paths:
        if p:
            d = os.path.dirname(os.path.abspath(p))
            if not os.path.isdir(d):
                raise ScalelawError(f"cannot write {p}: directory {d} does not exist")


def final_points(df, split=None):
    """Each run's last logged loss (``split``: ``"train"`` or ``"val"``; default the
    validation split when the log has one): turns training logs into a table of runs (N, D,
    C come along when the logs state them)."""
    from ..errors import ScalelawError
    if not {"run", "step", "loss"} <= set(df.columns):
        raise ScalelawError("--final needs training logs with run, step and loss")
    d = df[df["loss"].notna()]
    if split is not None:
        d = d[d["split"] == split] if "split" in d else d.iloc[:0]
        if d.empty:
            raise ScalelawError(f"--split {split}: the logs have no {split} loss")
    elif "split" in d and (d["split"] == "val").any():
        d = d[d["split"] == "val"]
    out = d.sort_values("step").groupby("run", observed=True, sort=False).tail(1)
    return out.reset_index(drop=True)


def load_table(paths, fmt=None, final=False, split=None):
    """One frame from one or more files: run tables as they are, logs via ``read_log``
    (reduced to each run's last point with ``final``)."""
    import pandas as pd

    from ..io import detect_format, read_log
    from ..io.table import read_table
    frames = []
    for path in paths:
        f = fmt or detect_format(path)
        if final:
            df = final_points(read_log(path, format=fmt), split)
        else:
            df = read_table(path) if f == "table" else read_log(path, format=fmt)
        if len(paths) > 1:
            df = df.assign(file=str(path))
        frames.append(df)
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
