"""`scalelaw compare`: compare variants fitted with one law (the first is the baseline).

::

    scalelaw compare FIT_A.json FIT_B.json [FIT_C.json ...] --at C=1e22 [C=...]
        [--data A.csv B.csv | --data ALL.csv --variant COL] [--names A B ...]
        [--level 0.95] [--flops-per-token K] [--json OUT] [--csv OUT]
"""
from __future__ import annotations

import argparse

HELP = "compare variants: effective compute multiplier, loss differences, probability best"
DESCRIPTION = (
    "Compare two or more fits of one law (from `scalelaw fit --json`, chinchilla on N and D or "
    "powerlaw_const on C); the first fit is the baseline A. For each other variant X: the "
    "effective compute multiplier m(C) = C_A(L*_X(C)) / C (the compute A needs to reach X's "
    "compute-optimal loss, as a ratio) and the difference of the frontiers L*_X(C) - L*_A(C), "
    "with percentile intervals over the fits' bootstrap draws, over the fitted compute range and "
    "at each --at budget; the probability each variant is best (lowest L*) there; and with "
    "--data the paired differences of the observed losses at the configurations both trained.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("fits", nargs="+", metavar="FIT.json",
                   help="fits written by `scalelaw fit --json` (the first is the baseline)")
    p.add_argument("--at", nargs="+", default=[], metavar="C=FLOPS",
                   help="budgets of interest, e.g. --at C=1e22 C=1e23 (the table also spans the "
                        "fitted compute range)")
    p.add_argument("--names", nargs="+", metavar="NAME",
                   help="one name per fit (default: the file names without .json)")
    p.add_argument("--data", nargs="+", metavar="TABLE",
                   help="the training tables for paired differences: one per fit, in the order "
                        "of the fits, or one table with a --variant column")
    p.add_argument("--variant", metavar="COL",
                   help="the column of a single --data table that names each row's variant "
                        "(its values are the --names)")
    p.add_argument("--flops-per-token", type=str, default=None, metavar="K",
                   help="k in C = k·N·D (default: what the fits used, else 6)")
    p.add_argument("--level", type=str, default="0.95",
                   help="confidence level of the intervals (default 0.95)")
    p.add_argument("--points", type=int, default=13, metavar="N",
                   help="budgets in the table over the fitted compute range (default 13)")
    p.add_argument("--draws", type=int, default=1000, metavar="N",
                   help="parameter draws from the covariance of a fit without bootstrap draws "
                        "(default 1000, or as many as the other fits' bootstraps)")
    p.add_argument("--seed", type=int, default=0, help="seed of those draws (default 0)")
    p.add_argument("--json", metavar="OUT", help="also write the result as JSON to OUT ('-': "
                   "standard output; the report then goes to stderr)")
    p.add_argument("--csv", metavar="OUT", help="also write the tidy table (one row per budget "
                   "and variant) as CSV to OUT")


def _number(text: str, what: str) -> float:
    import math

    from ..errors import ScalelawError
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise ScalelawError(f"{what}: {text!r} is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise ScalelawError(f"{what} must be a positive finite number, got {text}")
    return v


def run(args) -> int:
    import json
    import sys
    import warnings

    from .._output import write_text
    from ..errors import ScalelawError, ScalelawWarning
    from ._common import check_outputs, report_stream, wrote

    inputs = list(args.fits) + list(args.data or [])
    check_outputs([("--json", args.json, False), ("--csv", args.csv, False)], inputs=inputs)
    if len(args.fits) < 2:
        raise ScalelawError(f"{len(args.fits)} fit given: give two or more FIT.json files of "
                            "variants (the first is the baseline)")
    if args.variant and (not args.data or len(args.data) != 1):
        raise ScalelawError("--variant names the variant column of one --data table; give exactly one")
    if args.data and not args.variant and len(args.data) != len(args.fits):
        raise ScalelawError(f"--data has {len(args.data)} table(s) for {len(args.fits)} fits: give "
                            "one table per fit in the order of the fits, or one table with --variant COL")
    if args.names and len(args.names) != len(args.fits):
        raise ScalelawError(f"--names has {len(args.names)} name(s) for {len(args.fits)} fits: "
                            "give one name per fit")
    level = _number(args.level, "--level")
    if not 0 < level < 1:
        raise ScalelawError(f"--level must be between 0 and 1 (e.g. 0.95), got {args.level}")
    k = None if args.flops_per_token is None else _number(args.flops_per_token, "--flops-per-token")
    if args.points < 2:
        raise ScalelawError(f"--points {args.points}: give at least 2 budgets")
    if args.draws < 2:
        raise ScalelawError(f"--draws {args.draws}: give at least 2 draws (e.g. 1000)")
    out = report_stream(args.json, args.csv)
    from ..compare import compare
    data = None
    if args.data:
        data = args.data[0] if args.variant else list(args.data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = compare(args.fits, at=args.at, alpha=1 - level, names=args.names,
                          flops_per_token=k, data=data, by=args.variant, points=args.points,
                          n_draws=args.draws, seed=args.seed)
        finally:
            seen = set()
            for w in caught:
                if not issubclass(w.category, ScalelawWarning):
                    continue
                msg = str(w.message).splitlines()[0]
                if msg not in seen and ("res" not in locals() or msg not in res.notes):
                    seen.add(msg)
                    print(f"scalelaw compare: warning: {msg}", file=sys.stderr)
    print(res.summary(), file=out)
    if args.json:
        text = json.dumps({**res.to_dict(), "sources": list(args.fits)}, indent=2) + "\n"
        write_text(args.json, text, label=args.json if args.json == "-" else f"--json {args.json}")
        wrote(args.json, "comparison", stream=out)
    if args.csv:
        write_text(args.csv, res.frame.to_csv(index=False),
                   label=args.csv if args.csv == "-" else f"--csv {args.csv}")
        wrote(args.csv, "table", stream=out)
    return 0
