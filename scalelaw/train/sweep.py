"""Declarative sweeps: a TOML file of model sizes x sources x tokenizers x schedules x seeds x
token budgets, run resumably into one output folder (no torch import at module level).

Spec (every key checked; an unknown one is refused with the allowed ones)::

    name = "size_sweep"                  # identifies the sweep's runs in its output folder
    description = "..."                  # optional

    [grid]                               # the cross product; each list non-empty
    models = [{n_layer = 1, n_head = 1, n_embd = 8}, ...]   # optional name, tied
    sources = ["switching:p=0.8,q=0.8,k=3"]                 # or {name = "...", spec = "..."}
    tokenizers = ["none", "lzw:vocab=64"]                   # "none": symbol-level data
    schedules = ["cosine:peak=3e-3,final=3e-4,warmup=20"]   # steps= filled from the budget
    seeds = [0, 1]
    tokens = [1_000_000]                 # budgets in token positions (or train.steps)

    [train]                              # any other TrainConfig field, for every run
    batch_size = 32
    context = 64

    [quick.grid]                         # --quick: these keys replace the ones above
    tokens = [50_000]
    [quick.train]
    eval_every = 20

Output folder::

    DIR/sweep.json           the sweep's name, variant (full or quick) and its runs
    DIR/results.csv          one row per finished run (columns: RESULT_COLUMNS)
    DIR/logs/<run>.csv       each run's log (``scalelaw inspect DIR/logs`` reads them all)
    DIR/runs/<run>/          each run's config.json, ckpt.pt and result.json

A folder holding another sweep (or other files) is refused before any training; runs with a
``result.json`` are skipped, runs with a checkpoint resume from it.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, fields

from .._atomic import atomic_path, write_text
from ..errors import ScalelawError
from .config import TrainConfig, resolve_steps

__all__ = ["Sweep", "SweepRun", "load_sweep", "run_sweep", "write_results", "RESULT_COLUMNS"]

GRID_KEYS = ("models", "sources", "tokenizers", "schedules", "seeds", "tokens")
TOP_KEYS = ("name", "description", "grid", "train", "quick")
MODEL_KEYS = ("n_layer", "n_head", "n_embd", "tied", "name")
#: TrainConfig fields the grid sets (not allowed in [train])
_GRID_FIELDS = ("source", "tokenizer", "n_layer", "n_head", "n_embd", "tied", "schedule", "seed", "tokens")

#: results.csv columns.  N = N_nonembed (Kaplan) and loss = eval_loss_per_char, so that
#: ``scalelaw fit results.csv --law powerlaw_const`` needs no flags; D is ``tokens``
#: (target tokens trained on), C is ``flops`` (flops_per_token x token positions).
RESULT_COLUMNS = ("run", "source", "tokenizer", "schedule", "seed", "n_layer", "n_head", "n_embd",
                  "context", "vocab", "N_nonembed", "N_total", "N", "tokens", "chars", "flops",
                  "steps", "eval_loss_per_token", "eval_loss_per_char", "loss", "entropy_rate",
                  "unigram_entropy", "optimal_loss_per_char", "wall_time")


@dataclass(frozen=True)
class SweepRun:
    name: str
    config: TrainConfig
    labels: dict


@dataclass
class Sweep:
    name: str
    description: str
    runs: list
    quick: bool
    path: str | None = None

    @property
    def variant(self) -> str:
        return "quick" if self.quick else "full"


# ------------------------------------------------------------------------------ parsing
def _slug(text: str) -> str:
    s = re.sub(r"[:,]+", "-", str(text).strip().replace("=", ""))
    s = re.sub(r"[^A-Za-z0-9.+\-]+", "", s)
    return re.sub(r"-+", "-", s).strip("-") or "x"


def _short(n: int) -> str:
    for div, suf in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suf}"
    return str(n)


def _check_keys(d, allowed, where: str):
    if not isinstance(d, dict):
        raise ScalelawError(f"{where} must be a table")
    for k in d:
        if k not in allowed:
            raise ScalelawError(f"unknown key {k!r} in {where}; allowed: {', '.join(allowed)}")


def _labelled(items, where: str, default_label):
    if not isinstance(items, list) or not items:
        raise ScalelawError(f"grid.{where} must be a non-empty list")
    out = []
    for it in items:
        if isinstance(it, dict):
            _check_keys(it, ("name", "spec"), f"grid.{where} entry")
            if "spec" not in it:
                raise ScalelawError(f"grid.{where} entry {it!r} needs a spec")
            spec, label = it["spec"], it.get("name")
        else:
            spec, label = it, None
        if not isinstance(spec, str) or not spec.strip():
            raise ScalelawError(f"grid.{where}: {spec!r} is not a spec string")
        out.append((spec.strip(), _slug(label) if label else default_label(spec.strip())))
    return out


def _tok_label(spec: str) -> str:
    return "chars" if spec.lower() == "none" else _slug(spec)


def parse_sweep(doc: dict, *, quick: bool = False, path: str | None = None) -> Sweep:
    """Expand a parsed TOML document into a :class:`Sweep`, checking everything that can be
    checked without training (see the module docstring)."""
    from ..synthetic import parse_source, parse_tokenizer

    _check_keys(doc, TOP_KEYS, "the sweep spec")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScalelawError("the sweep spec needs name = \"...\" (it identifies its runs in the output folder)")
    grid = dict(doc.get("grid") or {})
    _check_keys(grid, GRID_KEYS, "[grid]")
    train_allowed = [f.name for f in fields(TrainConfig) if f.name not in _GRID_FIELDS]
    train = dict(doc.get("train") or {})
    _check_keys(train, train_allowed, "[train]")
    q = doc.get("quick") or {}
    _check_keys(q, ("grid", "train"), "[quick]")
    _check_keys(q.get("grid", {}), GRID_KEYS, "[quick.grid]")
    _check_keys(q.get("train", {}), train_allowed, "[quick.train]")
    if quick:
        if not q:
            raise ScalelawError(f"{path or 'the spec'} has no [quick] section; run it without the quick option")
        grid.update(q.get("grid", {}))
        train.update(q.get("train", {}))
    for k in ("models", "sources", "schedules", "seeds"):
        if k not in grid:
            raise ScalelawError(f"[grid] needs {k}")
    if "tokens" not in grid and "steps" not in train:
        raise ScalelawError("[grid] needs tokens (budgets in token positions), or [train] steps")

    models = grid["models"]
    if not isinstance(models, list) or not models:
        raise ScalelawError("grid.models must be a non-empty list of {n_layer, n_head, n_embd}")
    mlist = []
    for m in models:
        _check_keys(m, MODEL_KEYS, "a grid.models entry")
        for k in ("n_layer", "n_head", "n_embd"):
            if k not in m:
                raise ScalelawError(f"grid.models entry {m!r} needs {k}")
        ne, nh = m["n_embd"], m["n_head"]
        if isinstance(ne, int) and isinstance(nh, int) and nh > 0 and ne % nh:
            raise ScalelawError(f"model {m!r}: n_embd={m['n_embd']} is not divisible by "
                                f"n_head={m['n_head']}; choose n_embd a multiple of n_head")
        label = _slug(m["name"]) if "name" in m else f"L{m['n_layer']}H{m['n_head']}E{m['n_embd']}"
        mlist.append(({k: m[k] for k in ("n_layer", "n_head", "n_embd", "tied") if k in m}, label))
    sources = _labelled(grid["sources"], "sources", _slug)
    toks = _labelled(grid.get("tokenizers", ["none"]), "tokenizers", _tok_label)
    kinds = [str(x if isinstance(x, str) else x.get("spec", "")).split(":")[0].strip()
             for x in grid.get("schedules") or []]
    scheds = _labelled(grid["schedules"], "schedules",   # the kind alone when it is unambiguous
                       lambda s: _slug(s) if "+" in s or kinds.count(s.split(":")[0].strip()) > 1
                       else _slug(s.split(":")[0]))
    seeds = grid["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                          and s >= 0 for s in seeds):
        raise ScalelawError("grid.seeds must be a non-empty list of integers >= 0")
    budgets = grid.get("tokens", [None])
    if not isinstance(budgets, list) or not budgets or not all(
            b is None or (isinstance(b, int) and not isinstance(b, bool) and b >= 1) for b in budgets):
        raise ScalelawError("grid.tokens must be a non-empty list of integers >= 1 (token positions)")
    for label_list, what in ((sources, "sources"), (toks, "tokenizers"), (scheds, "schedules"), (mlist, "models")):
        labels = [lab for _, lab in label_list]
        if len(set(labels)) != len(labels):
            raise ScalelawError(f"grid.{what} has two entries with the same label; give them distinct names")
    # sources and tokenizers: parse once, check the model vocabulary against the tokenizer
    parsed_src = {}
    for spec, _ in sources:
        parsed_src[spec] = parse_source(spec)
    vocab = train.get("vocab")
    for sspec, src in parsed_src.items():
        for tspec, _ in toks:
            if tspec.lower() == "none":
                need = src.m
            else:
                ts = parse_tokenizer(tspec, m=src.m)
                need = ts.vocab_size if ts.vocab_size is not None else None
                if need is None and vocab is not None:   # size known only after training
                    from ..synthetic import train_tokenizer
                    need = train_tokenizer(src, ts, n_chars=train.get("tokenizer_chars", 1_000_000)).vocab_size
            if vocab is not None and need is not None and vocab < need:
                raise ScalelawError(f"train.vocab={vocab} is smaller than the vocabulary of "
                                    f"{tspec!r} on {sspec!r} ({need}); use vocab >= {need} or omit it")
    runs = []
    for (mk, mlab) in mlist:
        for sspec, slab in sources:
            for tspec, tlab in toks:
                for cspec, clab in scheds:
                    for seed in seeds:
                        for b in budgets:
                            parts = [mlab, slab, tlab, clab, f"s{seed}"] + ([f"D{_short(b)}"] if b else [])
                            rname = "_".join(parts)
                            cfg_d = {**train, **mk, "source": sspec,
                                     "tokenizer": None if tspec.lower() == "none" else tspec,
                                     "schedule": cspec, "seed": seed, "tokens": b}
                            try:
                                cfg = TrainConfig.from_dict(cfg_d)
                                resolve_steps(cfg)
                            except ScalelawError as e:
                                raise ScalelawError(f"run {rname}: {e}") from None
                            runs.append(SweepRun(rname, cfg, {"source": sspec, "tokenizer": tspec,
                                                             "schedule": cspec}))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise ScalelawError("two runs of the sweep get the same name; give grid entries distinct names")
    return Sweep(name.strip(), str(doc.get("description", "")), runs, quick, path)


def load_sweep(path, *, quick: bool = False) -> Sweep:
    """Read and check a TOML sweep spec (one-line :class:`ScalelawError` on any problem)."""
    import tomllib

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ScalelawError(f"sweep spec {path} does not exist" if not os.path.exists(path)
                            else f"sweep spec {path} is not a file")
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ScalelawError(f"{path} is not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ScalelawError(f"{path} is not a text (TOML) file") from None
    return parse_sweep(doc, quick=quick, path=path)


# ------------------------------------------------------------------------------ running
def _run_dirs(out: str):
    return os.path.join(out, "runs"), os.path.join(out, "logs")


def check_output(sweep: Sweep, out: str) -> None:
    """Refuse an output folder that holds another sweep, other files, or a run of the same
    name with a different configuration (nothing is touched)."""
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ScalelawError(f"output {out} exists and is not a folder")
    if not os.path.isdir(out):
        return
    meta = os.path.join(out, "sweep.json")
    if not os.path.exists(meta):
        if os.listdir(out):
            raise ScalelawError(f"{out} is not empty and holds no sweep; use an empty or new folder")
        return
    try:
        with open(meta, encoding="utf-8") as f:
            m = json.load(f)
        old = (m["name"], m["variant"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ScalelawError(f"{meta} is not a scalelaw sweep file; use another output folder") from None
    if old != (sweep.name, sweep.variant):
        raise ScalelawError(f"{out} holds the runs of another sweep ({old[0]!r}, {old[1]}); "
                            f"this one is {sweep.name!r} ({sweep.variant}); use another output folder")
    runs_dir, _ = _run_dirs(out)
    mine = {r.name: r for r in sweep.runs}
    for d in sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []:
        cfg_path = os.path.join(runs_dir, d, "config.json")
        if not os.path.exists(cfg_path):
            continue
        try:
            with open(cfg_path, encoding="utf-8") as f:
                stored = json.load(f)["config"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ScalelawError(f"{cfg_path} is not a run config; move it out of the sweep folder") from None
        if d in mine and stored != mine[d].config.to_dict():
            diff = sorted(k for k in set(stored) | set(mine[d].config.to_dict())
                          if stored.get(k) != mine[d].config.to_dict().get(k))
            raise ScalelawError(f"{out}: run {d} was made with another configuration "
                                f"({', '.join(diff)} differ); use another output folder")


def _status_printer(line: str) -> None:
    print(line, flush=True)


def _run_one(task: dict) -> dict:
    """Train one run of a sweep (module level: executors pickle it)."""
    from .trainer import train
    t = time.perf_counter()
    name = task["name"]
    try:
        threads = int(os.environ.get("SCALELAW_THREADS", "0")) or None
        res = train(task["config"], task["run_dir"], name=name, log_path=task["log"],
                    progress=False, status=_status_printer if task.get("status") else None,
                    threads=threads)
    except Exception as e:  # reported, the other runs go on
        msg = f"{type(e).__name__}: {e}" if not isinstance(e, ScalelawError) else str(e)
        print(f"{name}: FAILED: {msg}", flush=True)
        return {"name": name, "error": msg}
    if not res.get("skipped"):
        print(f"{name}: done, eval {res['eval_loss_per_char']:.4f} nats/char "
              f"(H_inf {res['entropy_rate']:.4f}, H(pi) {res['unigram_entropy']:.4f}), "
              f"{res['steps']} steps in {time.perf_counter() - t:.1f} s", flush=True)
    return res


def result_row(res: dict, labels: dict) -> dict:
    c = res["config"]
    return {
        "run": res["name"], "source": labels["source"], "tokenizer": labels["tokenizer"],
        "schedule": labels["schedule"], "seed": c["seed"], "n_layer": c["n_layer"],
        "n_head": c["n_head"], "n_embd": c["n_embd"], "context": c["context"], "vocab": res["vocab"],
        "N_nonembed": res["N_nonembed"], "N_total": res["N_total"], "N": res["N_nonembed"],
        "tokens": res["tokens"], "chars": res["chars"], "flops": res["flops"], "steps": res["steps"],
        "eval_loss_per_token": res["eval_loss_per_token"], "eval_loss_per_char": res["eval_loss_per_char"],
        "loss": res["eval_loss_per_char"], "entropy_rate": res["entropy_rate"],
        "unigram_entropy": res["unigram_entropy"],
        "optimal_loss_per_char": res.get("optimal_loss_per_char"), "wall_time": res["wall_time"],
    }


def write_results(sweep: Sweep, out: str) -> tuple[str, int]:
    """Write ``out/results.csv`` from the finished runs; returns (path, rows)."""
    import csv
    runs_dir, _ = _run_dirs(out)
    rows = []
    for r in sweep.runs:
        p = os.path.join(runs_dir, r.name, "result.json")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                rows.append(result_row(json.load(f), r.labels))
    path = os.path.join(out, "results.csv")
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
            w.writeheader()
            for row in rows:
                w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return path, len(rows)


def run_sweep(sweep: Sweep, out, executor=None, *, status: bool = True, echo=None) -> dict:
    """Run every unfinished run of ``sweep`` into ``out`` with ``executor`` (default: a
    local process pool, one worker per core) and write ``out/results.csv``.

    Returns ``{"results": path, "finished": n, "failed": [names], "skipped": n, "ran": n}``.
    ``echo``: where the sweep's own lines go (default print).
    """
    from .executors import LocalExecutor
    echo = echo or (lambda s: print(s, flush=True))
    out = os.fspath(out)
    check_output(sweep, out)
    runs_dir, logs_dir = _run_dirs(out)
    os.makedirs(runs_dir, exist_ok=True)
    os.makedirs(logs_dir, exist_ok=True)
    write_text(os.path.join(out, "sweep.json"), json.dumps({
        "name": sweep.name, "variant": sweep.variant, "description": sweep.description,
        "spec": os.path.abspath(sweep.path) if sweep.path else None,
        "runs": [r.name for r in sweep.runs]}, indent=1))
    done = [r for r in sweep.runs if os.path.exists(os.path.join(runs_dir, r.name, "result.json"))]
    todo = [r for r in sweep.runs if r not in done]
    resumed = [r for r in todo if os.path.exists(os.path.join(runs_dir, r.name, "ckpt.pt"))]
    if executor is None:
        executor = LocalExecutor(min(os.cpu_count() or 1, max(1, len(todo))))
    echo(f"sweep {sweep.name} ({sweep.variant}): {len(sweep.runs)} runs, {len(done)} finished "
         f"(skipped), {len(resumed)} to resume, {len(todo) - len(resumed)} to start; "
         f"executor {getattr(executor, 'name', type(executor).__name__)}")
    tasks = [{"name": r.name, "config": r.config.to_dict(), "run_dir": os.path.join(runs_dir, r.name),
              "log": os.path.join(logs_dir, f"{r.name}.{r.config.log_format}"), "status": status}
             for r in todo]
    t0 = time.perf_counter()
    results = list(executor.map(_run_one, tasks)) if tasks else []
    failed = [r["name"] for r in results if "error" in r]
    path, n = write_results(sweep, out)
    echo(f"sweep {sweep.name}: {n}/{len(sweep.runs)} runs finished"
         + (f", {len(failed)} failed ({', '.join(failed[:3])}{'...' if len(failed) > 3 else ''})" if failed else "")
         + f" in {time.perf_counter() - t0:.1f} s; wrote {path}")
    return {"results": path, "finished": n, "failed": failed, "skipped": len(done), "ran": len(tasks)}

