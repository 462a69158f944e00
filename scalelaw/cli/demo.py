"""``scalelaw demo``: the main job end to end, on scalelaw's own training runs (data/), with
the allocation on synthetic runs whose true law is known, and the report of it all."""
from __future__ import annotations

HELP = "the main job on scalelaw's own training runs: fit, predict an unseen schedule, allocate, report"
DESCRIPTION = """Run the main job on the runs scalelaw's trainer made (data/ in the source tree):
(1) the size sweep, 32 transformers of 252 to 25,472 non-embedding parameters trained on a
switching Markov source, on its symbols and on LZW-64 tokens: E + A*N^-alpha fitted per
tokenizer (loss per character against non-embedding parameters, bootstrapped), with E set
against the source's entropy rate H_inf and unigram entropy H(pi), and a forecast; (2) the
schedule experiment: the momentum and multi-power laws fitted to two logged runs (constant
and cosine LR) predict three schedules they never saw (WSD linear, WSD sqrt, multistep),
with the errors against the logs; (3) compute-optimal allocation, which needs runs that trade
N against D: the shipped runs all saw the same number of tokens, so it runs on 60 synthetic
runs of a known Chinchilla law (E=1.80, A=400, B=1800, alpha=0.34, beta=0.36, 0.5% noise,
seeded): fit, bootstrap, a 70B/1.4T prediction and a 1e24-FLOP allocation next to the truth.
Then it writes the report (report.html, self-contained, with a live schedule explorer;
report.md and figures/) and the files it used (runs.csv and isoflop.csv of the synthetic
runs, evals.csv (two evaluation sets and an accuracy) and variant.csv (a variant with a known
compute multiplier of 2) for the README's further examples, the fits as JSON, fit.png) into --out DIR (created if needed; default a new temporary
folder), and prints where the report is. About 30 s on two cores."""

TRUE = {"E": 1.80, "A": 400.0, "B": 1800.0, "alpha": 0.34, "beta": 0.36}

#: the schedule experiment: the runs the LR-schedule laws are fitted on, and the first step fitted
#: and scored (the first few hundred steps are a plateau before the model uses its context,
#: which neither law describes; data/analyze.py uses the same)
LR_TRAIN = ("constant", "cosine")
LR_FROM = 400
#: the schedule the explorer starts at: an unseen run of the experiment
LR_EXPLORE = "wsdsqrt"


def add_arguments(p):
    p.add_argument("--bootstrap", type=int, default=200, metavar="N",
                   help="resamples of each bootstrapped fit (default 200; 0: asymptotic intervals only)")
    p.add_argument("--out", metavar="DIR", help="folder of the report and the files it used (created if "
                   "needed; default: a new temporary folder, printed at the end)")
    p.add_argument("--data", metavar="DIR", help="the folder of the trainer's runs (default: data/ of the "
                   "source tree scalelaw runs from)")
    p.add_argument("--quiet", action="store_true", help="no progress bar while the report is written")


def demo_runs(seed: int = 0):
    """60 runs: 10 model sizes x 6 token counts (tokens per parameter 5..160), 0.5% noise."""
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(5e7, 5e9, 10), 6)
    D = N * np.tile(np.geomspace(5, 160, 6), 10)
    t = TRUE
    L = t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]
    L = L * np.exp(rng.normal(0, 0.005, len(L)))
    return pd.DataFrame({"params": N, "tokens": D, "flops": 6 * N * D, "loss": L})


#: the second evaluation set of evals.csv (same exponents, its own floor and amplitudes), the
#: sigmoid taking loss_web to the accuracy column, and variant.csv's model-size multiplier
EVAL_CODE = {"E": 1.20, "A": 300.0, "B": 1200.0, "alpha": 0.34, "beta": 0.36}
ACC = {"a": 0.70, "b": 0.25, "k": 3.0, "L0": 3.0}
VARIANT_S_N = 2.0


def eval_runs(seed: int = 2):
    """The grid of :func:`demo_runs` with two evaluation sets and a downstream metric:
    ``loss_web`` (the demo's law), ``loss_code`` (:data:`EVAL_CODE`), both with 0.5% noise, and
    ``acc`` = b + a/(1 + exp(k·(loss_web − L0))) (:data:`ACC`, chance 0.25) + noise of 0.01."""
    import numpy as np
    frame = demo_runs(seed).rename(columns={"loss": "loss_web"})
    rng = np.random.default_rng(seed + 100)
    N, D = frame["params"].to_numpy(), frame["tokens"].to_numpy()
    t = EVAL_CODE
    code = t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]
    frame["loss_code"] = code * np.exp(rng.normal(0, 0.005, len(N)))
    a, b, k, L0 = ACC["a"], ACC["b"], ACC["k"], ACC["L0"]
    acc = b + a / (1 + np.exp(k * (frame["loss_web"].to_numpy() - L0))) + rng.normal(0, 0.01, len(N))
    frame["acc"] = np.clip(acc, 0.0, 1.0)
    return frame


def variant_runs(seed: int = 3):
    """A variant on the grid of :func:`demo_runs` that uses its parameters
    :data:`VARIANT_S_N` times better: L_B(N, D) = L(2·N, D), so A' = A·2^−α and its effective
    compute multiplier over the demo's law is exactly 2 at every budget."""
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(5e7, 5e9, 10), 6)
    D = N * np.tile(np.geomspace(5, 160, 6), 10)
    t = TRUE
    L = t["E"] + t["A"] / (VARIANT_S_N * N) ** t["alpha"] + t["B"] / D ** t["beta"]
    L = L * np.exp(rng.normal(0, 0.005, len(L)))
    return pd.DataFrame({"params": N, "tokens": D, "flops": 6 * N * D, "loss": L})


#: the budgets of the IsoFLOP table (FLOPs) and the model sizes around each optimum
ISO_BUDGETS = (1e18, 1e19, 1e20, 1e21, 1e22)


def isoflop_runs(seed: int = 1):
    """IsoFLOP profiles of the same law: 8 model sizes spanning 1/6x..6x of the true optimum
    at each of 5 budgets (D = C/(6N)), 0.5% noise.  The true exponent of N* ∝ C^a is
    beta/(alpha+beta) = 0.514."""
    import numpy as np
    import pandas as pd

    from .. import allocate
    rng = np.random.default_rng(seed)
    t = TRUE
    rows = []
    for C in ISO_BUDGETS:
        n_opt = float(allocate.compute_optimal(t, [C]).iloc[0]["N_opt"])
        for N in n_opt * np.geomspace(1 / 6, 6, 8):
            D = C / (6 * N)
            L = (t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]) * np.exp(rng.normal(0, 0.005))
            rows.append({"params": N, "tokens": D, "flops": C, "loss": L})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the shipped runs
def data_dir(given: str | None = None) -> str:
    """The folder of the trainer's shipped runs: ``given``, else ``data/`` beside the package
    (the source tree: data/ is not inside the installed package).  One-line error if the
    files the demo reads are not there."""
    import os

    from ..errors import ScalelawError
    if given:
        root, how = os.path.abspath(given), f"--data {given}"
    else:
        import scalelaw
        root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(scalelaw.__file__))), "data")
        how = "the source tree's data/"
    need = [os.path.join(root, "size_sweep", "results.csv"), os.path.join(root, "schedules", "results.csv"),
            os.path.join(root, "schedules", "logs")]
    missing = [p for p in need if not os.path.exists(p)]
    if missing:
        raise ScalelawError(f"the demo's runs are not in {root} ({how}): {missing[0]} is missing; run scalelaw "
                            "from its source tree (pip install -e .) or give --data DIR, a folder with "
                            "size_sweep/ and schedules/ as the trainer wrote them")
    return root


def _family(tok) -> str:
    t = str(tok).strip().lower()
    return "symbols" if t in ("", "none", "nan") else f"tokens ({tok})"


def _short(run: str) -> str:
    import re
    m = re.search(r"_([A-Za-z0-9]+)_s\d+_", str(run))
    return m.group(1) if m else str(run)


def _schedule_runs(root):
    """``{short name: (log path, schedule spec)}`` of the schedule experiment, in its order."""
    import os

    import pandas as pd

    from ..errors import ScalelawError
    res = pd.read_csv(os.path.join(root, "schedules", "results.csv"))
    out = {}
    for _, r in res.iterrows():
        path = os.path.join(root, "schedules", "logs", f"{r['run']}.csv")
        if not os.path.exists(path):
            raise ScalelawError(f"the demo's log {path} is missing; give --data DIR with the trainer's logs")
        out[_short(r["run"])] = (path, f"{r['schedule']},steps={int(r['steps'])}")
    missing = [n for n in (*LR_TRAIN, LR_EXPLORE) if n not in out]
    if missing:
        raise ScalelawError(f"the schedule experiment in {root} has no {missing[0]} run; it has "
                            f"{', '.join(out)}")
    return out


def _dur(t0):
    import time
    return time.perf_counter() - t0


def run(args) -> int:
    import os
    import shlex
    import sys
    import tempfile
    import time

    import numpy as np
    import pandas as pd

    from .. import allocate, plot
    from .._output import check_output, make_folder, open_output
    from ..fitting import fit, fit_lr
    from ..io import read_curves
    from ..report import Report, ReportFit
    from ._common import check_bootstrap
    from ._progress import _tty

    t_start = time.perf_counter()
    n_boot = check_bootstrap(args.bootstrap)
    root = data_dir(args.data)
    sched_runs = _schedule_runs(root)
    files = ("runs.csv", "isoflop.csv", "evals.csv", "variant.csv", "fit.json", "fit.png", "size_symbols.json", "size_tokens.json",
             "momentum.json", "multipower.json", "report.html", "report.md")
    if args.out:   # the folder made and every file checked before any work
        folder = make_folder(args.out, label=f"--out {args.out}")
        for name in files:
            check_output(os.path.join(folder, name), label=os.path.join(args.out, name),
                         plot=name.endswith(".png"))
        shown = args.out
    else:
        folder = tempfile.mkdtemp(prefix="scalelaw-demo-")
        shown = folder
    size_csv = os.path.join(root, "size_sweep", "results.csv")
    inputs = [(os.path.relpath(size_csv, root), size_csv),
              (os.path.relpath(os.path.join(root, "schedules", "results.csv"), root),
               os.path.join(root, "schedules", "results.csv"))]
    inputs += [(os.path.relpath(p, root), p) for p, _ in sched_runs.values()]
    rep = Report("scalelaw demo: scaling laws of scalelaw's own training runs",
                 "What `scalelaw demo` did: fit loss against model size on the trainer's size sweep and set "
                 "the fitted floor against the source's entropy; fit two LR-schedule laws on two logged "
                 "runs and predict three schedules they never saw; allocate compute on synthetic runs of "
                 "a known law (the shipped runs all saw the same number of tokens, so they cannot say how to "
                 "trade parameters for data). Losses in nats per character (one symbol of the source is one "
                 "character).")

    # ---- 1. loss against model size
    sizes = pd.read_csv(size_csv)
    for col in ("tokenizer", "N_nonembed", "eval_loss_per_char", "entropy_rate", "unigram_entropy"):
        if col not in sizes:
            from ..errors import ScalelawError
            raise ScalelawError(f"{size_csv} has no column {col}: it is not the trainer's results.csv")
    H, Hpi = float(sizes["entropy_rate"].iloc[0]), float(sizes["unigram_entropy"].iloc[0])
    src = str(sizes["source"].iloc[0]) if "source" in sizes else "the source"
    print(f"1. Loss against model size: {len(sizes)} runs of scalelaw's trainer ({os.path.relpath(size_csv, root)}),"
          f" source {src}")
    print(f"   entropy rate H_inf = {H:.4f}, unigram entropy H(pi) = {Hpi:.4f} nats/char; "
          f"law E + A*N^-alpha, N = non-embedding parameters, {n_boot} bootstrap resamples\n")
    t0 = time.perf_counter()
    size_fits, size_rows = {}, []
    for tok, g in sizes.groupby("tokenizer", sort=False, dropna=False):
        fam = _family(tok)
        res = fit(g, "powerlaw_const", columns={"N": "N_nonembed", "loss": "eval_loss_per_char"},
                  bootstrap=n_boot, seed=0)
        size_fits[tok] = (fam, g.reset_index(drop=True), res)
        ci = res.conf_int().loc["E"]
        E = float(res.params["E"])
        size_rows.append({"family": fam, "runs": len(g), "E": E, "E lower": float(ci["lower"]),
                          "E upper": float(ci["upper"]), "alpha": float(res.params["alpha"]),
                          "E - H_inf": E - H, "H(pi) - E": Hpi - E,
                          "H_inf in the interval": bool(ci["lower"] <= H <= ci["upper"])})
    print(f"   {'family':<22} runs   E       95% interval        E - H_inf   H(pi) - E   H_inf")
    for r in size_rows:
        print(f"   {r['family']:<22} {r['runs']:>4}   {r['E']:.4f}  [{r['E lower']:.4f}, {r['E upper']:.4f}]"
              f"   {r['E - H_inf']:+.4f}     {r['H(pi) - E']:.4f}      {'inside' if r['H_inf in the interval'] else 'outside'}")
    print(f"   ({len(size_fits)} fits + {n_boot} resamples each in {_dur(t0):.1f} s)\n")
    sec = rep.section("Loss against model size: the size sweep")
    sec.text(f"{len(sizes)} runs of scalelaw's trainer on the source {src}: {sizes['N_nonembed'].nunique()} model "
             f"sizes from {int(sizes['N_nonembed'].min()):,} to {int(sizes['N_nonembed'].max()):,} "
             f"non-embedding parameters, trained on the source's symbols and on LZW-64 tokens, two seeds each, "
             f"each on the same number of characters. The held-out loss per character is fitted with "
             f"E + A·N^-α per family. A model cannot beat the entropy rate H∞ = {H:.4f} nats/char, and one that "
             f"ignores context pays the unigram entropy H(π) = {Hpi:.4f}: the fitted floor E should sit at H∞.")
    sec.table(pd.DataFrame(size_rows), "The fitted floor E of each family (95% "
              + ("bootstrap" if n_boot else "asymptotic") + " interval) against the source's entropies", digits=4)
    fits_for_plot = {tok: r for tok, (_, _, r) in size_fits.items()}
    sec.figure(lambda: plot.entropy_curves(sizes, fits=fits_for_plot), "size-sweep-entropy",
               "Held-out loss per character against non-embedding parameters, symbols and LZW-64 tokens, with "
               "the fitted laws, E with its interval at the right, and H∞ and H(π) as lines.")
    size_json = {}
    for tok, (fam, g, res) in size_fits.items():
        key = "size_symbols" if fam == "symbols" else "size_tokens"
        size_json[key] = res
        rep.add_fit(ReportFit(res, name=f"size sweep, {fam}", data=g, logo_by="N_nonembed",
                              source=os.path.relpath(size_csv, root) + f" (tokenizer {tok})"))

    # ---- 2. LR schedules: fit two, predict the others
    t0 = time.perf_counter()
    logs = read_curves([p for p, _ in sched_runs.values()])
    names = {str(k): _short(k) for k in logs["run"].unique()}
    logs["run"] = logs["run"].map(lambda r: names.get(str(r), str(r)))
    train = logs[logs["run"].isin(LR_TRAIN)].reset_index(drop=True)
    unseen = [n for n in sched_runs if n not in LR_TRAIN]
    print(f"2. LR schedules: the momentum and multi-power laws fitted to the {' and '.join(LR_TRAIN)} runs "
          f"(held-out loss, steps >= {LR_FROM}),\n   predicting {', '.join(unseen)}, which they never saw\n")
    lr_fits, lr_rows = {}, []
    for law in ("momentum", "multipower"):
        res = fit_lr(train, law, where=f"step >= {LR_FROM}")
        lr_fits[law] = res
        for name in sched_runs:
            g = logs[logs["run"] == name]
            p = res.predict(g)
            p = p[(p["step"] >= LR_FROM) & p["loss"].notna()]
            err = (p["loss_pred"] - p["loss"]) / p["loss"]
            lr_rows.append({"law": law, "schedule": name, "fitted": name in LR_TRAIN,
                            "mean |rel. error| (%)": 100 * float(err.abs().mean()),
                            "max |rel. error| (%)": 100 * float(err.abs().max()),
                            "final predicted": float(p["loss_pred"].iloc[-1]),
                            "final observed": float(p["loss"].iloc[-1])})
    print("   law         schedule     fitted   mean |rel err|   final: predicted / observed")
    for r in lr_rows:
        print(f"   {r['law']:<11} {r['schedule']:<12} {'yes' if r['fitted'] else 'unseen':<8} "
              f"{r['mean |rel. error| (%)']:>8.3f}%        {r['final predicted']:.4f} / {r['final observed']:.4f}")
    for law in lr_fits:
        u = [r["mean |rel. error| (%)"] for r in lr_rows if r["law"] == law and not r["fitted"]]
        print(f"   {law}: mean relative error on the unseen schedules {np.mean(u):.3f}%")
    print(f"   (2 fits in {_dur(t0):.1f} s)\n")
    sec = rep.section("LR schedules: fit two runs, predict three")
    sec.text(f"Five runs of one model (25,472 non-embedding parameters, 2,000 steps, peak LR 1e-2, 50 warmup "
             f"steps) that differ only in their LR schedule. The momentum law (Tissue et al. 2024) and the "
             f"multi-power law (Luo et al. 2025) are fitted to the held-out loss of the {' and '.join(LR_TRAIN)} "
             f"runs (steps ≥ {LR_FROM}: before that the loss sits on a plateau neither law describes) and "
             f"predict the whole curve of the other schedules from their LR alone.")
    sec.table(pd.DataFrame(lr_rows).assign(fitted=lambda d: d["fitted"].map({True: "yes", False: "no, predicted"})),
              f"Each run's curve predicted from its LR schedule: errors on its held-out loss, steps ≥ {LR_FROM}",
              digits=5)
    specs = {n: s for n, (_, s) in sched_runs.items()}
    from ..schedules import parse_schedule
    start = parse_schedule(specs[LR_EXPLORE])
    ex = _explorer_start(specs[LR_EXPLORE], start)
    seen = logs[(logs["run"] == LR_EXPLORE) & logs["loss"].notna() & (logs["step"] > 0)]
    ex["observed"] = {"name": f"{LR_EXPLORE} (not fitted)", "steps": seen["step"].tolist(),
                      "loss": seen["loss"].tolist()}
    for law, res in lr_fits.items():
        rep.add_fit(ReportFit(res, name=law, data=logs, where=f"step >= {LR_FROM}", schedules=specs,
                              fitted_runs=list(LR_TRAIN), explorer=ex,
                              source=f"fitted here on {', '.join(LR_TRAIN)} (steps >= {LR_FROM})"))

    # ---- 3. allocation on synthetic Chinchilla runs
    runs = demo_runs()
    print("3. Allocation needs runs that trade model size against data; the shipped runs all saw the same\n"
          f"   number of tokens, so: 60 synthetic runs from E + A/N^alpha + B/D^beta with {TRUE}, 0.5% noise\n")
    t0 = time.perf_counter()
    res = fit(runs, "chinchilla", bootstrap=n_boot, seed=0)
    dt = _dur(t0)
    print(res.summary())
    print(f"(fit + {n_boot} bootstrap resamples in {dt:.1f} s)\n")
    ci = res.conf_int()
    print("recovery:  param      true     fitted    in 95% CI")
    rec = []
    for p, v in TRUE.items():
        inside = ci.loc[p, "lower"] <= v <= ci.loc[p, "upper"]
        print(f"           {p:<7}{v:>9.4g}{res.params[p]:>11.4g}    {'yes' if inside else 'no'}")
        rec.append({"parameter": p, "true": v, "fitted": float(res.params[p]), "lower": float(ci.loc[p, "lower"]),
                    "upper": float(ci.loc[p, "upper"]), "truth inside": bool(inside)})
    pred = res.predict(N=[7e10], D=[1.4e12])
    truth = TRUE["E"] + TRUE["A"] / 7e10 ** TRUE["alpha"] + TRUE["B"] / 1.4e12 ** TRUE["beta"]
    r = pred.iloc[0]
    print(f"\npredict N=7e10, D=1.4e12: {r['mean']:.4f} (curve 95%: {r['mean_ci_lower']:.4f}-"
          f"{r['mean_ci_upper']:.4f}; new run: {r['obs_ci_lower']:.4f}-{r['obs_ci_upper']:.4f}); "
          f"true {truth:.4f}")
    alloc = allocate.compute_optimal(res, [1e24])
    a = alloc.iloc[0]
    true_alloc = allocate.compute_optimal(TRUE, [1e24]).iloc[0]
    print("allocate C=1e24 FLOPs (C = 6ND):")
    for col, fmt in (("N_opt", ".3g"), ("D_opt", ".3g"), ("tokens_per_param", ".1f")):
        band = (f" (95%: {a[col + '_lower']:{fmt}}-{a[col + '_upper']:{fmt}})"
                if col + "_lower" in alloc else "")
        print(f"  {col:<17}{a[col]:{fmt}}{band}; true {true_alloc[col]:{fmt}}")
    iso_runs = isoflop_runs()
    iso = allocate.isoflop(iso_runs)
    print(f"IsoFLOP profiles (5 budgets x 8 sizes): a = {iso.a:.3f}; true {TRUE['beta'] / (TRUE['alpha'] + TRUE['beta']):.3f}")
    sec = rep.section("Allocation: synthetic runs of a known law")
    sec.text("Compute-optimal allocation needs runs that trade model size against data at fixed compute. The "
             "shipped runs all saw the same number of tokens, so this part runs on 60 synthetic runs of a known "
             f"Chinchilla law (E = {TRUE['E']}, A = {TRUE['A']:g}, B = {TRUE['B']:g}, α = {TRUE['alpha']}, "
             f"β = {TRUE['beta']}; 0.5% noise, seeded) and on IsoFLOP profiles of the same law (5 budgets × 8 "
             "model sizes): every fitted number can be checked against the truth. The true allocation "
             f"exponents are a = β/(α+β) = {TRUE['beta'] / (TRUE['alpha'] + TRUE['beta']):.3f} (N_opt ∝ C^a) and "
             f"b = α/(α+β) = {TRUE['alpha'] / (TRUE['alpha'] + TRUE['beta']):.3f} (D_opt ∝ C^b).")
    sec.table(pd.DataFrame(rec), "The fitted parameters and their 95% intervals against the truth", digits=4)
    table = allocate.compute_optimal(res, np.geomspace(1e18, 1e24, 25))
    sec.figure(lambda: plot.frontier(table, iso, param_count="total"), "allocation-methods",
               "N_opt and D_opt against compute from the closed form of the fit (Approach 3) and the IsoFLOP "
               "profiles (Approach 2), and their exponents.")
    sec.figure(lambda: plot.isoflop_parabolas(iso, iso_runs), "allocation-isoflop",
               "The IsoFLOP profiles: final loss against model size per budget, the parabola fitted to each, "
               "its vertex N*(C).")
    rep.add_fit(ReportFit(res, name="synthetic Chinchilla runs", data=runs, logo_by=False,
                          target={"N": 7e10, "D": 1.4e12}, budgets=[1e22, 1e23, 1e24, 1e25],
                          source="runs.csv (written by the demo)"))

    # ---- files and the report
    from .._output import write_text
    for name, frame in (("runs.csv", runs), ("isoflop.csv", iso_runs), ("evals.csv", eval_runs()),
                        ("variant.csv", variant_runs())):
        with open_output(os.path.join(folder, name), label=os.path.join(shown, name)) as f:
            frame.to_csv(f, index=False)
    res.to_json(os.path.join(folder, "fit.json"))
    plot.plot_fit(res, os.path.join(folder, "fit.png"))
    for key, r in {**size_json, **lr_fits}.items():
        write_text(os.path.join(folder, f"{key}.json"), r.to_json() + "\n", label=os.path.join(shown, f"{key}.json"))
    argv = ["demo"] + (["--bootstrap", str(n_boot)] if n_boot != 200 else []) + \
        (["--out", args.out] if args.out else []) + (["--data", args.data] if args.data else [])
    t0 = time.perf_counter()
    from .report import _Bar
    bar = _Bar(args.quiet or not _tty(sys.stderr))
    try:
        out = rep.write(folder, inputs=inputs, command="scalelaw " + shlex.join(argv), progress=bar, label=shown)
    finally:
        bar.close()
    print(f"\nwrote the report ({out['bytes'] / 1024:.0f} KB, {len(out['figures'])} figures, in {_dur(t0):.1f} s) "
          f"and {', '.join(files[:-2])} to {shown}")
    print(f"report: {os.path.join(shown, 'report.html')}  (open it in a browser: self-contained, with a live "
          f"schedule explorer; report.md beside it)")
    print(f"demo done in {_dur(t_start):.1f} s")
    return 0 if np.isfinite(res.objective) else 1


def _explorer_start(spec: str, sched) -> dict:
    """The explorer's start settings: those of a WSD run of the experiment."""
    keys = dict(kv.split("=", 1) for kv in spec.split(":", 1)[1].split(","))
    return {"peak": float(keys["peak"]), "final": float(keys.get("final", 0.0)), "steps": int(sched.total),
            "warmup": int(float(keys.get("warmup", 0))), "cooldown": float(keys.get("cooldown", 0.2)),
            "shape": keys.get("shape", "linear")}
