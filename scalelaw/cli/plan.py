"""``scalelaw plan``: choose a learning-rate schedule for a step budget from a fitted LR law,
or lay out a fresh IsoFLOP grid of runs (``--isoflop``)."""
from __future__ import annotations

HELP = "pick the schedule with the lowest predicted final loss for a step budget, or lay out an IsoFLOP grid"
DESCRIPTION = """Search a schedule family with a fitted LR-schedule law (FIT.json from
`scalelaw fit ... --law multipower|momentum`) and rank the candidates by predicted final loss.

  scalelaw plan mpl.json --steps 24000 --peak 3e-4 --warmup 2160
  scalelaw plan mpl.json --steps 24000 --peak 3e-4 --warmup 2160 --family cosine
  scalelaw plan mpl.json --compare cosine:peak=3e-4,final=3e-5,steps=24000,warmup=2160 \\
                                   wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2

With --isoflop, a fresh IsoFLOP grid instead: per compute budget, --points model sizes N
log-spaced from N*/SPREAD to N*·SPREAD around a prior guess of the compute-optimal N*
(Chinchilla's published law, or FIT.json when given: a fitted law in N and D), each trained on
D = C/(k·N) tokens.

  scalelaw plan --isoflop --budgets 1e18,1e19,1e20 --points 7 --out grid.csv
  scalelaw plan fit.json --isoflop --budgets 1e20,1e21 --spread 3"""


def add_arguments(p):
    p.add_argument("fit", metavar="FIT.json", nargs="?",
                   help="a fitted LR-schedule law (schedules); with --isoflop optional, a fitted "
                        "law in N and D for the prior guess of N*")
    p.add_argument("--steps", type=int, help="step budget (total steps, warmup included)")
    p.add_argument("--peak", type=float, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=0, help="warmup steps (linear from 0)")
    p.add_argument("--family", choices=("wsd", "cosine"), default="wsd")
    p.add_argument("--finals", nargs="+", type=float, metavar="LR",
                   help="final learning rates to try (default: 0, 1%% and 10%% of peak)")
    p.add_argument("--compare", nargs="+", metavar="SPEC", help="rank these schedules instead")
    p.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    p.add_argument("--out", metavar="OUT.csv", help="write every candidate (or the IsoFLOP grid) "
                   "as CSV ('-': standard output; the ranking then goes to stderr)")
    iso = p.add_argument_group("IsoFLOP grid (--isoflop)")
    iso.add_argument("--isoflop", action="store_true", help="lay out a fresh IsoFLOP grid of runs")
    iso.add_argument("--budgets", metavar="C1,C2,...", help="compute budgets in FLOPs, e.g. 1e18,1e19,1e20")
    iso.add_argument("--points", type=int, default=7, help="model sizes per budget (default 7)")
    iso.add_argument("--spread", type=float, default=4.0,
                     help="sizes from N*/SPREAD to N*·SPREAD (default 4)")
    iso.add_argument("--flops-per-token", type=float, default=6.0, metavar="K",
                     help="k in C = k*N*D (default 6)")


#: schedule options that mean nothing for --isoflop (and the reverse)
_SCHEDULE_OPTIONS = ("steps", "peak", "finals", "compare")
_ISOFLOP_OPTIONS = ("budgets",)


def run(args) -> int:
    from ..errors import ScalelawError
    from ._common import check_outputs, report_stream

    check_outputs([("--out", args.out, False)], inputs=[args.fit] if args.fit else [])
    if args.isoflop:
        return _isoflop(args, report_stream(args.out))
    given = [f"--{n}" for n in _ISOFLOP_OPTIONS if getattr(args, n, None)]
    if given:
        raise ScalelawError(f"{', '.join(given)} go with --isoflop (a fresh IsoFLOP grid)")
    if not args.fit:
        raise ScalelawError("give FIT.json (a fitted LR-schedule law) with --steps N and --peak LR, "
                            "or --isoflop --budgets C1,C2,... for an IsoFLOP grid")
    return _schedules(args, report_stream(args.out))


def _isoflop(args, out) -> int:
    from ..errors import ScalelawError
    from ..suggest import isoflop_grid
    from ._common import read_fit, wrote

    given = [f"--{n}" for n in _SCHEDULE_OPTIONS if getattr(args, n, None)]
    if given:
        raise ScalelawError(f"{', '.join(given)} choose a schedule; --isoflop lays out runs: "
                            "leave them out")
    if not args.budgets:
        raise ScalelawError("--isoflop needs the compute budgets: --budgets 1e18,1e19,1e20")
    budgets = []
    for item in str(args.budgets).replace(" ", ",").split(","):
        if not item:
            continue
        try:
            budgets.append(float(item))
        except ValueError:
            raise ScalelawError(f"--budgets: {item!r} is not a number of FLOPs (e.g. "
                                "--budgets 1e18,1e19,1e20)") from None
    if args.points < 1 or not args.spread >= 1 or (args.points > 1 and args.spread == 1):
        raise ScalelawError("--points must be at least 1 and --spread above 1 (sizes from N*/SPREAD "
                            "to N*·SPREAD)")
    fit = read_fit(args.fit) if args.fit else None
    grid = isoflop_grid(budgets, points=args.points, fit=fit, spread=args.spread,
                        flops_per_token=args.flops_per_token)
    if args.out:
        from .._output import open_output
        with open_output(args.out, label=f"--out {args.out}") as f:
            grid.to_csv(f, index=False)
    import pandas as pd
    with pd.option_context("display.width", 200):
        print(grid.to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=out)
    print(f"\n{len(grid)} runs: {len(budgets)} budget(s) x {args.points} size(s), N from N*/"
          f"{args.spread:g} to N*x{args.spread:g} around N* of {grid.attrs['prior']}; "
          f"D = C/({grid.attrs['flops_per_token']:g}*N)", file=out)
    if args.out:
        wrote(args.out, f"{len(grid)} runs", stream=out)
    return 0


def _schedules(args, out) -> int:
    from ..errors import ScalelawError
    from ..forecast import compare_schedules, optimize_schedule
    from ..laws import curve_law_names
    from ._common import read_fit, wrote

    res = read_fit(args.fit)
    if not res.law.predicts_curves:
        raise ScalelawError(f"{args.fit} is a {res.law.name} fit; plan needs an LR-schedule law "
                            f"({', '.join(curve_law_names())})")
    if args.compare:
        table = compare_schedules(res, args.compare)
        cols = ["schedule", "final_loss", "loss_lower", "loss_upper"]
    else:
        if not args.steps or not args.peak:
            raise ScalelawError("give the budget with --steps N and --peak LR (or --compare SPEC ...)")
        if args.steps <= args.warmup or args.peak <= 0 or args.warmup < 0:
            raise ScalelawError("need --steps > --warmup >= 0 and --peak > 0")
        table = optimize_schedule(res, args.steps, args.peak, warmup=args.warmup,
                                  family=args.family, finals=args.finals)
        cols = ["spec", "final_loss"]
    if args.out:
        from .._output import open_output
        with open_output(args.out, label=f"--out {args.out}") as f:
            table.to_csv(f, index=False)
    import pandas as pd
    with pd.option_context("display.width", 200, "display.max_colwidth", 120):
        print(table[cols].head(args.top).to_string(index=False, float_format=lambda v: f"{v:.5f}"),
              file=out)
    best = table.iloc[0]
    if not bool(best["valid"]):
        raise ScalelawError("no schedule has a positive predicted final loss: the fitted law is "
                            "outside its valid region for these schedules; none is recommended")
    invalid = int((~table["valid"]).sum())
    if invalid:
        print(f"\n{invalid} candidate(s) with a predicted final loss <= 0 ranked last (outside the "
              "law's valid region)", file=out)
    print(f"\nbest: {best[cols[0]]} (predicted final loss {best['final_loss']:.5f})", file=out)
    if args.out:
        wrote(args.out, f"{len(table)} candidates", stream=out)
    return 0
