"""Short CLI commands, wall time from the shell: scalelaw against simple-scaling-laws 0.2.0.

Each command is run as a user runs it, a fresh process of the installed console script
(``scalelaw`` beside this interpreter; the peer's ``scaling-laws``), its output thrown away,
timed from outside (``time.perf_counter`` around ``subprocess.run``; the children's CPU
time from ``getrusage``).  For each repeat and each command, scalelaw's run and then the
peer's alternate (ABAB...), so both see the same load.  One untimed warm-up of every
command first (the page cache, and the bytecode caches written, as after ``pip install``).

The commands, on the same data for both tools (written to a temporary folder from
``../shared/benchdata``, each tool with its own column names):

* ``fit``: the Chinchilla points (``chinchilla_epoch.csv``, the 5 highest-loss points
  dropped, 240 rows, D = C/(6N); as bench_fit.py and bench_bootstrap.py), scalelaw's
  default fit (``--law chinchilla``, asymptotic intervals) against the peer's default fit
  (separable-power law, 1,000 bootstrap draws: the peer always bootstraps);
* ``fit --bootstrap 1000``: the like-for-like fit, both with 1,000 bootstrap draws;
* ``predict``: 4 points (N, D), with intervals, from the bootstrapped fits;
* ``allocate``: 4 budgets 1e21..1e24, C = 6ND, intervals over the fits' draws;
* ``isoflop``: Chinchilla's IsoFLOP runs (``reallogs/isoflops_ml_scalefit.csv``, 124 runs,
  9 budgets), parabola per budget, extrapolated to 1e22 and 1e24 (peer: ``--degree 2``,
  ``--cost power:k=6,a=1,b=1``, its default 1,000 draws);
* ``--help``: the top-level help (the floor: interpreter and CLI start).

The subprocesses get the environment without ``PYTHONDONTWRITEBYTECODE`` (a user's shell
does not set it; with it set and no bytecode cache yet, as in a fresh checkout installed with
``pip install -e .``, every run compiles scalelaw's modules again, about 0.2 s, while the
peer's site-packages keep the bytecode pip compiled); ``--keep-env`` keeps it.

    python -m venv /work/peervenv
    /work/peervenv/bin/pip install --ignore-requires-python simple-scaling-laws==0.2.0
    python bench/bench_cli.py                  # 7 alternating repeats, a table and the ratios
    python bench/bench_cli.py --check          # exit 1 if any ratio scalelaw/peer > 1
    python bench/bench_cli.py --variant before=/tmp/before/scalelaw   # another scalelaw in the same rotation

``--variant LABEL=SCRIPT`` (repeatable) adds another scalelaw console script (e.g. a checkout of an
earlier commit, started by a script that puts it first on ``sys.path``) to the rotation: each
repeat runs scalelaw, the variants, then the peer, and the table gives each one's ratio to the
peer; ``--check`` looks at scalelaw's own ratios only.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("SCALELAW_BENCHDATA", HERE.parent.parent / "shared" / "benchdata"))
PEER_BIN = "/work/peervenv/bin/scaling-laws"
PEER_COLS = ("model_size__n_params", "dataset_size__n_tokens")
BUDGETS = ("1e21", "1e22", "1e23", "1e24")
POINTS = ((7e10, 1.4e12), (1e9, 2e10), (1e10, 2e11), (4e11, 8e12))


def write_data(folder: Path) -> None:
    """The bench's inputs, for each tool in its own column names (same numbers)."""
    with open(DATA / "chinchilla_epoch.csv") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["loss"]))[:-5]
    chin = [(float(r["Model Size"]), float(r["Training FLOP"]) / (6 * float(r["Model Size"])),
             float(r["loss"])) for r in rows]
    with open(DATA / "reallogs" / "isoflops_ml_scalefit.csv") as f:
        iso = [(r["params"], r["tokens"], r["budget"], r["loss"]) for r in csv.DictReader(f)]

    def put(name, header, table):
        with open(folder / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(table)

    put("chin.csv", ("N", "D", "loss"), [(repr(n), repr(d), repr(y)) for n, d, y in chin])
    put("chin_peer.csv", ("training_run_id", *PEER_COLS, "test_loss__cross_entropy"),
        [(f"r{i}", repr(n), repr(d), repr(y)) for i, (n, d, y) in enumerate(chin)])
    put("points.csv", ("N", "D"), POINTS)
    put("points_peer.csv", PEER_COLS, POINTS)
    put("iso.csv", ("N", "D", "C", "loss"), iso)
    put("iso_peer.csv", ("training_run_id", *PEER_COLS, "compute__flops", "test_loss__cross_entropy"),
        [(f"r{i}", *r) for i, r in enumerate(iso)])


def commands(ours: list[str], peer: list[str], d: Path, tag: str = ""):
    """(name, scalelaw argv, peer argv) for each command (``tag``: a suffix for the fit files
    of a variant, so that each reads its own fit)."""
    p = str(d)
    cost = ["--cost", "power:k=6,a=1,b=1"]
    return [
        ("fit", ours + ["fit", f"{p}/chin.csv", "--law", "chinchilla", "--json", f"{p}/fit{tag}.json"],
         peer + ["fit", f"{p}/chin_peer.csv", "-o", f"{p}/peer.slaw"]),
        ("fit --bootstrap 1000",
         ours + ["fit", f"{p}/chin.csv", "--law", "chinchilla", "--bootstrap", "1000", "--json",
                 f"{p}/fitb{tag}.json"],
         peer + ["fit", f"{p}/chin_peer.csv", "-o", f"{p}/peerb.slaw", "--draws", "1000"]),
        ("predict", ours + ["predict", f"{p}/fitb{tag}.json", "--grid", f"{p}/points.csv", "--out", "-"],
         peer + ["predict", f"{p}/peerb.slaw", f"{p}/points_peer.csv"]),
        ("allocate", ours + ["allocate", f"{p}/fitb{tag}.json", "--compute", *BUDGETS],
         peer + ["allocate", f"{p}/peerb.slaw", *[a for b in BUDGETS for a in ("--budget", b)], *cost]),
        ("isoflop", ours + ["allocate", "--isoflop", f"{p}/iso.csv", "--compute", "1e22", "1e24"],
         peer + ["isoflop", f"{p}/iso_peer.csv", "--budget", "1e22", "--budget", "1e24", "--degree", "2",
                 *cost]),
        ("--help", ours + ["--help"], peer + ["--help"]),
    ]


def timed(argv, env, cwd):
    """Wall and CPU seconds of one run of ``argv`` (output discarded); fails loudly."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(argv)}\n{out.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def scalelaw_argv(explicit):
    if explicit:
        return [explicit]
    script = Path(sys.executable).parent / "scalelaw"
    if script.exists():
        return [str(script)]
    found = shutil.which("scalelaw")
    if found:
        return [found]
    raise SystemExit("the scalelaw console script is not installed (pip install -e .)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scalelaw", help="the scalelaw console script (default: beside this python)")
    ap.add_argument("--peer", default=PEER_BIN, help="the peer's scaling-laws console script")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL=SCRIPT",
                    help="another scalelaw console script to time in the same rotation")
    ap.add_argument("--only", nargs="*", help="run only these commands (names as in the table; help for --help)")
    ap.add_argument("--keep-env", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if set")
    ap.add_argument("--check", action="store_true", help="exit 1 if any ratio scalelaw/peer > 1")
    a = ap.parse_args(argv)
    if not Path(a.peer).exists():
        sys.exit(f"peer not found: {a.peer} (see the module docstring to install it)")
    if not (DATA / "chinchilla_epoch.csv").exists():
        sys.exit(f"benchmark data not found in {DATA} (set SCALELAW_BENCHDATA)")
    env = dict(os.environ)
    if not a.keep_env:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    ours = scalelaw_argv(a.scalelaw)
    variants = []
    for v in a.variant:
        label, _, script = v.partition("=")
        if not script or not Path(script).exists():
            sys.exit(f"--variant {v}: give LABEL=SCRIPT with an existing script")
        variants.append((label, [script]))
    tools = [("scalelaw", ours)] + variants
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        d = Path(tmp)
        write_data(d)
        plan = {}                                   # command -> [(tool, argv)], the rotation order
        for j, (who, argv_) in enumerate(tools):
            for name, mine, theirs in commands(argv_, [a.peer], d, tag="" if j == 0 else f"_{j}"):
                plan.setdefault(name, []).append((who, mine))
                if j == len(tools) - 1:
                    plan[name].append(("peer", theirs))
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"load {os.getloadavg()[0]:.2f}; {a.repeats} alternating repeats", flush=True)
        print("; ".join(f"{who}: {argv_[0]}" for who, argv_ in tools) + f"; peer: {a.peer}", flush=True)
        for runs in plan.values():                  # warm-up, untimed (in order: fits before use)
            for _, argv_ in runs:
                timed(argv_, env, tmp)
        plan = {name: runs for name, runs in plan.items() if not a.only or name.lstrip("-") in a.only}
        res = {name: {who: [] for who, _ in runs} for name, runs in plan.items()}
        for i in range(a.repeats):
            for name, runs in plan.items():
                for who, argv_ in runs:
                    res[name][who].append(timed(argv_, env, tmp))
            print(f"  repeat {i + 1}/{a.repeats} done (load {os.getloadavg()[0]:.2f})", flush=True)
    who_all = [w for w, _ in tools] + ["peer"]
    print()
    print("| command | " + " | ".join(f"{w} median wall (min-max), CPU" for w in who_all) + " | "
          + " | ".join(f"ratio {w}/peer" for w, _ in tools) + " |")
    print("|---" * (1 + len(who_all) + len(tools)) + "|")
    worst = 0.0
    for name, r in res.items():
        cells, med = [], {}
        for who in who_all:
            walls = [w for w, _ in r[who]]
            med[who] = statistics.median(walls)
            cells.append(f"{med[who]:.3f} s ({min(walls):.3f}-{max(walls):.3f}), "
                         f"{statistics.median(c for _, c in r[who]):.3f} s")
        ratios = {w: med[w] / med["peer"] for w, _ in tools}
        worst = max(worst, ratios["scalelaw"])
        print(f"| `{name}` | " + " | ".join(cells) + " | "
              + " | ".join(f"**{ratios[w]:.2f}**" for w, _ in tools) + " |")
    print(f"\nlargest ratio scalelaw/peer {worst:.2f} (load now {os.getloadavg()[0]:.2f})")
    if a.check and worst > 1:
        print("check failed: a scalelaw command is slower than the peer's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
