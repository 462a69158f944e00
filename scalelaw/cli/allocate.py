"""`scalelaw allocate`: compute-optimal N and D for a FLOP budget.

From a chinchilla fit (``scalelaw fit --json``)::

    scalelaw allocate FIT.json --compute 1e24 [1e25 ...] [--flops-per-token 6] [--json OUT]
    scalelaw allocate FIT.json --compute 1e23 --cost attention:n_ctx=8192,aspect=128
    scalelaw allocate FIT.json --compute 1e23 --shapes [--aspect 32,256 --head-dim 128 --vocab 50304]

From runs grouped by budget (IsoFLOP profiles, Approach 2) or from training curves (lower
envelope, Approach 1)::

    scalelaw allocate --isoflop RUNS.csv [--budget-rtol 0.1] [--where EXPR] [--compute 1e24]
    scalelaw allocate --isoflop RUNS.csv --profile cubic
    scalelaw allocate --envelope CURVES.csv [--per-decade 5] [--where EXPR] [--compute 1e24]
"""
from __future__ import annotations

import argparse

HELP = "compute-optimal model size and tokens for a FLOP budget (closed form, IsoFLOP, envelope)"
DESCRIPTION = (
    "Compute-optimal allocation under C = k·N·D (k = 6 by default). "
    "With FIT.json (from `scalelaw fit --json`, chinchilla law) print N_opt, D_opt, tokens per "
    "parameter and the loss at the optimum for each --compute budget, with percentile intervals "
    "over the fit's bootstrap draws; --cost SPEC prices runs by another cost model (attention "
    "with context length, per-example costs, a cost law fitted to recorded FLOPs) and allocates "
    "along its equal-cost curves; --shapes lists the nearest transformer shapes for N_opt. "
    "With --isoflop RUNS (columns N, loss and C or D) fit a robust "
    "parabola (or --profile cubic) per budget and the exponent a of N* ∝ C^a; with --envelope use "
    "the lower envelope.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("fit", nargs="?", metavar="FIT.json",
                   help="fit written by `scalelaw fit --json` (chinchilla law)")
    p.add_argument("--compute", nargs="+", metavar="C",
                   help="training budget(s) in FLOPs, e.g. 1e24")
    p.add_argument("--flops-per-token", type=str, default="6", metavar="K",
                   help="k in C = k·N·D (default 6: forward + backward)")
    p.add_argument("--level", type=str, default="0.95",
                   help="confidence level of the intervals (default 0.95)")
    p.add_argument("--json", metavar="OUT", help="also write the result as JSON to OUT ('-': "
                   "standard output; the report then goes to stderr)")
    p.add_argument("--cost", metavar="SPEC",
                   help="cost model C = cost(N, D) instead of k·N·D (FIT.json: allocate along its "
                        "equal-cost curves; runs: C and D* from it), KIND:key=value,... with KIND one of "
                        "dense (flops_per_token=6), attention (n_ctx=, aspect=|n_layer=|d_model=, "
                        "attn=2), per_example (flops=, n_ctx=), law (terms=N*D+D, coef=6/1e3), "
                        "fitted (table=RUNS with N, D and recorded FLOPs, terms=N*D+...); "
                        "see docs/costs.md")
    shp = p.add_argument_group("transformer shapes for N_opt")
    shp.add_argument("--shapes", action="store_true",
                     help="list the nearest (n_layer, d_model, n_heads) for each N_opt "
                          "(N = 12·n_layer·d_model², + vocab·d_model with --vocab)")
    shp.add_argument("--aspect", default=None, metavar="LO,HI",
                     help="with --shapes: allowed d_model/n_layer range (default 32,256)")
    shp.add_argument("--head-dim", default=None, metavar="H[,H...]",
                     help="with --shapes: head dimension(s); d_model is a multiple (default 64,128)")
    shp.add_argument("--vocab", default=None, metavar="V",
                     help="with --shapes: vocabulary size: N_opt then counts the embedding "
                          "(total parameters)")
    shp.add_argument("--untied", action="store_true",
                     help="with --vocab: separate input and output embeddings (2·vocab·d_model)")
    shp.add_argument("--n-shapes", default=None, metavar="K",
                     help="with --shapes: shapes shown per budget (default 5)")
    src = p.add_argument_group("from runs instead of a fit")
    src.add_argument("--isoflop", metavar="RUNS",
                     help="table of runs (N, loss, and C or D): IsoFLOP profiles (Approach 2)")
    src.add_argument("--envelope", metavar="RUNS",
                     help="table of (N, C or D, loss) points from training curves: lower envelope "
                          "(Approach 1)")
    src.add_argument("--where", metavar="EXPR",
                     help="rows of RUNS to use, e.g. \"condition == 'exp_loss'\" or 'N >= 1e8' "
                          "(the table's columns and N, D, C, loss)")
    src.add_argument("--col", action="append", default=[], metavar="NAME=COLUMN",
                     help="use COLUMN for canonical NAME (N, D, C, loss); repeatable")
    src.add_argument("--budget-rtol", type=str, default="0.1", metavar="R",
                     help="IsoFLOP: runs whose C differ by at most a factor 1+R share a budget "
                          "(default 0.1)")
    src.add_argument("--bins", type=str, default=None, metavar="N",
                     help="IsoFLOP/envelope: N log-spaced compute bins instead")
    src.add_argument("--per-decade", type=str, default="5", metavar="N",
                     help="envelope: compute bins per decade (default 5)")
    src.add_argument("--keep-outside", action="store_true",
                     help="IsoFLOP: keep budgets whose parabola vertex lies outside the sampled N")
    src.add_argument("--profile", choices=("parabola", "cubic"), default="parabola",
                     help="IsoFLOP: profile of loss in ln N per budget (default parabola; cubic "
                          "follows asymmetric profiles; both are compared for parabola bias)")


def _number(text: str, what: str, *, positive: bool = True) -> float:
    import math

    from ..errors import ScalelawError
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise ScalelawError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v) or (positive and v <= 0):
        raise ScalelawError(f"{what} must be a positive finite number, got {text}")
    return v


def _computes(args) -> list[float] | None:
    if not args.compute:
        return None
    return [_number(c, "--compute (FLOPs, e.g. 1e24)") for c in args.compute]


def load_fit_json(path: str) -> dict:
    """Read FIT.json as plain JSON (a hand-written ``{"params": ...}`` will do); a one-line
    ScalelawError for every way it can be bad."""
    from ..errors import ScalelawError
    from ..fitting.serialize import read_fit_json
    doc = read_fit_json(path)
    from ._common import check_loss_json
    check_loss_json(doc, path)   # a chain or a fit of a metric (scalelaw fit --metric COL)
    if "multi_target" in doc:   # scalelaw fit --y A B --json (scalelaw.fitting.multi)
        raise ScalelawError(f"{path} holds the fits of several targets ({', '.join(map(str, doc.get('targets') or ()))}); "
                            "allocate needs one fit: refit one target with --y COL")
    if not isinstance(doc.get("params"), dict):
        raise ScalelawError(f"{path} has no \"params\" object; give the file written by "
                            f"`scalelaw fit --json`")
    boot = doc.get("bootstrap")
    if boot is not None and not isinstance(boot, dict):
        raise ScalelawError(f"{path}: \"bootstrap\" must map each parameter to a list of draws")
    return doc


def _fmt(v: float, lo=None, hi=None, spec=".4g") -> str:
    s = format(v, spec)
    if lo is not None:
        s += f" [{format(lo, '.3g')}, {format(hi, '.3g')}]"
    return s


def _warn_printer(caught, prefix: str, skip=()) -> None:
    """Each warning once, except those already printed (``skip``: a summary's notes)."""
    import sys
    seen = set(skip)
    for w in caught:
        msg = str(w.message).splitlines()[0]
        if msg not in seen:
            seen.add(msg)
            print(f"{prefix}: warning: {_flags(msg)}", file=sys.stderr)


def _write_json(dest: str, obj) -> None:
    import json

    from .._output import write_text
    text = json.dumps(obj, indent=2, default=float) + "\n"
    write_text(dest, text, label=dest if dest == "-" else f"--json {dest}")


def _run_fit(args, k: float, alpha: float) -> int:
    from ..allocate import compute_optimal, params_from_fit
    from ..errors import ScalelawError
    from ._common import report_stream

    out = report_stream(args.json)

    def say(*parts):
        print(*parts, file=out)

    compute = _computes(args)
    if compute is None:
        raise ScalelawError("give the budget with --compute C (FLOPs), e.g. --compute 1e24")
    cost = _cost(args, k)
    doc = load_fit_json(args.fit)
    params, draws = params_from_fit(doc)
    table = compute_optimal(params, compute, draws=draws, flops_per_token=k, alpha=alpha, cost=cost)
    ex = table.attrs          # a, b, G (and their intervals with draws)
    have_ci = "N_opt_lower" in table
    law = doc.get("law")
    law = law.get("name") if isinstance(law, dict) else law
    lvl = f"{100 * (1 - alpha):g}%"
    if "a" not in ex:
        return _say_cost(args, say, table, law, lvl, params, doc)
    k = float(ex["flops_per_token"])     # --cost dense:K gives k too
    say(f"compute-optimal allocation from {law or 'chinchilla'} fit {args.fit}; C = {k:g}·N·D "
          f"(N in the parameter count the fit used)")
    if have_ci:
        say(f"intervals: {lvl} percentile over {table.attrs['n_draws']} bootstrap draws")
        say(f"N_opt ∝ C^a: a = {_fmt(ex['a'], ex['a_lower'], ex['a_upper'])};  "
              f"D_opt ∝ C^b: b = {_fmt(ex['b'], ex['b_lower'], ex['b_upper'])};  G = {ex['G']:.4g}")
    else:
        say("no bootstrap in FIT.json: rerun fit with --bootstrap N for intervals")
        say(f"N_opt ∝ C^a: a = {ex['a']:.4f};  D_opt ∝ C^b: b = {ex['b']:.4f};  G = {ex['G']:.4g}")
    cols = [("N_opt", "N_opt [params]"), ("D_opt", "D_opt [tokens]"),
            ("tokens_per_param", "tokens/param"), ("loss_opt", "loss_opt")]
    for r in table.to_dict(orient="records"):
        say(f"C = {r['C']:.4g} FLOPs")
        for key, label in cols:
            lo = r.get(f"{key}_lower")
            hi = r.get(f"{key}_upper")
            say(f"  {label:<15} {_fmt(r[key], lo, hi)}")
    shapes = _say_shapes(args, say, table)
    if args.json:
        from ..costs import DenseCost
        _write_json(args.json, {
            "kind": "allocation", "source": args.fit, "law": law or "chinchilla", "params": params,
            "flops_per_token": k, "convention": f"C = {k:g}·N·D", "cost": DenseCost(k).to_dict(),
            "level": 1 - alpha, "n_draws": table.attrs["n_draws"], "exponents": ex,
            "rows": table.to_dict(orient="records"), **shapes})
    return 0


def _cost(args, k: float):
    """The cost model of ``--cost`` (None without it); a dense one must agree with ``--flops-per-token``."""
    from ..errors import ScalelawError
    if not args.cost:
        return None
    from ..costs import DenseCost, parse_cost
    cost = parse_cost(args.cost)
    given = _number(args.flops_per_token, "--flops-per-token")
    if given != 6.0 and not (isinstance(cost, DenseCost) and cost.flops_per_token == given):
        raise ScalelawError(f"--flops-per-token {args.flops_per_token} and --cost {args.cost} both "
                            f"set the FLOPs per token; give it once (flops_per_token= in the cost)")
    return cost


def _say_cost(args, say, table, law, lvl, params, doc) -> int:
    """Report an allocation along a cost model's equal-cost curves."""
    cost = table.attrs["cost"]
    have_ci = "N_opt_lower" in table
    say(f"compute-optimal allocation from {law or 'chinchilla'} fit {args.fit} along equal-cost "
        f"curves of {cost['spec']} (N in the parameter count the fit used)")
    say(f"cost: {cost['formula']}")
    if cost.get("fit"):
        fit = cost["fit"]
        se = ", ".join(f"{t} ± {e:.3g}" if e is not None else f"{t} at its bound 0"
                       for t, e in zip(cost["terms"], cost.get("stderr", [])))
        say(f"cost law fitted to {fit['n_runs']} runs ({fit['method']}): standard errors {se}; "
            f"rms misfit {100 * fit['rel_rms']:.2g}%, largest {100 * fit['max_rel_error']:.2g}%")
    if have_ci:
        say(f"intervals: {lvl} percentile over {table.attrs['n_draws']} bootstrap draws")
    else:
        say("no bootstrap in FIT.json: rerun fit with --bootstrap N for intervals")
    cols = [("N_opt", "N_opt [params]"), ("D_opt", "D_opt [tokens]"),
            ("tokens_per_param", "tokens/param"), ("loss_opt", "loss_opt")]
    k = table.attrs.get("flops_per_token")
    for r in table.to_dict(orient="records"):
        say(f"C = {r['C']:.4g} FLOPs")
        for key, label in cols:
            say(f"  {label:<15} {_fmt(r[key], r.get(f'{key}_lower'), r.get(f'{key}_upper'))}")
        if "dense_fraction" in r:
            say(f"  {f'{k:.3g}·N·D share':<15} {r['dense_fraction']:.3g} (the rest: the cost's other terms)")
    shapes = _say_shapes(args, say, table)
    if args.json:
        _write_json(args.json, {
            "kind": "allocation", "source": args.fit, "law": law or "chinchilla", "params": params,
            "cost": cost, "convention": cost["formula"], "method": "numeric",
            "level": 1 - float(table.attrs["alpha"]), "n_draws": table.attrs["n_draws"],
            "rows": table.to_dict(orient="records"), **shapes})
    return 0


#: the shape options (flag, attribute) that mean something only with --shapes
_SHAPE_FLAGS = (("--aspect", "aspect"), ("--head-dim", "head_dim"), ("--vocab", "vocab"),
                ("--n-shapes", "n_shapes"), ("--untied", "untied"))


def _shape_options(args) -> dict:
    """The options of ``--shapes``, checked (run calls it before anything is computed)."""
    from ..errors import ScalelawError
    aspect_text = "32,256" if args.aspect is None else args.aspect
    parts = [s for s in str(aspect_text).split(",") if s.strip()]
    if len(parts) != 2:
        raise ScalelawError(f"--aspect expects LO,HI (d_model/n_layer), e.g. 32,256; got {aspect_text!r}")
    aspect = tuple(_number(s, "--aspect") for s in parts)
    heads = [_number(s, "--head-dim") for s in str("64,128" if args.head_dim is None else args.head_dim)
             .split(",") if s.strip()]
    if not heads:
        raise ScalelawError(f"--head-dim expects one or more whole numbers, e.g. 128; got {args.head_dim!r}")
    vocab = None if args.vocab is None else _number(args.vocab, "--vocab")
    top = _number("5" if args.n_shapes is None else args.n_shapes, "--n-shapes")
    for what, v in [("--head-dim", h) for h in heads] + [("--vocab", vocab), ("--n-shapes", top)]:
        if v is not None and not float(v).is_integer():
            raise ScalelawError(f"{what} must be a whole number, got {v:g}")
    if aspect[0] > aspect[1]:
        raise ScalelawError(f"--aspect LO,HI needs LO <= HI, got {aspect_text}")
    if args.untied and vocab is None:
        raise ScalelawError("--untied counts a second embedding matrix: give --vocab V with it")
    return dict(aspect=aspect, head_dim=[int(h) for h in heads],
                vocab=None if vocab is None else int(vocab), tied=not args.untied, top=int(top))


def _say_shapes(args, say, table) -> dict:
    """With ``--shapes``: the nearest transformer shapes of each row's N_opt (and their JSON)."""
    if not getattr(args, "shapes", False):
        return {}
    from ..shapes import transformer_shapes
    opts = getattr(args, "shape_options", None) or _shape_options(args)
    out = []
    for r in table.to_dict(orient="records"):
        s = transformer_shapes(r["N_opt"], **opts)
        say(f"shapes for N_opt = {r['N_opt']:.4g} (C = {r['C']:.4g}; {s.attrs['convention']}; "
            f"d_model/n_layer in [{opts['aspect'][0]:g}, {opts['aspect'][1]:g}]):")
        say(f"  {'rank':>4} {'n_layer':>7} {'d_model':>7} {'n_heads':>7} {'head_dim':>8} "
            f"{'aspect':>7} {'N':>11} {'rel_error':>9}")
        for t in s.itertuples(index=False):
            say(f"  {t.rank:4d} {t.n_layer:7d} {t.d_model:7d} {t.n_heads:7d} {t.head_dim:8d} "
                f"{t.aspect:7.1f} {t.N:11.4g} {t.rel_error:+9.2%}")
        out.append({"C": r["C"], "N_opt": r["N_opt"], "convention": s.attrs["convention"],
                    "shapes": s.to_dict(orient="records")})
    return {"shapes": out}


#: the library's neutral words for an option, as this command spells it
_FLAG_WORDS = {
    "keep outside vertices": "use --keep-outside",
    "use the cubic profile": "use --profile cubic",
    "loosen the budget grouping": "loosen the grouping with --budget-rtol or --bins",
}


def _flags(text: str) -> str:
    """A library message or summary with its option words replaced by this command's flags."""
    for words, flag in _FLAG_WORDS.items():
        text = text.replace(words, flag)
    return text


def _run_runs(args, k: float, alpha: float, shown: set) -> int:
    from ..allocate import isoflop, lower_envelope
    from ..errors import ScalelawError
    from ..io.table import read_table
    from ._common import report_stream

    out = report_stream(args.json)
    compute = _computes(args)
    mapping = {}
    for item in args.col:
        if "=" not in item:
            raise ScalelawError(f"--col expects NAME=COLUMN (e.g. N='Model Size'), got {item!r}")
        name, col = item.split("=", 1)
        mapping[name.strip()] = col.strip()
    bins = None
    if args.bins is not None:
        bins = int(_number(args.bins, "--bins"))
    path = args.isoflop or args.envelope
    frame = read_table(path)
    if args.where:
        frame = _select(frame, args.where, mapping)
    if args.isoflop:
        method = isoflop
        options = dict(budget_rtol=_number(args.budget_rtol, "--budget-rtol", positive=False),
                       keep_outside=args.keep_outside, profile=args.profile)
    else:
        method = lower_envelope
        options = dict(per_decade=_number(args.per_decade, "--per-decade"))
    cost = _cost(args, k)
    try:
        res = method(frame, columns=mapping, flops_per_token=k, alpha=alpha, bins=bins, cost=cost,
                     **options)
    except ScalelawError as e:
        if e.option is None and _flags(e.message) != e.message:
            raise ScalelawError(_flags(e.message)) from None
        raise
    print(f"runs: {path}" + (f" (where {args.where}: {len(frame)} rows)" if args.where else ""), file=out)
    print(_flags(res.summary()), file=out)
    shown.update(str(n).splitlines()[0] for n in getattr(res, "notes", []))
    pred = None
    if compute is not None:
        pred = res.predict(compute)
        print("extrapolated from the fitted exponents (point values):", file=out)
        for r in pred.itertuples(index=False):
            print(f"  C = {r.C:.4g} FLOPs: N_opt {r.N_opt:.4g} params, D_opt {r.D_opt:.4g} tokens, "
                  f"{r.tokens_per_param:.3g} tokens/param", file=out)
    shapes = {}
    if pred is not None:
        shapes = _say_shapes(args, lambda *parts: print(*parts, file=out), pred)
    if args.json:
        doc = {"kind": "allocation", **res.to_dict(), "source": path, **shapes}
        if args.where:
            doc["where"] = args.where
        if pred is not None:
            doc["predictions"] = pred.to_dict(orient="records")
        _write_json(args.json, doc)
    return 0


def _select(frame, where: str, mapping: dict):
    """The rows of a run table that ``--where`` selects; the canonical names N, D, C and
    loss may be used beside the table's own columns."""
    from ..errors import ScalelawError
    from ..expr import select_rows
    from ..io.columns import resolve
    env = frame.copy()
    found = resolve(frame.columns, ("N", "D", "C", "loss"), mapping=mapping or None, required=[])
    for canon, col in found.items():
        if canon not in env.columns:
            env[canon] = env[col]
    keep = select_rows(env, where, "--where")
    if not keep.any():
        raise ScalelawError(f"--where {where!r} selects no rows of the {len(frame)}")
    return frame.loc[keep].reset_index(drop=True)


def run(args) -> int:
    import warnings

    from ..errors import ScalelawError

    from ._common import check_outputs
    sources = [s for s in (args.fit, args.isoflop, args.envelope) if s]
    if len(sources) != 1:
        raise ScalelawError("give exactly one of FIT.json, --isoflop RUNS or --envelope RUNS "
                            "(see scalelaw allocate --help)")
    check_outputs([("--json", args.json, False)], inputs=sources)
    if args.fit and args.where:
        raise ScalelawError("--where selects rows of --isoflop/--envelope RUNS; FIT.json has none")
    if args.profile != "parabola" and not args.isoflop:
        raise ScalelawError("--profile chooses the per-budget profile of --isoflop RUNS")
    if args.shapes and not args.fit and not args.compute:
        raise ScalelawError("--shapes needs N_opt: give FIT.json, or --compute C with the runs")
    given = [flag for flag, attr in _SHAPE_FLAGS if getattr(args, attr) not in (None, False)]
    if given and not args.shapes:
        raise ScalelawError(f"{', '.join(given)} only {'applies' if len(given) == 1 else 'apply'} to "
                            f"--shapes (the transformer shapes for N_opt): add --shapes, or leave "
                            f"{'it' if len(given) == 1 else 'them'} out")
    if args.shapes:
        args.shape_options = _shape_options(args)     # bad shape options: refused before any output
    k = _number(args.flops_per_token, "--flops-per-token")
    level = _number(args.level, "--level")
    if not 0 < level < 1:
        raise ScalelawError(f"--level must be between 0 and 1 (e.g. 0.95), got {args.level}")
    shown: set = set()       # notes the summary printed: not repeated as warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if args.fit:
                return _run_fit(args, k, 1 - level)
            return _run_runs(args, k, 1 - level, shown)
        finally:
            from ..errors import ScalelawWarning
            _warn_printer([w for w in caught if issubclass(w.category, ScalelawWarning)],
                          "scalelaw allocate", skip=shown)
