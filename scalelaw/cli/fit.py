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
  scalelaw fit cosine.csv wsd.csv --law multipower --warmup 2160 --json mpl.json
  scalelaw fit runs.csv --law auto --cv rollout          # choose the law by rollout CV
  scalelaw fit cosine.csv wsd.csv const.csv --law momentum,multipower --select stack

Several laws (--law A,B or --law auto: momentum,multipower for logs, chinchilla,kaplan for
tables with N and D) are each scored by cross-validation on whole groups (logs: leave one
run out; tables: leave one N out, or --cv rollout) and the best is kept, or with
--select stack all are combined with stacking weights.  --cv alone cross-validates one law;
its held-out errors calibrate the new-run band (cal_ci_* in scalelaw predict)."""


def add_common_data_args(p):
    p.add_argument("--x", nargs="+", metavar="COL", help="column(s) for the law's variables, in order")
    p.add_argument("--y", nargs="+", metavar="COL",
                   help="target column (default: loss and its synonyms); several columns or a glob "
                        "('loss_*') fit each target with its own parameters (docs/multitarget.md)")
    p.add_argument("--format", help="log format when it cannot be detected (see scalelaw inspect)")
    p.add_argument("--flops-per-token", type=float, default=6.0, metavar="K",
                   help="C = K*N*D when deriving compute or tokens (default 6)")
    p.add_argument("--final", action="store_true",
                   help="training logs: keep each run's last logged loss (validation if logged)")


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE", help="table of runs or training log(s)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--law", help="law name: powerlaw, powerlaw_const, chinchilla, kaplan, nmt, "
                                 "bnsl, bnsl2, momentum, momentum_n, multipower, s1power; several "
                                 "as A,B (chosen by cross-validation) or auto")
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
    p.add_argument("--bootstrap", type=int, default=None, metavar="N",
                   help="bootstrap resamples (0: none, the default; 200 with --metric; at most 1,000,000; a long "
                        "one prints its estimated time, with a progress bar on a terminal)")
    p.add_argument("--groups", metavar="COL", help="resample whole groups (e.g. N) in the bootstrap, "
                   "or wild (keep every point, flip residuals); LR-schedule laws: block (default), "
                   "run, point or wild (one weight per block)")
    p.add_argument("--cv", metavar="KIND|COL",
                   help="cross-validate on whole groups: group (leave one --cv-by group out), "
                        "rollout (fit the smallest k groups, predict the next), run (logs: leave "
                        "one run out), or a column COL (leave one COL group out)")
    p.add_argument("--cv-by", metavar="COL", help="the groups of --cv (default N, model size)")
    p.add_argument("--select", choices=("best", "stack"), default="best",
                   help="several laws: keep the best by CV (default) or combine them (stack)")
    p.add_argument("--n-jobs", type=int, default=None, metavar="K",
                   help="processes for the bootstrap (default 1: serial; K > 1: K processes; "
                        "-1: one per core)")
    p.add_argument("--share", metavar="P,Q",
                   help="several targets (--y A B or a glob): parameters common to all of them, e.g. "
                        "alpha,beta (one joint fit; default: each target fitted on its own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strict", action="store_true", help="refuse NaN/inf rows instead of dropping them")
    p.add_argument("--json", metavar="OUT", help="write the fit as JSON ('-': standard output; "
                   "the summary then goes to stderr)")
    p.add_argument("--plot", metavar="OUT.png", help="write a plot of data and fit (.png, .pdf "
                   "or .svg, by the extension)")
    p.add_argument("--max-points", type=int, metavar="K",
                   help="per-step logs: fit at most K loss points per run, evenly spaced (first "
                        "and last kept); recorded in the notes and the JSON")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar or time estimate on stderr")
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
    lr.add_argument("--noise", choices=("auto", "cut", "weights", "off"),
                    help="noisy per-step logs (docs/perstep.md): auto (default) leaves out the early steps "
                         "the law does not fit to the noise and weights points by their noise; cut, "
                         "weights (one of the two) or off")
    lr.add_argument("--convention", choices=("auto", "tissue", "actual", "released", "paper"),
                    help="how warmup enters the areas (momentum family: auto|tissue|actual, "
                         "default auto; multipower: released|paper, default released)")
    lr.add_argument("--amplitude", choices=("anchored", "free"),
                    help="multipower's B: anchored (default) by the law's saturated limit, "
                         "or free (fitted jointly with the other six)")
    lr.add_argument("--lam", default="fit", metavar="L|fit",
                    help="momentum law's lambda: 'fit' (default) or a fixed value such as 0.999")
    add_metric_arguments(p)


def add_metric_arguments(p):
    """``--metric`` and its options: downstream metrics (docs/downstream.md)."""
    m = p.add_argument_group("downstream metrics (accuracy, AUROC, pass rates)")
    m.add_argument("--metric", metavar="COL",
                   help="fit the two-stage chain (OLMo ladder): the loss by --law from N, D, then "
                        "COL from the loss by a sigmoid; bootstrapped together (--bootstrap, "
                        "default 200 here; 0: no bands); scalelaw predict CHAIN.json prints the metric "
                        "with its band")
    m.add_argument("--metric-range", default=None, metavar="LO,HI",
                   help="the values COL can take (default 0,1); values outside are refused. "
                        "With --link logit the low end is the chance level (e.g. 0.25,1 for 4-way "
                        "multiple choice); in the chain fix the floor instead: --fix metric.b=0.25")
    m.add_argument("--link", choices=("logit",),
                   help="instead of the chain: fit --law to the logit of COL (no loss needed)")


def run(args) -> int:
    from ..errors import ScalelawError
    from ..laws import curve_law_names, get_law
    from ._common import check_bootstrap, check_n_jobs, check_outputs, given_options, load_table

    args.targets = _targets_option(args)   # several --y columns (multi-target) or one
    law = args.formula or args.law
    if not law:
        raise ScalelawError("choose a law with --law NAME or --formula EXPR")
    from ..fitting.select import candidate_names, is_candidates
    if args.law and is_candidates(args.law):
        from ..io import detect_format
        curves = not args.final and (args.format or detect_format(args.files[0])) != "table"
        table = None
        if not curves and args.law.strip().lower() == "auto":   # which family: the table's columns
            from ..fitting.select import data_kind
            args.first_table = load_table(args.files[:1], args.format, final=args.final, split=args.split)
            table = args.first_table.rename(columns=dict(zip(args.x or (), ("N", "D"))))
            curves = not args.final and data_kind(table) == "curves"
        args.candidates = candidate_names(args.law, table, curves=curves or None)
        for name in args.candidates:
            get_law(name)   # an unknown name: one line now
        law = args.candidates[0]
    else:
        args.candidates = None
    if args.cv_by and not args.cv:
        raise ScalelawError("--cv-by names the groups of --cv: give --cv group or --cv rollout too")
    check_outputs([("--json", args.json, False), ("--plot", args.plot, True)], inputs=args.files)
    args.bootstrap_given = args.bootstrap is not None   # --metric: 200 unless given (0 too)
    args.bootstrap = check_bootstrap(args.bootstrap)
    check_n_jobs(args.n_jobs)
    if args.max_points is not None and args.max_points < 2:
        raise ScalelawError(f"--max-points {args.max_points}: keep at least 2 points per run")
    law_obj = get_law(law, variables=args.x) if args.formula and args.x else get_law(law)
    if args.candidates and len({get_law(n).predicts_curves for n in args.candidates}) > 1:
        raise ScalelawError(f"--law {args.law} mixes LR-schedule laws and scaling laws; compare laws of one kind")
    if not args.metric and (args.link or args.metric_range is not None):
        raise ScalelawError(f"{'--link' if args.link else '--metric-range'} applies to a downstream metric: "
                            "name its column with --metric COL")
    if args.metric:
        return _fit_chain(args, law_obj)
    if law_obj.predicts_curves:
        return _fit_curves(args, law_obj)
    lr_only = given_options(args, ("step", "lr", "run", "warmup", "warmup_schedule", "smooth", "noise",
                                   "convention", "amplitude", "lam") + (() if args.final else ("split",)))
    if lr_only:
        raise ScalelawError(f"{', '.join(lr_only)} apply to the LR-schedule laws "
                            f"({', '.join(curve_law_names())}), not {law}")
    if args.max_points is not None and args.final:
        raise ScalelawError("--max-points thins per-step logs; with --final each run is one point already")
    return _fit_table(args, law_obj)


def _fit_table(args, law_obj) -> int:
    """A scaling law on a table of runs (or the last points of training logs)."""
    import warnings

    from ..fitting import fit
    from ..errors import ScalelawWarning
    from ._common import load_table, parse_assignments, report_stream
    from ._progress import Ticker

    out = report_stream(args.json, args.plot)
    fix = parse_assignments(args.fix, "--fix")
    start = parse_assignments(args.start, "--start")
    bounds = parse_assignments(args.bounds, "--bounds", allow_range=True)
    first = getattr(args, "first_table", None)   # read already (--law auto) when it is all there is
    data = first if first is not None and len(args.files) == 1 and args.max_points is None else \
        load_table(args.files, args.format, final=args.final, split=args.split, max_points=args.max_points)
    columns = _columns(args, law_obj, list(data.columns))
    common = dict(fix=fix, objective=args.objective, delta=args.delta, space=args.space,
                  flops_per_token=args.flops_per_token)
    if args.targets:   # several target columns: scalelaw.fitting.multi
        return _fit_targets(args, law_obj, data, columns, dict(common, start=start, bounds=bounds), out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalelawWarning)
        cv, cv_by = _cv_options(args)
        what = (f"cross-validating {', '.join(args.candidates)}" if args.candidates
                else f"fitting {law_obj.name}")
        with Ticker(what, quiet=args.quiet):
            res = fit(data, args.candidates or law_obj, columns=columns, where=args.where,
                      holdout=args.holdout, weights=args.weights, groups=args.groups, start=start,
                      bounds=bounds, overpredict=args.overpredict, seed=args.seed, strict=args.strict,
                      cv=cv, cv_by=cv_by, select=args.select, n_jobs=args.n_jobs, **common)
        if args.max_points is not None:
            _note_thinned(res, data.attrs.get("scalelaw", {}).get("dropped", {}).get("downsampled", 0),
                          args.max_points)
        _bootstrap(res, args, groups="wild" if args.groups == "wild" else True if args.groups else None)
        print(res.summary(), file=out)
    for w in caught:
        print(f"warning: {w.message}", file=out)
    _write(res, args, out)
    if args.plot:
        from ..plot import plot_fit
        from ._common import wrote
        plot_fit(res, args.plot)
        wrote(args.plot, stream=out)
    return 0


def _targets_option(args):
    """``--y`` as one target column (``args.y``, a string, as before) or, for several columns
    or a glob, the list of targets (``args.y`` then None); ``--share`` needs the latter."""
    from ..errors import ScalelawError
    given = list(args.y or [])
    several = len(given) > 1 or any(ch in given[0] for ch in "*?[") if given else False
    args.y = None if several or not given else given[0]
    if getattr(args, "share", None) and not several:
        raise ScalelawError("--share ties parameters across several targets: name them with "
                            "--y COL1 COL2 ... or a glob such as --y 'loss_*'")
    if several:
        from ..laws import curve_law_names
        curves = [n for n in (args.law or "").split(",") if n.strip().lower() in curve_law_names()]
        other = (f"the LR-schedule law {curves[0]}" if curves else "--metric/--link"
                 if getattr(args, "metric", None) or getattr(args, "link", None) else None)
        if other:
            raise ScalelawError(f"several targets (--y {' '.join(given)}) are fitted with a scaling law "
                                f"of a table, not with {other}: give one --y")
    return given if several else None


def _fit_targets(args, law_obj, data, columns, common, out) -> int:
    """Several target columns (``--y A B`` or a glob), optionally sharing ``--share``
    parameters: a summary per target, the asymptote table, one JSON (docs/multitarget.md)."""
    import warnings

    from ..errors import ScalelawError, ScalelawWarning
    from ..fitting import fit
    from ._progress import Ticker
    if args.candidates or args.plot:
        what = "several laws (choose the law on one target first)" if args.candidates else \
            "--plot (it draws one fit: give one --y)"
        raise ScalelawError(f"several targets (--y {' '.join(args.targets)}) are fitted with one law, "
                            f"not with {what}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalelawWarning)
        cv, cv_by = _cv_options(args)
        with Ticker(f"fitting {law_obj.name} to {', '.join(args.targets)}", quiet=args.quiet):
            res = fit(data, law_obj, targets=args.targets, share=args.share, columns=columns,
                      where=args.where, holdout=args.holdout, weights=args.weights, groups=args.groups,
                      overpredict=args.overpredict, seed=args.seed, strict=args.strict, cv=cv, cv_by=cv_by,
                      n_jobs=args.n_jobs, **common)
        _bootstrap(res, args, groups="wild" if args.groups == "wild" else True if args.groups else None)
        print(res.summary(), file=out)
    for w in caught:
        print(f"warning: {w.message}", file=out)
    _write(res, args, out)
    return 0


def _cv_options(args):
    """``--cv``/``--cv-by`` as the library's ``cv``/``cv_by``: a kind (group, rollout, run)
    or, as before, a column to leave out group by group."""
    if not args.cv:
        return None, None
    if args.cv in ("group", "rollout", "run"):
        return args.cv, args.cv_by
    if args.cv_by:
        from ..errors import ScalelawError
        raise ScalelawError(f"--cv {args.cv}: give a kind (group, rollout or run) with --cv-by, "
                            "or a column alone")
    return "group", args.cv


def _note_thinned(res, dropped: int, k: int) -> None:
    """Record ``--max-points`` in the result (notes and the JSON's data)."""
    res.design_info["max_points"] = int(k)
    res.design_info["points_thinned"] = int(dropped)
    res.notes.append(f"loss points thinned to at most {k} per run (evenly spaced, first and last "
                     f"kept): {int(dropped)} left out, {res.n} fitted")


def _bootstrap(res, args, groups) -> None:
    """``--bootstrap N`` on a finished fit, with a progress bar on a terminal, an estimate of
    the time for a long one, and a refusal of one that would not fit in memory."""
    if not args.bootstrap:
        return
    from ._common import check_bootstrap_memory
    from ._progress import Progress
    check_bootstrap_memory(args.bootstrap, res.n)
    with Progress("bootstrap", args.bootstrap, quiet=args.quiet) as prog:
        res.bootstrap(args.bootstrap, groups=groups, seed=args.seed, n_jobs=args.n_jobs, progress=prog)


def _columns(args, law_obj, table_columns=None):
    """``--x``/``--y`` (and ``--loss``) as the library's ``columns`` mapping.  For a
    one-variable law, ``--x`` may name a column or a canonical variable (``--x C`` takes the
    table's compute column, e.g. ``flops``)."""
    from ..errors import ScalelawError
    columns = {}
    if args.x and not args.formula:
        if law_obj.variables == ("x",) and "var" in law_obj.config():
            if len(args.x) != 1:
                raise ScalelawError(f"law {law_obj.name} has one variable; --x gave {len(args.x)} columns")
            from ..io.columns import resolve
            name = args.x[0]
            column = name
            if table_columns is not None and name not in table_columns:
                column = resolve(list(table_columns), [name], required=[]).get(name, name)
            columns[_canonical_x(name, resolve)] = column
        else:
            if len(args.x) != len(law_obj.variables):
                raise ScalelawError(f"law {law_obj.name} has variables {', '.join(law_obj.variables)}; "
                                    f"--x gave {len(args.x)} column(s)")
            columns.update(zip(law_obj.variables, args.x))
    if args.y or args.loss:
        columns[law_obj.target] = args.y or args.loss
    return columns or None


def _canonical_x(name, resolve):
    """The canonical variable (N, D, C, step, tokens, x) that column ``name`` stands for."""
    order = ("N", "D", "C", "step", "tokens", "x")
    if name in order:
        return name
    hit = resolve([name], order, required=[])
    return next(iter(hit), name)


def _fit_curves(args, law_obj) -> int:
    """An LR-schedule law fitted jointly to per-step training logs."""
    from ..errors import ScalelawError
    from ..fitting import fit_lr
    from ..io import read_curves
    from ._common import given_options, parse_assignments, report_stream
    from ._progress import Ticker

    out = report_stream(args.json)
    unsupported = given_options(args, ("x", "y", "cv_by", "plot", "weights", "overpredict", "final",
                                       "strict", "space", "flops_per_token"))
    if args.cv not in (None, "run"):
        raise ScalelawError(f"--cv {args.cv}: training logs are cross-validated by leaving one run "
                            "out (--cv run)")
    if unsupported:
        raise ScalelawError(f"{', '.join(unsupported)} not available with LR-schedule laws; "
                            "use --step/--lr/--loss/--run, --warmup, --smooth, --where/--holdout, "
                            "--fix, --bootstrap")
    mapping = {k: getattr(args, k) for k in ("step", "lr", "loss", "run") if getattr(args, k)}
    df = read_curves(args.files, mapping or None, format=args.format, split=args.split)
    lam = args.lam
    if lam != "fit":
        try:
            lam = float(lam)
        except ValueError:
            raise ScalelawError(f"--lam must be 'fit' or a number in (0, 1), not {lam!r}") from None
    groups = args.groups or "block"
    if groups not in ("block", "run", "point", "wild"):
        raise ScalelawError(f"--groups {groups}: LR-schedule fits resample blocks of consecutive "
                            "points (--groups block, the default), whole runs (run), points (point), "
                            "or flip the residuals of each block (wild)")
    conv = args.convention
    if conv is not None and law_obj.conventions:
        allowed = law_obj.conventions + (("auto",) if law_obj.auto_conventions else ())
        if conv not in allowed:
            raise ScalelawError(f"--convention {conv} does not apply to {law_obj.name}; "
                                f"use one of {', '.join(allowed)}")
    if args.amplitude is not None and "amplitude" not in law_obj.options():
        raise ScalelawError(f"--amplitude applies to --law multipower, not {law_obj.name}")
    df = _thin(df, args.max_points, args.smooth) if args.max_points is not None else df
    smooth = None if args.max_points is not None else args.smooth
    what = (f"cross-validating {', '.join(args.candidates)}" if args.candidates
            else f"fitting {law_obj.name}")
    spec = args.candidates or (args.law if args.law and ":" not in args.law else law_obj)
    with Ticker(what, quiet=args.quiet):
        res = fit_lr(df, spec, cv=args.cv, select=args.select, n_jobs=args.n_jobs, warmup=args.warmup,
                     convention=conv, lam=lam, amplitude=args.amplitude, where=args.where,
                     holdout=args.holdout, schedule=args.warmup_schedule, smooth=smooth,
                     noise=args.noise or "auto",
                     fix=parse_assignments(args.fix, "--fix"),
                     start=parse_assignments(args.start, "--start"),
                     bounds=parse_assignments(args.bounds, "--bounds", allow_range=True),
                     objective=args.objective, delta=args.delta, seed=args.seed, groups=groups)
    split = args.split or _fitted_split(df)
    if split:
        res.design_info["split"] = split
    if args.max_points is not None:
        if args.smooth:
            res.notes.append(f"loss smoothed per run with {args.smooth} (before thinning)")
        _note_thinned(res, df.attrs.get("thinned", 0), args.max_points)
    _bootstrap(res, args, groups={"block": "block", "run": True, "point": None, "wild": "wild"}[groups])
    print(res.summary(), file=out)
    _write(res, args, out)
    return 0


def _fitted_split(df):
    """The loss split the logs were read with (``read_curves`` notes it when a log has both)."""
    notes = " ".join(df.attrs.get("notes", []))
    if "fitted the validation loss" in notes:
        return "val"
    if "fitted the training loss" in notes:
        return "train"
    return None


def _thin(df, k: int, smooth=None):
    """At most ``k`` loss points per run, evenly spaced in order, first and last kept (rows
    keep their LR: LR-schedule laws need the whole LR history).  ``smooth`` is applied
    before thinning."""
    import numpy as np

    from ._common import downsample_index
    df = df.reset_index(drop=True).copy()
    loss = df["loss"].to_numpy(dtype=float).copy()
    if smooth:
        from ..io.smoothing import smooth_loss
        for _, idx in df.groupby("run", sort=False).groups.items():
            loss[idx] = smooth_loss(loss[idx], smooth)
    dropped = 0
    for _, idx in df.groupby("run", sort=False).groups.items():
        idx = np.asarray(idx)
        obs = idx[np.isfinite(loss[idx])]
        keep = obs[downsample_index(len(obs), k)]
        drop = np.setdiff1d(obs, keep)
        loss[drop] = np.nan
        dropped += len(drop)
    notes = list(df.attrs.get("notes", []))
    df["loss"] = loss
    df.attrs["notes"] = notes
    df.attrs["thinned"] = dropped
    return df


def _write(res, args, out=None):
    if args.json:
        from ._common import wrote
        res.to_json(args.json)
        wrote(args.json, stream=out)


def _fit_chain(args, law_obj) -> int:
    """``--metric COL``: the two-stage chain (loss from N, D by --law, then COL from the
    loss by a sigmoid), or with ``--link logit`` --law fitted to the logit of COL."""
    import warnings

    from ..errors import ScalelawError, ScalelawWarning
    from ..fitting.chain import fit_chain, fit_metric
    from ._common import given_options, load_table, parse_assignments, report_stream
    from ._progress import Ticker

    if not args.metric:
        raise ScalelawError("--link logit fits a law to the logit of a metric: name it with --metric COL")
    if args.candidates or law_obj.predicts_curves:
        raise ScalelawError(f"--metric fits one scaling law of N, D for the loss; give --law NAME "
                            f"(chinchilla, kaplan, ...), not {args.law or law_obj.name}")
    unsupported = given_options(args, ("where", "holdout", "cv", "cv_by", "weights", "plot", "max_points",
                                       "start", "bounds", "overpredict", "step", "lr", "run", "warmup",
                                       "warmup_schedule", "smooth", "noise", "convention", "amplitude"))
    if getattr(args, "lam", "fit") != "fit":
        unsupported.append("--lam")
    if isinstance(args.y, (list, tuple)) and args.y or isinstance(args.y, str):
        unsupported.append("--y (name the loss with --loss COL and the metric with --metric COL)")
    if unsupported:
        raise ScalelawError(f"{', '.join(unsupported)} not available with --metric; filter the table "
                            "first, or fit the stages separately")
    out = report_stream(args.json)
    data = load_table(args.files, args.format, final=args.final, split=args.split)
    columns = None
    if args.x:
        if len(args.x) != len(law_obj.variables):
            raise ScalelawError(f"law {law_obj.name} has variables {', '.join(law_obj.variables)}; "
                                f"--x gave {len(args.x)} column(s)")
        columns = dict(zip(law_obj.variables, args.x))
    fix1, fix2 = _stage_fix(parse_assignments(args.fix, "--fix"), law_obj)
    stage1 = dict(objective=args.objective, delta=args.delta, space=args.space)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalelawWarning)
        if args.link:
            if fix2:
                raise ScalelawError(f"--fix {', '.join(fix2)}: the logit link has the parameters of "
                                    f"{law_obj.name} only")
            with Ticker(f"fitting {law_obj.name} to the logit of {args.metric}", quiet=args.quiet):
                res = fit_metric(data, law_obj, metric=args.metric, metric_range=args.metric_range or "0,1",
                                 columns=columns, fix=fix1 or None, groups=args.groups, seed=args.seed,
                                 strict=args.strict,
                                 flops_per_token=args.flops_per_token, **stage1)
            _bootstrap(res, args, groups="wild" if args.groups == "wild" else True if args.groups else None)
        else:
            n_boot = args.bootstrap if getattr(args, "bootstrap_given", True) else 200   # 0: no bands
            from ._common import check_bootstrap_memory
            check_bootstrap_memory(n_boot, len(data))
            with Ticker(f"fitting the chain {law_obj.name} -> {args.metric}"
                        + (f" and {n_boot} resamples" if n_boot else " (no bootstrap: no bands)"),
                        quiet=args.quiet):
                res = fit_chain(data, law_obj, metric=args.metric, loss=args.loss,
                                metric_range=args.metric_range or "0,1", columns=columns, groups=args.groups,
                                bootstrap=n_boot, seed=args.seed, n_jobs=args.n_jobs, strict=args.strict,
                                flops_per_token=args.flops_per_token,
                                stage1_options={**stage1, "fix": fix1 or None},
                                stage2_options={"fix": fix2 or None})
        print(res.summary(), file=out)
    for w in caught:
        print(f"warning: {w.message}", file=out)
    _write(res, args, out)
    return 0


def _stage_fix(fix: dict, law_obj):
    """``--fix`` of the chain split by stage: ``loss.P=V`` / ``metric.P=V``, or a bare name
    of the loss law's parameters (stage 1) or of the sigmoid's a, b, k, L0 (stage 2)."""
    from ..errors import ScalelawError
    from ..laws.downstream import SigmoidLoss
    one, two = {}, {}
    names2 = SigmoidLoss.param_names
    for key, value in fix.items():
        stage, _, name = key.rpartition(".")
        if stage not in ("", "loss", "metric"):
            raise ScalelawError(f"--fix {key}: name a parameter as loss.P or metric.P")
        if stage == "loss" or (not stage and name in law_obj.param_names):
            one[name] = value
        elif stage == "metric" or (not stage and name in names2):
            two[name] = value
        else:
            raise ScalelawError(f"--fix {key}: not a parameter of {law_obj.name} "
                                f"({', '.join(law_obj.param_names)}) or of the sigmoid ({', '.join(names2)})")
    return one, two
