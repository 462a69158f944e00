"""``scalelaw suggest``: the runs that shrink a forecast's interval the most per FLOP."""
from __future__ import annotations

HELP = "suggest the next runs: those that shrink the forecast's interval at a target most per FLOP"
DESCRIPTION = """From a fitted scaling law (FIT.json from `scalelaw fit --json`), choose up to
--n runs (N, D) within --budget FLOPs that shrink the interval of the forecast at --target the
most per FLOP (expected reduction of the forecast's variance, from the fit's covariance;
docs/suggest.md).

  scalelaw suggest fit.json --target C=1e24 --budget 1e21
  scalelaw suggest fit.json --target N=7e10 D=1.4e12 --budget 5e20 --n 6 --out runs.csv
  scalelaw suggest fit.json --target C=1e24 --budget 1e21 --candidates mine.csv

A compute target C is the compute-optimal loss L*(C) under C = k*N*D. Candidates: IsoFLOP lines
(two per decade, up to the budget) around the fitted compute-optimal frontier, their N and
tokens per parameter within --outside (2x) of the fitted runs'; or --candidates (a table with
N and D under any name fit reads, e.g. params and tokens, or N and C; optionally a cost column
named by --cost-column). --cost prices the runs by another cost model (e.g.
attention:n_ctx=8192,aspect=128). The column extrapolation says how far each run lies outside
the fitted region (1: inside). The shrink assumes a least-squares fit (--objective l2)."""


def add_arguments(p):
    p.add_argument("fit", metavar="FIT.json")
    p.add_argument("--target", nargs="+", required=True, metavar="VAR=VALUE",
                   help="C=FLOPs (the compute-optimal loss at C) or the law's variables (N=.. D=..)")
    p.add_argument("--budget", type=float, required=True, metavar="FLOPS",
                   help="FLOPs to spend on the new runs (their costs add up to at most this)")
    p.add_argument("--n", type=int, default=4, metavar="K", help="most runs to suggest (default 4)")
    p.add_argument("--candidates", metavar="FILE", help="table of candidate runs (N, D, ...)")
    p.add_argument("--cost", metavar="SPEC",
                   help="cost model of a run, e.g. attention:n_ctx=8192,aspect=128 (docs/costs.md; "
                        "default k*N*D); the default candidates lie on its equal-cost curves")
    p.add_argument("--cost-column", metavar="COL",
                   help="column of --candidates holding each run's cost in FLOPs (a column named "
                        "cost is used without it)")
    p.add_argument("--flops-per-token", type=float, default=None, metavar="K",
                   help="k in C = k*N*D (default: the k the fit derived D with, else 6; another k "
                        "than the fit's is refused)")
    p.add_argument("--new-run-sd", type=float, metavar="S",
                   help="sd of one new run's loss about the law, on the fit's scale (log loss for "
                        "log-space fits; default: from the fit)")
    p.add_argument("--cov", choices=("asymptotic", "bootstrap"), default="asymptotic",
                   help="the fit's covariance to start from (default asymptotic; bootstrap needs a "
                        "fit with --bootstrap)")
    p.add_argument("--points", type=int, default=9, help="sizes per IsoFLOP line of the default "
                   "candidates (default 9)")
    p.add_argument("--spread", type=float, default=8.0, help="the default candidates' sizes run "
                   "from N*/SPREAD to N*·SPREAD (default 8)")
    p.add_argument("--outside", type=float, default=2.0, metavar="FACTOR",
                   help="keep the default candidates' N and tokens per parameter within FACTOR of "
                        "the fitted runs' (default 2; inf: no limit)")
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level (default 0.05)")
    p.add_argument("--out", metavar="OUT.csv", help="write the suggested runs as CSV ('-': standard "
                   "output; the report then goes to stderr)")


def run(args) -> int:
    import warnings

    from ..errors import ScalelawError, ScalelawWarning
    from ._common import check_outputs, parse_assignments, read_fit, report_stream, wrote

    check_outputs([("--out", args.out, False)], inputs=[args.fit, args.candidates])
    out = report_stream(args.out)
    if not 0 < args.alpha < 1:
        raise ScalelawError("--alpha must be between 0 and 1")
    if not args.budget > 0:
        raise ScalelawError(f"--budget {args.budget:g}: give the FLOPs to spend, a positive number (e.g. 1e21)")
    if args.n < 1:
        raise ScalelawError(f"--n {args.n}: ask for at least 1 run")
    if args.new_run_sd is not None and not args.new_run_sd > 0:
        raise ScalelawError(f"--new-run-sd {args.new_run_sd:g}: give a positive standard deviation "
                            "(log loss for log-space fits, e.g. 0.01)")
    if not args.outside >= 1:
        raise ScalelawError(f"--outside {args.outside:g}: give a factor >= 1 (1: inside the fitted "
                            "region; inf: no limit)")
    if args.points < 1 or not args.spread >= 1 or (args.points > 1 and args.spread == 1):
        raise ScalelawError("--points must be at least 1 and --spread above 1 (sizes from N*/SPREAD "
                            "to N*·SPREAD)")
    target = parse_assignments(args.target, "--target")
    if args.cost_column and not args.candidates:
        raise ScalelawError("--cost-column names a column of --candidates: give --candidates FILE")
    if args.cost_column and args.cost:
        raise ScalelawError("--cost and --cost-column both price the runs: give one")
    res = read_fit(args.fit)
    if args.cov == "bootstrap" and getattr(res, "boot", None) is None:
        raise ScalelawError(f"--cov bootstrap needs bootstrap draws; {args.fit} has none: refit with "
                            "scalelaw fit ... --bootstrap 1000 --json FIT.json")
    candidates = None
    if args.candidates:
        from ._common import load_table
        candidates = load_table([args.candidates])
        if args.cost_column and args.cost_column not in candidates:
            raise ScalelawError(f"--cost-column {args.cost_column}: {args.candidates} has no such "
                                f"column (it has {', '.join(map(str, candidates.columns))})")
        if args.cost_column:
            candidates = candidates.drop(columns=[c for c in ("cost",) if c != args.cost_column
                                                  and c in candidates]).rename(
                columns={args.cost_column: "cost"})
    from ..suggest import suggest_runs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalelawWarning)
        table = suggest_runs(res, target, args.budget, n=args.n, candidates=candidates,
                             cost=args.cost, flops_per_token=args.flops_per_token,
                             new_run_sd=args.new_run_sd, cov=args.cov, alpha=args.alpha,
                             points=args.points, spread=args.spread, outside=args.outside)
    for w in caught:                  # said once, in the notes below
        if not issubclass(w.category, ScalelawWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if args.out:
        from .._output import open_output
        with open_output(args.out, label=f"--out {args.out}") as f:
            table.to_csv(f, index=False)
    _report(table, target, args, out)
    if args.out:
        wrote(args.out, f"{len(table)} suggested run(s)", stream=out)
    return 0


def _report(table, target, args, out) -> None:
    import pandas as pd

    a = table.attrs
    t = a["target"]
    level = f"{100 * (1 - args.alpha):g}%"
    where = (f"L*(C={t['C']:.3g}) at N={t['N']:.3g}, D={t['D']:.3g}" if "C" in target
             else "loss at " + ", ".join(f"{k}={v:.3g}" for k, v in target.items()))
    cols = [c for c in ("rank", "N", "D", "C", "cost", "charged", "loss_pred", "var_reduction",
                        "reduction_per_flop", "target_sd", "extrapolation") if c in table]
    with pd.option_context("display.width", 200):
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=out)
    print(f"\ntarget: {where} = {t['loss']:.4f} {a['unit']}", file=out)
    print(f"{level} interval now:   [{a['lower_before']:.4f}, {a['upper_before']:.4f}]  "
          f"(sd {a['sd_before']:.4g} in {a['scale']})", file=out)
    shrink = 100 * (1 - a["sd_after"] / a["sd_before"]) if a["sd_before"] > 0 else 0.0
    print(f"{level} interval after: [{a['lower_after']:.4f}, {a['upper_after']:.4f}]  "
          f"(sd {a['sd_after']:.4g}, {shrink:.1f}% narrower) with these {len(table)} run(s), "
          f"{a['spent']:.3g} of {a['budget']:.3g} FLOPs", file=out)
    print(f"assumes: the law is right, local linearisation, new-run sd {a['new_run_sd']:.3g} "
          f"({a['cov']} covariance)", file=out)
    for note in a["notes"]:
        print(f"note: {note}", file=out)
