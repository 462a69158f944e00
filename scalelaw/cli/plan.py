"""``scalelaw plan``: choose a learning-rate schedule for a step budget from a fitted LR law."""
from __future__ import annotations

HELP = "pick the schedule with the lowest predicted final loss for a step budget"
DESCRIPTION = """Search a schedule family with a fitted LR-schedule law (FIT.json from
`scalelaw fit ... --law multipower|momentum`) and rank the candidates by predicted final loss.

  scalelaw plan mpl.json --steps 24000 --peak 3e-4 --warmup 2160
  scalelaw plan mpl.json --steps 24000 --peak 3e-4 --warmup 2160 --family cosine
  scalelaw plan mpl.json --compare cosine:peak=3e-4,final=3e-5,steps=24000,warmup=2160 \\
                                   wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2"""


def add_arguments(p):
    p.add_argument("fit", metavar="FIT.json")
    p.add_argument("--steps", type=int, help="step budget (total steps, warmup included)")
    p.add_argument("--peak", type=float, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=0, help="warmup steps (linear from 0)")
    p.add_argument("--family", choices=("wsd", "cosine"), default="wsd")
    p.add_argument("--finals", nargs="+", type=float, metavar="LR",
                   help="final learning rates to try (default: 0, 1%% and 10%% of peak)")
    p.add_argument("--compare", nargs="+", metavar="SPEC", help="rank these schedules instead")
    p.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    p.add_argument("--out", metavar="OUT.csv", help="write every candidate as CSV ('-': standard "
                   "output; the ranking then goes to stderr)")


def run(args) -> int:
    from ..errors import ScalelawError
    from ..forecast import compare_schedules, optimize_schedule
    from ..laws import curve_law_names
    from ._common import check_outputs, read_fit, report_stream, wrote

    check_outputs([("--out", args.out, False)], inputs=[args.fit])
    out = report_stream(args.out)
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
