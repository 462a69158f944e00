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


#: per-command remedies where a command has no flag for an option (or spells it otherwise)
COMMAND_SPELLING = {
    "predict": {"x": "rename the grid's column to the law's variable",
                "y": "rename the grid's column to the law's variable"},
    "inspect": {"step": "--column step=SOURCE", "lr": "--column lr=SOURCE",
                "loss": "--column loss=SOURCE", "run": "--run NAME"},
}


def error_text(err, command: str | None = None, parser=None) -> str:
    """A library error as the CLI says it: the option it points at spelled as a flag (in the
    place the message names it, else appended).  With ``command``/``parser``, only flags
    that command has are named (its own remedy from :data:`COMMAND_SPELLING` otherwise)."""
    import re

    from ..errors import mention
    message = getattr(err, "message", None) or str(err)
    option = getattr(err, "option", None) or ""
    flag = {**FLAG_SPELLING, **COMMAND_SPELLING.get(command or "", {})}.get(option)
    name = re.search(r"--[\w-]+", flag or "")
    if name and parser is not None and name.group() not in parser._option_string_actions:
        flag = None      # a flag this command does not have
    if not flag:
        return message
    if not name:         # a remedy in words
        return f"{message} ({flag})"
    at = mention(message, option)
    if name.group() == "--" + option and at is not None:   # "cannot parse where '...'"
        return message[:at.start()] + "--" + option + message[at.end():]
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
    """Refuse, before any work, an output path that cannot be written (kept for callers that
    have no inputs to compare with; see :func:`check_outputs`)."""
    check_outputs([("output", p, False) for p in paths])


def check_outputs(outputs, inputs=()) -> dict:
    """Check every output of a command before any work: ``outputs`` are
    ``(flag, path, is_plot)`` (no path: skipped).  Refuses a folder that does not exist or is
    not writable, a directory or special file, an output that is one of ``inputs``, two
    outputs to one file, and a plot extension matplotlib cannot write.  ``-`` is standard
    output.  Returns ``{flag: target}``."""
    from .._output import check_outputs as check
    return check([(f"{flag} {path}" if flag != "output" else str(path), path, plot)
                  for flag, path, plot in outputs if path is not None], inputs)


def report_stream(*paths):
    """Where a command's human-readable report goes: stderr when one of its outputs is
    standard output (``-``), so that the output can be piped; else stdout."""
    import sys

    from .._output import is_stdout
    return sys.stderr if any(is_stdout(p) for p in paths if p is not None) else sys.stdout


def wrote(path, what: str = "", stream=None) -> None:
    """``wrote PATH (what)`` on the report stream; nothing for standard output."""
    import sys

    from .._output import is_stdout
    if is_stdout(path):
        return
    print(f"wrote {path}" + (f" ({what})" if what else ""), file=stream or sys.stdout)


#: most bootstrap resamples a command accepts (10,000 already give percentile intervals to
#: about 1% of their width; a million take hours even for the quickest law)
MAX_BOOTSTRAP = 1_000_000


def check_bootstrap(n, flag: str = "--bootstrap") -> int:
    """A resample count: 0 (none) or 2 .. :data:`MAX_BOOTSTRAP`."""
    from ..errors import ScalelawError
    if n is None:
        return 0
    if n < 0 or n == 1:
        raise ScalelawError(f"{flag} {n}: give 0 (no bootstrap) or at least 2 resamples (e.g. 1000)")
    if n > MAX_BOOTSTRAP:
        raise ScalelawError(f"{flag} {n} is too many resamples: at most {MAX_BOOTSTRAP:,} "
                            "(10,000 already pin percentile intervals down to about 1%)")
    return int(n)


def check_bootstrap_memory(n_boot: int, n_points: int, flag: str = "--bootstrap") -> None:
    """Refuse a bootstrap whose resample weights (``n_boot`` x ``n_points`` numbers, twice
    while they are drawn) would not fit in half the memory available now."""
    import os

    from ..errors import ScalelawError
    need = 16.0 * n_boot * max(n_points, 1)
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = 8 * 2 ** 30
    if need > avail / 2:
        most = int(avail / 2 / (16.0 * max(n_points, 1)))
        raise ScalelawError(f"{flag} {n_boot} on {n_points} points needs about {need / 2 ** 30:.3g} GiB "
                            f"of memory ({avail / 2 ** 30:.3g} GiB free); give at most {most:,} resamples")


def downsample_index(n: int, k: int):
    """At most ``k`` of the indices 0..n-1, evenly spaced, first and last kept (the rule of
    ``read_log(max_points=)``)."""
    import numpy as np
    if n <= k:
        return np.arange(n)
    if k == 1:
        return np.array([n - 1])
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.int64))


def check_n_jobs(n_jobs, flag: str = "--n-jobs"):
    """``--n-jobs``: None or 1 serial, K > 1 that many processes, -1 one per core."""
    from ..errors import ScalelawError
    if n_jobs is None or n_jobs >= 1 or n_jobs == -1:
        return n_jobs
    raise ScalelawError(f"{flag} {n_jobs}: give 1 (serial, the default), a number of processes "
                        "K > 1, or -1 for one per core")


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


def load_table(paths, fmt=None, final=False, split=None, max_points=None):
    """One frame from one or more files: run tables as they are, logs via ``read_log``
    (reduced to each run's last point with ``final``; at most ``max_points`` points per run
    and split otherwise)."""
    import pandas as pd

    from ..errors import ScalelawError
    from ..io import RunTableError, detect_format, read_log
    from ..io.table import read_table
    frames = []
    dropped = 0
    for path in paths:
        f = fmt or detect_format(path)
        if final:
            df = final_points(read_log(path, format=fmt), split)
        elif f == "table" and max_points is None:
            df = read_table(path)
        else:
            try:
                df = read_log(path, format=fmt, max_points=max_points)
            except RunTableError:
                raise ScalelawError(f"--max-points thins per-step logs; {path} is a table of runs "
                                    "(one row per run)") from None
            dropped += int(df.attrs.get("scalelaw", {}).get("dropped", {}).get("downsampled", 0) or 0)
        if len(paths) > 1:
            df = df.assign(file=str(path))
        frames.append(df)
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if max_points is not None:
        out.attrs.setdefault("scalelaw", {})
        out.attrs["scalelaw"] = {**out.attrs["scalelaw"], "dropped": {
            **out.attrs["scalelaw"].get("dropped", {}), "downsampled": dropped}}
    return out


def read_fit(path, metric_ok: bool = False):
    """A fit from the JSON ``scalelaw fit --json`` wrote (another command's JSON, a two-stage
    chain, or a fit with parameters that are not numbers, is refused in one line).  A fit of
    a bounded metric (a law whose target is not the loss: ``--metric COL --link logit``) is
    refused too, for the commands that work on losses, unless ``metric_ok`` (predict)."""
    from ..fitting.results import FitResult
    res = FitResult.from_json(path)
    target = getattr(res.law, "target", "loss")
    if not metric_ok and target != "loss":
        from ..errors import ScalelawError
        raise ScalelawError(metric_fit_refusal(path, res.law.name, (res.mapping or {}).get(target)))
    return res


def metric_fit_refusal(path, law, column=None) -> str:
    """The one-line refusal of a fit of a bounded metric where a fit of the loss is needed."""
    values = "odds against success" if law == "logit" else "metric values"
    return (f"{path} is a fit of the metric {column or '(a bounded metric)'} (law {law}: its values are "
            f"{values}, not losses): this command needs a fit of the loss (scalelaw fit TABLE --law "
            f"chinchilla --json FIT.json); `scalelaw predict {path}` predicts the metric")


def check_loss_json(doc: dict, path) -> None:
    """Refuse, in one line, a fit JSON read as a plain object (allocate) that holds no fit of
    the loss: a two-stage chain (``scalelaw fit --metric COL``) or a fit of a bounded metric
    (``--link logit``, ``sigmoid_loss``)."""
    from ..errors import ScalelawError
    from ..fitting.serialize import chain_refusal
    chain = chain_refusal(doc, str(path))
    if chain:
        raise ScalelawError(chain)
    law = doc.get("law")
    law = law.get("name") if isinstance(law, dict) else law
    columns = doc.get("columns") if isinstance(doc.get("columns"), dict) else {}
    if law in ("logit", "sigmoid_loss") or "metric" in columns:
        raise ScalelawError(metric_fit_refusal(path, law, columns.get("metric")))
