"""``scalelaw predict``: predictions from a saved fit, with both bands."""
from __future__ import annotations

HELP = "predict from a saved fit (FIT.json) with bands for the curve and for a new run"
DESCRIPTION = """Predict from a fit written by `scalelaw fit --json`.

  scalelaw predict fit.json --at N=7e10 D=1.4e12
  scalelaw predict fit.json --grid points.csv --out pred.csv
  scalelaw predict mpl.json --schedule wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2 --out pred.csv
  scalelaw predict mpl.json --log new_run.csv --out pred.csv
  scalelaw predict chain.json N=7e9 D=1.4e11     # a downstream metric (fit --metric COL)
  scalelaw predict lr_batch.json --optimum 1e19 1e21   # optimal lr, batch size (lr_batch)

Columns: the inputs, mean, mean_ci_lower/upper (the curve), obs_ci_lower/upper (a new run).
A chain (scalelaw fit --metric COL --json chain.json) gives loss_mean, loss_lower/upper,
metric_mean, metric_lower/upper (the metric curve's band from the chain's bootstrap) and
metric_obs_lower/upper (a new run); a logit-link fit (--link logit) its metric_* columns."""


def add_arguments(p):
    p.add_argument("fit", metavar="FIT.json")
    p.add_argument("points", nargs="*", metavar="VAR=VALUE",
                   help="the point to predict at, as with --at (e.g. N=7e9 D=1.4e11)")
    p.add_argument("--at", nargs="+", metavar="VAR=VALUE", help="one point, e.g. N=7e10 D=1.4e12")
    p.add_argument("--grid", metavar="FILE", help="table of points to predict at")
    p.add_argument("--out", metavar="OUT.csv", help="write the predictions as CSV ('-': standard "
                   "output, the default for --log/--schedule)")
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level (default 0.05)")
    p.add_argument("--flops-per-token", type=float, default=6.0, metavar="K")
    p.add_argument("--optimum", nargs="+", type=float, metavar="C",
                   help="lr_batch fits: the optimal lr, batch_size and loss at these budgets "
                        "(FLOPs), with intervals (bootstrap when the fit has draws)")
    lr = p.add_argument_group("LR-schedule laws")
    lr.add_argument("--log", metavar="NEW.csv", help="predict at the steps of this log, with its LR")
    lr.add_argument("--schedule", metavar="SPEC", help="predict the curve of this schedule")
    lr.add_argument("--every", type=int, default=None, metavar="K", help="predict every K steps")
    lr.add_argument("--step", metavar="COL")
    lr.add_argument("--lr", metavar="COL")
    lr.add_argument("--loss", metavar="COL")
    lr.add_argument("--run", metavar="COL")
    lr.add_argument("--warmup", type=int, metavar="W")
    lr.add_argument("--format", help="log format when it cannot be detected")
    lr.add_argument("--split", choices=("train", "val"),
                    help="--log: which loss of the log to compare with (default: the split the "
                         "fit used when it chose one with --split, else val when logged)")


def run(args) -> int:
    import warnings

    from ..errors import ScalelawError, ScalelawWarning
    from ._common import check_outputs, given_options, report_stream, wrote

    check_outputs([("--out", args.out, False)], inputs=[args.fit, args.grid, args.log])
    if args.points:
        args.at = list(args.at or []) + list(args.points)
    from ..fitting.chain import is_chain_json
    from ..fitting.serialize import read_fit_json
    if is_chain_json(read_fit_json(args.fit)):
        return _predict_chain(args)
    res = _read_fit_or_targets(args.fit)   # several targets (fit --y A B): a row per target
    if args.optimum:
        return _predict_optimum(args, res)
    if res.law.predicts_curves:
        return _predict_curve(args, res)
    if args.log or args.schedule:
        raise ScalelawError(f"--log/--schedule need an LR-schedule fit; {args.fit} is a {res.law.name} fit")
    lr_only = given_options(args, ("every", "step", "lr", "loss", "run", "warmup", "format", "split"))
    if lr_only:
        raise ScalelawError(f"{', '.join(lr_only)} apply to LR-schedule fits with --log or "
                            f"--schedule; {args.fit} is a {res.law.name} fit")
    if not 0 < args.alpha < 1:
        raise ScalelawError("--alpha must be between 0 and 1")
    data = _points(args, res.law.variables, res.law.name)
    out = report_stream(args.out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalelawWarning)
        if hasattr(res.law, "to_metric"):   # a logit-link fit: the metric, not the odds
            from ..fitting.chain import predict_metric
            pred = predict_metric(res, data, alpha=args.alpha)
        else:
            pred = res.predict(data, alpha=args.alpha)
    level = f"{100 * (1 - args.alpha):g}%"
    if args.out:
        _write_csv(pred, args.out)
        wrote(args.out, f"{len(pred)} prediction(s)", stream=out)
    else:
        import pandas as pd
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            print(f"{res.law.name}: {res.law.formula}   (bands: {level})")
            print(pred.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    for w in caught:
        print(f"warning: {w.message}", file=out)
    _no_band_note(pred, ("metric_lower", "metric_upper") if "metric_lower" in pred
                  else ("mean_ci_lower", "mean_ci_upper"), args.fit, out)
    return 0


def _predict_optimum(args, res) -> int:
    """``--optimum C ...``: η_opt, B_opt and L* of an lr_batch fit at budgets C, with bands."""
    from ..errors import ScalelawError
    from ..fitting.hyperparams import optimal_hparams
    from ._common import report_stream, wrote
    if args.at or args.grid or args.log or args.schedule:
        raise ScalelawError("--optimum takes the budgets itself (--optimum C [C ...], in FLOPs); "
                            "drop --at/--grid/--log/--schedule")
    pred = optimal_hparams(res, args.optimum, alpha=args.alpha)
    out = report_stream(args.out)
    if args.out:
        _write_csv(pred, args.out)
        wrote(args.out, f"{len(pred)} optimum(s)", stream=out)
        return 0
    import pandas as pd
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(f"{res.law.name}: optimal lr, batch_size and loss at each C   "
              f"(bands: {100 * (1 - args.alpha):g}%)")
        print(pred.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def _points(args, variables, what):
    """The points of ``--at``/positional assignments or ``--grid`` as data for a predict."""
    from ..errors import ScalelawError
    if bool(args.at) == bool(args.grid):
        raise ScalelawError("give the points with --at VAR=VALUE ... or --grid FILE (one of them)")
    if args.grid:
        from ._common import load_table
        return load_table([args.grid])
    from ..io.columns import resolve
    from ._common import parse_assignments
    data = {k: [v] for k, v in parse_assignments(args.at, "--at").items()}
    known = resolve(list(data), list(variables) + ["N", "D", "C"], required=[])
    unknown = [k for k in data if k not in known.values()]
    if unknown:
        raise ScalelawError(f"--at {', '.join(unknown)}: not a variable of {what} "
                            f"(it takes {', '.join(variables)})")
    return data


def _predict_chain(args) -> int:
    """The metric of a two-stage chain (``scalelaw fit --metric COL --json``) at new points."""
    import warnings

    from ..errors import ScalelawError, ScalelawWarning
    from ..fitting.chain import ChainResult
    from ._common import given_options, report_stream, wrote

    lr_only = given_options(args, ("log", "schedule", "every", "step", "lr", "loss", "run", "warmup",
                                   "format", "split"))
    if lr_only:
        raise ScalelawError(f"{', '.join(lr_only)} apply to LR-schedule fits; {args.fit} is a chain "
                            "of a loss law and a metric")
    if not 0 < args.alpha < 1:
        raise ScalelawError("--alpha must be between 0 and 1")
    chain = ChainResult.from_json(args.fit)
    data = _points(args, chain.stage1.law.variables, f"the chain's loss law {chain.stage1.law.name}")
    out = report_stream(args.out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalelawWarning)
        pred = chain.predict(data, alpha=args.alpha)
    level = f"{100 * (1 - args.alpha):g}%"
    if args.out:
        _write_csv(pred, args.out)
        wrote(args.out, f"{len(pred)} prediction(s)", stream=out)
    else:
        import pandas as pd
        lo, hi = chain.metric_range
        print(f"chain: {chain.loss} by {chain.stage1.law.name}, then {chain.metric} by "
              f"{chain.stage2.law.name} (range [{lo:g}, {hi:g}]); bands: {level} from "
              f"{chain.n_resamples} paired resamples")
        with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 80):
            print(pred.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    for w in caught:
        print(f"warning: {w.message}", file=out)
    _no_band_note(pred, ("metric_lower", "metric_upper"), args.fit, out)
    return 0


def _no_band_note(frame, cols, path, out) -> None:
    """Say so when a fit gives no band (no covariance and no bootstrap draws in its JSON)."""
    import numpy as np
    if len(frame) and all(c in frame for c in cols) and not np.isfinite(frame[list(cols)].to_numpy()).any():
        print(f"note: {path} has no covariance and no bootstrap draws: the bands are empty "
              "(refit with scalelaw fit ... --json, or with --bootstrap N)", file=out)


def _predict_curve(args, res) -> int:
    """The loss curve of a schedule (--schedule) or of a log's LRs (--log)."""
    import sys

    from ..errors import ScalelawError
    from ..forecast import predict_curve
    from ._common import report_stream, wrote

    if bool(args.log) == bool(args.schedule):
        raise ScalelawError("give exactly one of --log NEW.csv or --schedule SPEC")
    if args.every is not None and args.every < 1:
        raise ScalelawError("--every must be >= 1")
    if not 0 < args.alpha < 1:
        raise ScalelawError("--alpha must be between 0 and 1")
    if args.at or args.grid:
        raise ScalelawError(f"--at/--grid predict scaling-law fits; {args.fit} is an LR-schedule "
                            f"({res.law.name}) fit: give --log NEW.csv or --schedule SPEC")
    out = report_stream(args.out) if args.out else sys.stderr
    if args.log:
        frame = _read_log_for(args, res, out)
        pred = predict_curve(res, log=frame, every=args.every, alpha=args.alpha, warmup=args.warmup)
    else:
        if args.split:
            raise ScalelawError("--split chooses the loss of a --log to compare with; a --schedule has none")
        pred = predict_curve(res, args.schedule, every=args.every, alpha=args.alpha)
    if args.out and not _is_stdout(args.out):
        _write_csv(pred, args.out)
        wrote(args.out, f"{len(pred)} rows", stream=out)
    else:
        _write_csv(pred, "-")
    _no_band_note(pred, ("loss_lower", "loss_upper"), args.fit, out)
    return 0


def _read_log_for(args, res, out):
    """``--log`` as a frame of curves: the loss of ``--split``, else of the split the fit
    was made on (recorded in its JSON), else the log's default (val when it has one)."""
    from ..errors import ScalelawError
    from ..io import read_curves
    mapping = {k: getattr(args, k) for k in ("step", "lr", "loss", "run") if getattr(args, k)}
    fitted = (res.design_info or {}).get("split")
    split = args.split or fitted
    try:
        frame = read_curves([args.log], mapping or None, format=args.format, require_loss=False,
                            split=split)
    except ScalelawError as e:
        if args.split or not fitted or f"no {fitted} loss" not in str(e):
            raise
        frame = read_curves([args.log], mapping or None, format=args.format, require_loss=False)
        print(f"note: the fit used the {fitted} loss; {args.log} has none, so its other loss is "
              "compared", file=out)
    else:
        if fitted and not args.split and "loss" in frame and frame["loss"].notna().any():
            print(f"note: compared with the {fitted} loss of {args.log}, the split the fit used "
                  "(--split to choose)", file=out)
    return frame


def _is_stdout(path) -> bool:
    from .._output import is_stdout
    return is_stdout(path)


def _write_csv(frame, path):
    from .._output import open_output
    with open_output(path, label=path if path == "-" else f"--out {path}") as f:
        frame.to_csv(f, index=False)


# -- several targets (scalelaw fit --y A B --json): scalelaw.fitting.multi ----------------------
def _read_fit_or_targets(path):
    """The fit in ``path``, or a :class:`~scalelaw.fitting.multi.MultiFit` when it holds the
    fits of several targets (its ``predict`` gives one row per target, a ``target`` column)."""
    from ..fitting.multi import MultiFit, is_multi_json
    from ..fitting.serialize import read_fit_json
    from ._common import read_fit
    d = read_fit_json(path)
    return MultiFit.from_json(d) if is_multi_json(d) else read_fit(path, metric_ok=True)   # logit fits too
