"""``scalelaw sweep SPEC --out DIR``: run a TOML sweep of training runs (torch, in run)."""
from __future__ import annotations

HELP = "run a TOML sweep of training runs (sizes x sources x tokenizers x schedules x seeds x budgets)"
DESCRIPTION = """Run every combination of a declarative TOML sweep (see docs/train.md) into
DIR: DIR/results.csv (one row per run; N = non-embedding parameters and loss = eval loss per
character, so scalelaw fit DIR/results.csv --law powerlaw_const needs no flags),
DIR/logs/RUN.csv and DIR/runs/RUN/.  Resumable: finished runs are skipped, killed runs
resume from their checkpoints.  The whole spec is checked before any training.
Needs PyTorch: pip install torch==2.13.0.
Examples:
  scalelaw sweep data/size_sweep.toml --out runs/size --workers 2
  scalelaw sweep data/size_sweep.toml --out runs/size_quick --quick
  scalelaw sweep spec.toml --out /shared/runs --executor ray --address auto
  scalelaw sweep spec.toml --out /shared/runs --executor slurm --partition gpu"""


def add_arguments(p):
    p.add_argument("spec", metavar="SPEC", help="sweep spec (TOML)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--quick", action="store_true", help="apply the spec's [quick] overrides")
    p.add_argument("--executor", choices=("local", "ray", "slurm"), default="local",
                   help="where runs execute (default local)")
    p.add_argument("--workers", type=int, metavar="K",
                   help="local: processes (default: one per core, threads = cores // K); "
                        "ray without --address: CPUs of the local Ray")
    p.add_argument("--threads", type=int, metavar="N",
                   help="local: torch threads per worker (default cores // workers)")
    p.add_argument("--address", metavar="ADDR", help="ray: cluster address (auto, ray://host:port)")
    p.add_argument("--partition", metavar="P", help="slurm: partition")
    p.add_argument("--cpus-per-task", type=int, metavar="N", help="ray/slurm: CPUs (and threads) per run")
    p.add_argument("--timeout-min", type=int, default=60, metavar="M", help="slurm: job time limit")
    p.add_argument("--check", action="store_true", help="check the spec and the folder, list the runs, train nothing")
    p.add_argument("--quiet", action="store_true", help="no per-evaluation status lines")


def run(args) -> int:
    import os

    from ..errors import ScalelawError
    from ..train.sweep import check_output, load_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise ScalelawError("--workers must be >= 1")
    if args.threads is not None and (args.threads < 1 or args.executor != "local"):
        raise ScalelawError("--threads must be >= 1 and applies to --executor local "
                            "(ray/slurm: --cpus-per-task)")
    if args.cpus_per_task is not None and args.cpus_per_task < 1:
        raise ScalelawError("--cpus-per-task must be >= 1")
    if args.executor == "slurm" and not args.partition:
        raise ScalelawError("--executor slurm needs --partition NAME")
    for flag, val, ex in (("--address", args.address, "ray"), ("--partition", args.partition, "slurm")):
        if val and args.executor != ex:
            raise ScalelawError(f"{flag} applies to --executor {ex}")
    sweep = load_sweep(args.spec, quick=args.quick)
    check_output(sweep, args.out)
    if args.check:
        for r in sweep.runs:
            print(r.name)
        print(f"sweep {sweep.name} ({sweep.variant}): {len(sweep.runs)} runs; spec and {args.out} are fine")
        return 0
    from ..train import require_torch
    require_torch()
    from ..train.executors import get_executor
    ex = get_executor(args.executor, workers=args.workers, address=args.address,
                      partition=args.partition, folder=os.path.join(args.out, "slurm"),
                      cpus_per_task=args.cpus_per_task, timeout_min=args.timeout_min,
                      threads=args.threads)
    try:
        out = run_sweep(sweep, args.out, ex, status=not args.quiet)
    finally:
        if args.executor == "ray":
            ex.close()
    return 1 if out["failed"] else 0
