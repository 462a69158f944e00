"""``scalelaw report``: a self-contained HTML report (and a Markdown twin) of fits."""
from __future__ import annotations

HELP = "write a self-contained HTML report (and a Markdown twin) of one or more fits"
DESCRIPTION = """Write DIR/report.html, one self-contained file (figures embedded, style and
script inline, nothing loaded from anywhere), DIR/report.md beside it with the figures as
files in DIR/figures/. For each FIT.json (from `scalelaw fit --json`): the summary, the
parameters with their intervals, metrics, holdout scores, the forecast figure and the
prediction at a target, the compute-optimal allocation (chinchilla fits) and the notes the
fit made; for an LR-schedule fit (momentum, multipower) its predicted curves and a live
schedule explorer (sliders for a WSD schedule's cooldown fraction and shape, final LR and
step budget; the curve is recomputed in the page from the fitted parameters). With --data
(the runs or logs the fits were made from): the runs in the figures, leave-one-group-out
scores of scaling laws (the law refitted without each group), and for LR-schedule fits each
log predicted and scored. Last, the provenance: scalelaw's version, the SHA-256 of every
input file and this command line (a date only with --timestamp, so that the same inputs give
the same bytes). A progress bar on a terminal."""


def add_arguments(p):
    p.add_argument("fits", nargs="+", metavar="FIT.json", help="fits written by `scalelaw fit --json`")
    p.add_argument("--data", nargs="+", metavar="FILE", default=[],
                   help="the runs (a table, for scaling-law fits) or training logs (for LR-schedule "
                        "fits) the fits were made from; each file goes to every fit it has the columns "
                        "for")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder of report.html, report.md and figures/ (created if needed)")
    p.add_argument("--title", default=None, help="the report's title (default: scalelaw report: FIT names)")
    p.add_argument("--target", default=None, metavar="X",
                   help="the forecast's target: a compute budget in FLOPs (laws of N and D) or a value of "
                        "the law's variable (default: ten times the largest fitted value)")
    p.add_argument("--compute", nargs="+", default=None, metavar="C",
                   help="budgets in FLOPs of the allocation table (chinchilla fits; default three "
                        "decades from the largest fitted budget)")
    p.add_argument("--by", default=None, metavar="COLUMN",
                   help="column of the --data runs whose groups leave-one-group-out leaves out "
                        "(default: the column of the law's N, else of its variable)")
    p.add_argument("--where", default=None, metavar="EXPR",
                   help="rows of the --data runs to use (as the fit's --where), e.g. \"tokenizer == 'none'\"; "
                        "for logs, the steps to score, e.g. 'step >= 400'")
    p.add_argument("--timestamp", action="store_true", help="record the date and time in the provenance")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _float(text, flag):
    import math

    from ..errors import ScalelawError
    try:
        v = float(text)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ScalelawError(f"{flag} {text}: give a positive number, e.g. 1e23")
    return v


def _serves(res, path, cache):
    """The data ``path`` gives fit ``res`` (a table of runs with the columns the fit used, or
    logs with step, lr and loss for an LR-schedule fit), or None."""
    from ..errors import ScalelawError
    key = ("curves" if res.law.predicts_curves else "table", path)
    if key not in cache:
        try:
            if key[0] == "curves":
                from ..io import read_curves
                cache[key] = read_curves(path)
            else:
                from ._common import load_table
                cache[key] = load_table([path])
        except ScalelawError as e:
            cache[key] = e
    frame = cache[key]
    if isinstance(frame, Exception):
        return None
    if key[0] == "table":
        law = res.law
        need = [s for c, s in (res.mapping or {}).items() if c in (*law.variables, "loss")] or list(law.variables)
        if not all(c in set(map(str, frame.columns)) for c in need):
            return None
    return frame


class _Bar:
    """The library's ``progress(done, total)`` hook as a bar (made at the first call, when the
    total is known)."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def __call__(self, done, total):
        if self.bar is None:
            from ._progress import Progress
            self.bar = Progress("report", total, quiet=self.quiet, unit="step")
        self.bar(done, total)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run(args) -> int:
    import os
    import shlex
    import sys

    import pandas as pd

    from .._output import check_output, make_folder
    from ..errors import ScalelawError
    from ..report import ReportFit, write_report
    from ._common import read_fit, wrote
    from ._progress import _tty

    for path in [*args.fits, *args.data]:
        if not os.path.isfile(path):
            raise ScalelawError(f"file not found: {path}" if not os.path.exists(path) else
                                f"{path} is not a file; give a fit JSON or a table/log file")
    target = None if args.target is None else _float(args.target, "--target")
    budgets = None if args.compute is None else [_float(c, "--compute") for c in args.compute]
    folder = make_folder(args.out, label=f"--out {args.out}")
    inputs = [*args.fits, *args.data]
    for name in ("report.html", "report.md"):
        check_output(os.path.join(folder, name), inputs=inputs, label=os.path.join(args.out, name))
    results = [read_fit(p) for p in args.fits]
    cache: dict = {}
    data = {i: [] for i in range(len(results))}
    for path in args.data:
        users = [i for i, res in enumerate(results) if _serves(res, path, cache) is not None]
        if not users:
            kinds = {"LR-schedule" if r.law.predicts_curves else "scaling-law" for r in results}
            raise ScalelawError(f"--data {path} fits none of the fits: it is neither a table of runs with "
                                f"the columns the {'/'.join(sorted(kinds))} fit uses nor a log with step, lr "
                                "and loss; give the runs or logs the fits were made from")
        for i in users:
            data[i].append(_serves(results[i], path, cache).assign(_file=os.path.basename(path)))
    fits = []
    stems = [os.path.splitext(os.path.basename(p))[0] for p in args.fits]
    for i, (res, path) in enumerate(zip(results, args.fits)):
        frames = data[i]
        frame = None
        if frames:
            frame = pd.concat(frames, ignore_index=True).drop(columns="_file") if len(frames) > 1 \
                else frames[0].drop(columns="_file")
        name = stems[i] if stems.count(stems[i]) == 1 else f"{stems[i]} ({i + 1})"
        fits.append(ReportFit(res, name=name, data=frame, source=path, where=args.where, target=target,
                              logo_by=args.by, budgets=budgets))
    title = args.title or ("scalelaw report: " + ", ".join(stems))
    command = "scalelaw " + shlex.join(sys.argv[1:]) if os.path.basename(sys.argv[0]) == "scalelaw" \
        else "scalelaw report " + shlex.join(_argv(args))
    bar = _Bar(args.quiet or not _tty(sys.stderr))     # quiet off a terminal
    try:
        out = write_report(fits, folder, title=title, inputs=inputs, command=command,
                           timestamp=args.timestamp, progress=bar, label=args.out)
    finally:
        bar.close()
    wrote(os.path.join(args.out, "report.html"), f"{out['bytes'] / 1024:.0f} KB, self-contained")
    wrote(os.path.join(args.out, "report.md"), f"figures in {os.path.join(args.out, 'figures')}")
    return 0


def _argv(args) -> list[str]:
    """The command's arguments rebuilt from the parsed options (when not run as ``scalelaw``)."""
    out = list(args.fits)
    if args.data:
        out += ["--data", *args.data]
    out += ["--out", args.out]
    for flag in ("title", "target", "by", "where"):
        v = getattr(args, flag)
        if v is not None:
            out += [f"--{flag}", str(v)]
    if args.compute:
        out += ["--compute", *args.compute]
    if args.timestamp:
        out.append("--timestamp")
    return out
