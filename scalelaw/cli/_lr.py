"""CLI glue for the LR-schedule laws: ``scalelaw fit LOG.csv ... --law momentum|multipower|
s1power|momentum_n`` and ``scalelaw predict FIT.json --log NEW.csv | --schedule SPEC``.

Options read (``getattr`` with defaults, so parsers may omit the optional ones):
fit: ``files, law, step, lr, loss, run, format, split, warmup, warmup_schedule, smooth, convention,
amplitude, lam, fix, start, bounds, objective, delta, bootstrap, seed, n_jobs, json``; predict: ``fit, log, schedule, every,
step, lr, loss, run, warmup, alpha, out``.
"""
from __future__ import annotations


def _get(args, name, default=None):
    v = getattr(args, name, default)
    return default if v is None else v


def fit_logs(args) -> int:
    from ..errors import ScalelawError
    from ..lrfit import fit_lr, read_logs
    from .fit import given_options, parse_assignments

    unsupported = given_options(args, ("x", "y", "cv", "plot", "weights", "overpredict", "final",
                                       "strict", "space", "flops_per_token"))
    if unsupported:
        raise ScalelawError(f"{', '.join(unsupported)} not available with LR-schedule laws; "
                            "use --step/--lr/--loss/--run, --warmup, --smooth, --where/--holdout, --fix, --bootstrap")
    if _get(args, "bootstrap", 0) < 0:
        raise ScalelawError("--bootstrap must be >= 0")
    df = read_logs(args.files, step=_get(args, "step"), lr=_get(args, "lr"),
                   loss=_get(args, "loss"), run=_get(args, "run"), fmt=_get(args, "format"),
                   split=_get(args, "split"))
    lam = _get(args, "lam", "fit")
    if lam != "fit":
        try:
            lam = float(lam)
        except ValueError:
            raise ScalelawError(f"--lam must be 'fit' or a number in (0, 1), not {lam!r}") from None
    law = args.law.lower()
    groups = _get(args, "groups", "block")
    if groups not in ("block", "run", "point"):
        raise ScalelawError(f"--groups {groups}: LR-schedule fits resample blocks of consecutive "
                            "points (--groups block, the default), whole runs (run) or points (point)")
    conv = _get(args, "convention")
    if conv is not None:
        allowed = ("released", "paper") if law == "multipower" else ("auto", "tissue", "actual")
        if conv not in allowed:
            raise ScalelawError(f"--convention {conv} does not apply to {law}; use one of {', '.join(allowed)}")
    amp = _get(args, "amplitude")
    if amp is not None and law != "multipower":
        raise ScalelawError(f"--amplitude applies to --law multipower, not {law}")
    res = fit_lr(df, law, warmup=_get(args, "warmup"), convention=conv, lam=lam, amplitude=amp,
                 where=_get(args, "where"), holdout=_get(args, "holdout"),
                 schedule=_get(args, "warmup_schedule"), smooth=_get(args, "smooth"),
                 fix=parse_assignments(_get(args, "fix", []), "--fix"),
                 start=parse_assignments(_get(args, "start", []), "--start"),
                 bounds=parse_assignments(_get(args, "bounds", []), "--bounds", allow_range=True),
                 loss=_get(args, "objective", "huber"), delta=_get(args, "delta", 1e-3),
                 bootstrap=_get(args, "bootstrap", 0), seed=_get(args, "seed", 0),
                 n_jobs=_get(args, "n_jobs"), groups=groups)
    print(res.summary())
    out = _get(args, "json")
    if out:
        res.to_json(out)
        print(f"wrote {out}")
    return 0


def predict_lr(args) -> int:
    from .._atomic import atomic_path
    from ..errors import ScalelawError
    from ..lrfit import predict_curve, read_logs

    log, spec = _get(args, "log"), _get(args, "schedule")
    if bool(log) == bool(spec):
        raise ScalelawError("give exactly one of --log NEW.csv or --schedule SPEC")
    every = _get(args, "every")
    if every is not None and every < 1:
        raise ScalelawError("--every must be >= 1")
    alpha = _get(args, "alpha", 0.05)
    if log:
        frame = read_logs([log], step=_get(args, "step"), lr=_get(args, "lr"),
                          loss=_get(args, "loss"), run=_get(args, "run"), require_loss=False)
        out = predict_curve(args.fit, log=frame, every=every, alpha=alpha,
                            warmup=_get(args, "warmup"))
    else:
        out = predict_curve(args.fit, spec, every=every, alpha=alpha)
    dest = _get(args, "out")
    if dest:
        with atomic_path(dest) as tmp:
            out.to_csv(tmp, index=False)
        print(f"wrote {dest} ({len(out)} rows)")
    else:
        print(out.to_csv(index=False), end="")
    return 0
