"""``scalelaw fit``: fit a law to a table of runs or to training logs."""
from __future__ import annotations

HELP = "fit a scaling law (or an LR-schedule law) to runs or logs"
DESCRIPTION = """Fit a law and print its summary.

Scaling laws read a table of runs (N, D, C, loss; columns matched by name and synonym;
D = C/(6N) derived when only N and C are there).  LR-schedule laws (momentum, multipower,
s1power) read per-step training logs (step, lr, loss) of one or more runs.
Examples:
  scalelaw fit runs.csv --law chinchilla --bootstrap 1000 --json fit.json
  scalelaw fit runs.csv --formula 'E + A*N**-alpha' --where 'C <= 1e21' --holdout 'C > 1e21'
  scalelaw fit cosine.csv wsd.csv --law multipower --warmup 2160 --json mpl.json"""


def add_common_data_args(p):
    p.add_argument("--x", nargs="+", metavar="COL", help="column(s) for the law's variables, in order")
    p.add_argument("--y", metavar="COL", help="target column (default: loss and its synonyms)")
    p.add_argument("--format", help="log format when it cannot be detected (see scalelaw inspect)")
    p.add_argument("--flops-per-token", type=float, default=6.0, metavar="K",
                   help="C = K*N*D when deriving compute or tokens (default 6)")
    p.add_argument("--final", action="store_true",
                   help="training logs: keep each run's last logged loss (validation if logged)")


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE", help="table of runs or training log(s)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--law", help="law name: powerlaw, powerlaw_const, chinchilla, kaplan, nmt, "
                                 "bnsl, bnsl2, momentum, momentum_n, multipower, s1power")
    g.add_argument("--formula", help="formula such as 'E + A*N**-alpha + B*D**-beta'")
    add_common_data_args(p)
    p.add_argument("--where", metavar="EXPR", help="rows to fit, e.g. 'C <= 1e21'")
    p.add_argument("--holdout", metavar="EXPR", help="rows to score (excluded from the fit)")
    p.add_argument("--fix", nargs="+", default=[], metavar="P=V", help="hold parameters fixed")
    p.add_argument("--start", nargs="+", default=[], metavar="P=V", help="start values")
    p.add_argument("--bounds", nargs="+", default=[], metavar="P=LO:HI", help="parameter bounds")
    p.add_argument("--objective", choices=("huber", "l2"), default="huber", help="per-point loss (default huber)")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber delta (default 1e-3)")
    p.add_argument("--space", choices=("log", "linear"), default="log", help="residual space (default log)")
    p.add_argument("--overpredict", type=float, default=0.0, metavar="K",
                   help="weigh over-predictions (1+K) times as much")
    p.add_argument("--weights", metavar="COL", help="column of per-point weights")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N", help="bootstrap resamples")
    p.add_argument("--groups", metavar="COL", help="resample whole groups (e.g. N) in the bootstrap; "
                   "LR-schedule laws: block (default), run or point")
    p.add_argument("--cv", metavar="COL", help="also report leave-one-group-out scores by COL")
    p.add_argument("--n-jobs", type=int, default=None, help="processes for the bootstrap")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strict", action="store_true", help="refuse NaN/inf rows instead of dropping them")
    p.add_argument("--json", metavar="OUT", help="write the fit as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="write a plot of data and fit")
    # per-step logs (LR-schedule laws)
    lr = p.add_argument_group("training logs (LR-schedule laws)")
    lr.add_argument("--step", metavar="COL", help="step column")
    lr.add_argument("--lr", metavar="COL", help="learning-rate column")
    lr.add_argument("--loss", metavar="COL", help="loss column")
    lr.add_argument("--run", metavar="COL", help="run column")
    lr.add_argument("--warmup", type=int, metavar="W",
                    help="linear warmup from 0 over W steps before the first logged LR")
    lr.add_argument("--warmup-schedule", metavar="SPEC",
                    help="schedule spec giving the LR before the first logged step")
    lr.add_argument("--split", choices=("train", "val"),
                    help="which loss of the logs to fit (LR-schedule laws and --final; "
                         "default: val when logged, else train)")
    lr.add_argument("--smooth", metavar="SPEC", help="smooth noisy losses: ema[:a], median[:w] or lowess[:frac]")
    lr.add_argument("--convention", choices=("auto", "tissue", "actual", "released", "paper"),
                    help="how warmup enters the areas (momentum family: auto|tissue|actual, "
                         "default auto; multipower: released|paper, default released)")
    lr.add_argument("--amplitude", choices=("anchored", "free"),
                    help="multipower's B: anchored (default) by the law's saturated limit, "
                         "or free (fitted jointly with the other six)")
    lr.add_argument("--lam", default="fit", metavar="L|fit",
                    help="momentum law's lambda: 'fit' (default) or a fixed value such as 0.999")


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


def run(args) -> int:
    import warnings

    from ..errors import ScalelawError, ScalelawWarning
    from ..laws import SCHEDULE_LAWS

    law = args.formula or args.law
    if not law:
        raise ScalelawError("choose a law with --law NAME or --formula EXPR")
    check_writable(args.json, args.plot)
    if args.law and args.law.lower() in SCHEDULE_LAWS:
        from ._lr import fit_logs
        return fit_logs(args)
    lr_only = given_options(args, ("step", "lr", "run", "warmup", "warmup_schedule", "smooth",
                                   "convention", "amplitude", "lam") + (() if args.final else ("split",)))
    if lr_only:
        raise ScalelawError(f"{', '.join(lr_only)} apply to the LR-schedule laws "
                            f"({', '.join(SCHEDULE_LAWS)}), not {law}")
    from .. import fit as fit_mod
    from ..laws import get_law
    fix = parse_assignments(args.fix, "--fix")
    start = parse_assignments(args.start, "--start")
    bounds = parse_assignments(args.bounds, "--bounds", allow_range=True)
    if args.bootstrap < 0:
        raise ScalelawError("--bootstrap must be >= 0")
    data = load_table(args.files, args.format, final=args.final, split=args.split)
    law_obj = get_law(law, variables=args.x) if args.formula and args.x else get_law(law)
    x = None if (args.formula and args.x) else args.x
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalelawWarning)
        res = fit_mod.fit(data, law_obj, x=x, y=args.y or args.loss, where=args.where,
                          holdout=args.holdout, weights=args.weights, groups=args.groups, fix=fix,
                          start=start, bounds=bounds, loss=args.objective, delta=args.delta,
                          space=args.space, overpredict=args.overpredict,
                          bootstrap=args.bootstrap, seed=args.seed, n_jobs=args.n_jobs,
                          strict=args.strict, flops_per_token=args.flops_per_token)
        print(res.summary())
        if args.cv:
            cv = fit_mod.leave_one_group_out(data, law_obj, by=args.cv, x=x, y=args.y or args.loss,
                                             fix=fix, loss=args.objective, delta=args.delta,
                                             space=args.space, flops_per_token=args.flops_per_token)
            print(f"\nleave-one-group-out by {args.cv}:")
            print(cv.to_string(index=False))
            m = cv.attrs["mean"]
            print(f"mean: RMSE {m['rmse']:.4g}, MAPE {100 * m['mape']:.3f}%, max |err| {m['max_abs_err']:.4g}")
    for w in caught:
        print(f"warning: {w.message}")
    if args.json:
        res.to_json(args.json)
        print(f"wrote {args.json}")
    if args.plot:
        from ..plot import plot_fit
        plot_fit(res, args.plot)
        print(f"wrote {args.plot}")
    return 0
