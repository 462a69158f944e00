"""`scalelaw inspect LOG`: what scalelaw understood of a training log."""
from __future__ import annotations

HELP = "show how a training log is read: format, runs, column mapping, rows dropped"
DESCRIPTION = ("Read a training log (CSV/TSV/Parquet/JSONL, W&B export, trainer_state.json, "
               "TensorBoard events, MLflow store, Lightning metrics.csv, trainer text log, or a "
               "directory of runs; '-' reads standard input) and report the format detected, "
               "the runs, how each column was mapped, the step range, the rows dropped and why, "
               "and the files of a directory that could not be read. A table of runs (one row "
               "per run: N, D or C, loss) is reported as such: fit it as it is.")


def add_arguments(p):
    p.add_argument("log", metavar="LOG", help="log file or directory ('-': standard input)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--format", default=None, help="force a format (default: detect)")
    p.add_argument("--column", action="append", default=[], metavar="CANON=SOURCE",
                   help="map a canonical column (step, tokens, lr, loss, val_loss, run, split, "
                        "N, D, C) to a source column; repeatable")
    p.add_argument("--run", default=None, help="run name for a single-run log")
    p.add_argument("--min-step", "--warmup", dest="min_step", type=int, default=None,
                   help="drop steps before this one (--warmup is the old spelling)")
    p.add_argument("--max-points", type=int, default=None, help="downsample to this many points per run and split")
    p.add_argument("--smooth", default=None, metavar="SPEC",
                   help="smooth the loss per run and split: ema[:alpha] (debiased EMA, alpha "
                        "default 0.9), median[:window] (rolling median, default 11) or "
                        "lowess[:frac] (LOWESS, default 0.05); the raw loss stays in loss_raw")
    p.add_argument("--split", choices=("train", "val"), default=None,
                   help="keep only the train or the val rows")
    p.add_argument("--N", action="append", default=[], metavar="[RUN=]PARAMS", dest="N",
                   help="the model size of the run (e.g. 124e6, 124,354,560 or 124.35M); "
                        "RUN=PARAMS for one run of a directory; repeatable. Wins over a "
                        "parameter-count line in the log")
    p.add_argument("--head", type=int, default=0, help="also print the first N rows of the frame")


def parse_columns(items) -> dict:
    """``['loss=train/loss', ...]`` -> ``{'loss': 'train/loss'}``."""
    from ..errors import ScalelawError

    out = {}
    for item in items or ():
        canon, sep, src = str(item).partition("=")
        if not sep or not canon.strip() or not src:
            raise ScalelawError(f"bad --column {item!r}; write CANON=SOURCE, e.g. --column loss=train/loss")
        out[canon.strip()] = src
    return out


def parse_params(items):
    """``--N`` values -> what ``read_log(N=...)`` takes: ``None``, one number (``['124M']``)
    or ``{run: number}`` (``['small=124M', 'large=350M']``)."""
    from ..errors import ScalelawError
    from ..io.units import parse_count

    items = list(items or ())
    if not items:
        return None
    plain = [i for i in items if "=" not in str(i)]
    if plain and len(items) > 1:
        raise ScalelawError("give --N once for a single run, or RUN=PARAMS for each run")
    try:
        if plain:
            return parse_count(plain[0])
        out = {}
        for item in items:
            run, _, value = str(item).rpartition("=")
            if not run.strip():
                raise ScalelawError(f"bad --N {item!r}; write PARAMS or RUN=PARAMS")
            out[run.strip()] = parse_count(value)
        return out
    except ScalelawError as e:
        raise ScalelawError(f"--N: {e}") from None


def format_table_report(rep: dict) -> str:
    """The text report of a table of runs given to inspect."""
    lines = [f"source   {rep['source']}",
             f"format   {rep['format']}",
             f"rows     {rep['rows']} (one per run)",
             "columns"]
    for canon, srcs in rep["columns"].items():
        lines.append(f"  {canon:<11} <- {', '.join(map(str, srcs))}")
    for n in rep.get("notes", []):
        lines.append(f"note     {n}")
    src = "-" if rep["source"] == "<stdin>" else rep["source"]
    lines.append(f"         fit it with: scalelaw fit {src} --law chinchilla (or another law)")
    return "\n".join(lines)


def format_report(rep: dict) -> str:
    lines = [f"source   {rep['source']}",
             f"format   {rep['format']}" + (f" ({', '.join(rep['formats'])})" if rep["format"] == "dir" else ""),
             f"rows     {rep['rows']} in the frame, from {rep['rows_read']} source rows"]
    lines.append("columns")
    for canon, srcs in rep["columns"].items():
        lines.append(f"  {canon:<11} <- {', '.join(map(str, srcs))}")
    if rep["ignored"]:
        from ..io.columns import show
        lines.append(f"  ignored     {show(rep['ignored'], limit=10)}")
    lines.append(f"runs     {len(rep['runs'])}")
    for name, info in rep["runs"].items():
        splits = ", ".join(f"{k} {v}" for k, v in info["splits"].items())
        extra = "".join(f"  {c}={info[c]:.4g}" for c in ("N", "D", "C") if c in info)
        lines.append(f"  {name}: steps {info['step_min']}..{info['step_max']}, {splits}{extra}")
    dropped = {k: v for k, v in rep["dropped"].items() if v}
    why = {"no_step": "no step", "nonfinite": "no finite loss/lr/tokens",
           "resumed": "superseded by a resumed segment", "duplicate_step": "duplicate step merged",
           "split": "of the other split", "min_step": "before --min-step",
           "downsampled": "downsampled"}
    if dropped:
        lines.append("dropped")
        for k, v in dropped.items():
            lines.append(f"  {v:>9}  {why.get(k, k)}")
    else:
        lines.append("dropped  none")
    if rep["inf_values"]:
        lines.append(f"inf      {rep['inf_values']} infinite value(s) read as missing")
    for n in rep.get("notes", []):
        lines.append(f"note     {n}")
    for w in rep["warnings"]:
        lines.append(f"warning  {w}")
    return "\n".join(lines)


def run(args) -> int:
    import json

    from ..io import RunTableError, read_log

    try:
        df = read_log(args.log, format=args.format, columns=parse_columns(args.column), run=args.run,
                      min_step=args.min_step, max_points=args.max_points, smooth=args.smooth,
                      split=args.split, N=parse_params(args.N))
    except RunTableError as e:
        if args.json:
            print(json.dumps(e.report, indent=2, default=str))
        else:
            print(format_table_report(e.report))
        return 0
    rep = df.attrs["scalelaw"]
    if args.json:
        print(json.dumps(rep, indent=2, default=str))
    else:
        print(format_report(rep))
        if args.head:
            print()
            print(df.head(args.head).to_string(index=False))
    return 0
