"""`scalelaw inspect LOG`: what scalelaw understood of a training log."""
from __future__ import annotations

HELP = "show how a training log is read: format, runs, column mapping, rows dropped"
DESCRIPTION = ("Read a training log (CSV/TSV/Parquet/JSONL, W&B export, trainer_state.json, "
               "TensorBoard events, MLflow store, Lightning metrics.csv, trainer text log, or a "
               "directory of runs) and report the format detected, the runs, how each column "
               "was mapped, the step range and the rows dropped and why.")


def add_arguments(p):
    p.add_argument("log", metavar="LOG", help="log file or directory")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--format", default=None, help="force a format (default: detect)")
    p.add_argument("--column", action="append", default=[], metavar="CANON=SOURCE",
                   help="map a canonical column (step, tokens, lr, loss, val_loss, run, split, "
                        "N, D, C) to a source column; repeatable")
    p.add_argument("--run", default=None, help="run name for a single-run log")
    p.add_argument("--warmup", type=int, default=None, help="drop steps before this one")
    p.add_argument("--max-points", type=int, default=None, help="downsample to this many points per run and split")
    p.add_argument("--smooth", default=None, help="ema[:alpha] or median[:window]")
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
           "warmup": "before the warmup cut", "downsampled": "downsampled"}
    if dropped:
        lines.append("dropped")
        for k, v in dropped.items():
            lines.append(f"  {v:>9}  {why.get(k, k)}")
    else:
        lines.append("dropped  none")
    if rep["inf_values"]:
        lines.append(f"inf      {rep['inf_values']} infinite value(s) read as missing")
    for w in rep["warnings"]:
        lines.append(f"warning  {w}")
    return "\n".join(lines)


def run(args) -> int:
    import json

    from ..io import read_log

    df = read_log(args.log, format=args.format, columns=parse_columns(args.column), run=args.run,
                  warmup=args.warmup, max_points=args.max_points, smooth=args.smooth)
    rep = df.attrs["scalelaw"]
    if args.json:
        print(json.dumps(rep, indent=2, default=str))
    else:
        print(format_report(rep))
        if args.head:
            print()
            print(df.head(args.head).to_string(index=False))
    return 0
