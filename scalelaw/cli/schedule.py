"""`scalelaw schedule SPEC --out lr.csv [--plot lr.png]`: write a schedule's per-step LR."""
HELP = "write the per-step learning rate of a schedule spec (CSV, optional plot)"
DESCRIPTION = ("Evaluate a learning-rate schedule spec such as "
               "wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2,shape=linear "
               "and write step,lr rows (every step unless --every).")


def add_arguments(p):
    p.add_argument("spec", metavar="SPEC", help="schedule spec (see docs/lr.md) or a CSV of LRs")
    p.add_argument("--out", metavar="lr.csv", help="write step,lr as CSV ('-': standard output, the "
                   "summary then goes to stderr; default: print a summary only)")
    p.add_argument("--every", type=int, default=1, metavar="K", help="write every K-th step")
    p.add_argument("--plot", metavar="lr.png", help="also plot the schedule (.png, .pdf or .svg, "
                   "by the extension)")


#: most rows written without --every (a CSV of ~10 million rows takes tens of seconds)
MAX_ROWS = 10_000_000
#: longest schedule whose area S1 the summary sums step by step (about 1 s)
MAX_AREA_STEPS = 100_000_000


def run(args) -> int:
    import os

    from .._output import atomic_path, open_output, plot_format
    from ..errors import ScalelawError
    from ..schedules import parse_schedule
    from ._common import check_outputs, report_stream, wrote

    check_outputs([("--out", args.out, False), ("--plot", args.plot, True)],
                  inputs=[args.spec] if os.path.exists(args.spec) else [])
    out = report_stream(args.out, args.plot)
    if args.every < 1:
        raise ScalelawError("--every must be >= 1")
    s = parse_schedule(args.spec)
    rows = s.total // args.every + 1
    if rows > MAX_ROWS:
        raise ScalelawError(f"{s.total} steps would write {rows} rows; pass --every K "
                            f"(e.g. --every {max(1, s.total // 100_000)}) to thin them")
    df = s.to_frame(every=args.every)
    # S1 sums every step (about 10 ms a million): skip it where that would take minutes
    area = f"area S1 {s.area():.6g}" if s.total <= MAX_AREA_STEPS else \
        f"area S1 not summed (over {MAX_AREA_STEPS:.0e} steps)"
    print(f"{s.name}: {s.total} steps, warmup {s.warmup}, peak {df['lr'].max():.4g}, "
          f"final {df['lr'].iloc[-1]:.4g}, {area}", file=out)
    if args.out:
        with open_output(args.out, label=f"--out {args.out}") as f:
            df.to_csv(f, index=False)
        wrote(args.out, f"{len(df)} rows", stream=out)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(df["step"], df["lr"])
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.set_title(args.spec if len(args.spec) < 70 else s.name, fontsize=8)
        fig.tight_layout()
        with atomic_path(args.plot, label=f"--plot {args.plot}") as tmp:
            fig.savefig(tmp, dpi=120, format=plot_format(args.plot))
        plt.close(fig)
        wrote(args.plot, stream=out)
    return 0
