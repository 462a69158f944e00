"""Figures of the shipped experiments (data/README.md), from their results and logs.

    python data/analyze.py                      # both experiments, from data/size_sweep, data/schedules
    python data/analyze.py --size DIR --sched DIR   # another output folder of the same specs

Size sweep: per family (symbols, LZW tokens) the loss per character of every run, and the
power law plus constant ``E + A N^-alpha`` fitted to loss per character against N =
non-embedding parameters (Kaplan), with E's 95% interval (bootstrap over runs, and the
asymptotic sandwich interval), set against H_inf and H(pi).

Schedule experiment: the momentum and multi-power laws fitted (through ``scalelaw fit``) on
the held-out loss of two schedules (constant, cosine), steps >= 400 (the first few hundred
steps are the plateau before the model picks up the context, which neither law describes),
predicting the other three (``scalelaw predict --log``); errors on their held-out losses.
Writes DIR/fits.json in each folder and prints markdown tables.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os

import numpy as np
import pandas as pd

import scalelaw
from scalelaw.cli import main as cli

HERE = os.path.dirname(os.path.abspath(__file__))
FROM = 400          # schedule experiment: first step fitted and scored
TRAIN_CURVES = ("constant", "cosine")


def bayes_loss_of_eval_set(cfg: dict) -> float:
    """Loss per character of the true source on a run's held-out targets (switching
    sources: a symbol with fewer than k predecessors in its row costs -log pi(x), since it
    depends only on the symbol k back; the others -log P(x | the k before)).  The held-out
    set is rebuilt from the run's seed exactly as the trainer drew it (checked)."""
    from scalelaw.synthetic import SyntheticDataset, parse_source, train_tokenizer
    src = parse_source(cfg["source"])
    if "switching" not in cfg["source"]:
        raise SystemExit("bayes_loss_of_eval_set handles switching sources only")
    k, seed, T, n = src.k, cfg["seed"], cfg["context"], cfg["eval_sequences"]
    tok = (train_tokenizer(src, cfg["tokenizer"], n_chars=cfg["tokenizer_chars"], seed=seed)
           if cfg["tokenizer"] else None)
    ds = SyntheticDataset(src, T, tokenizer=tok, seed=seed)
    ex, ey = ds.eval_set(n)

    def per_symbol(rows):
        nll = np.empty(rows.shape, dtype=float)
        nll[:, :k] = -np.log(src.pi[rows[:, :k]])
        nll[:, k:] = src.nll(rows)
        return nll

    if tok is None:
        rows = np.concatenate([ex[:, :1], ey], axis=1)
        return float(per_symbol(rows)[:, 1:].mean())
    rows = src.sample(n, ds._row_length_chars(), np.random.default_rng([seed, 1]))
    nll = per_symbol(rows)
    total = chars = 0.0
    for i, ids in enumerate(tok.encode_batch(rows)):
        ids = ids[: T + 1]
        assert np.array_equal(ids[:-1], ex[i, : len(ids) - 1]), "held-out set not reproduced"
        a = int(tok.token_lengths[ids[0]])
        b = a + int(tok.token_lengths[ids[1:]].sum())
        total += nll[i, a:b].sum()
        chars += b - a
    return float(total / chars)


def size_figures(folder: str, bootstrap: int = 1000) -> dict:
    df = pd.read_csv(os.path.join(folder, "results.csv"))
    H, Hpi = float(df["entropy_rate"].iloc[0]), float(df["unigram_entropy"].iloc[0])
    opt = df["optimal_loss_per_char"].dropna()
    out = {"entropy_rate": H, "unigram_entropy": Hpi,
           "optimal_symbol_loss_per_char": float(opt.iloc[0]) if len(opt) else None, "families": {}}
    print(f"\n### Size sweep ({folder})\n\nH_inf = {H:.4f}, H(pi) = {Hpi:.4f} nats/char"
          + (f"; best loss a 64-symbol row allows (symbols): {float(opt.iloc[0]):.4f}" if len(opt) else ""))
    fams = {t: g for t, g in df.groupby("tokenizer", sort=False)}
    bayes = {}
    for t, g in fams.items():
        for seed in sorted(g["seed"].unique()):
            run = g[g["seed"] == seed]["run"].iloc[0]
            with open(os.path.join(folder, "runs", run, "config.json")) as f:
                bayes[(t, int(seed))] = bayes_loss_of_eval_set(json.load(f)["config"])
    out["bayes_loss_of_eval_set"] = {f"{t} seed {s_}": v for (t, s_), v in bayes.items()}
    print("\nLoss of the true source on each held-out set (the floor a run can reach on it), "
          "nats/char: " + ", ".join(f"{t} seed {s_}: {v:.4f}" for (t, s_), v in bayes.items()))
    print("\n| model | N_nonembed | N_total (symbols / LZW) | symbols, seed 0 / 1 | LZW-64 tokens, seed 0 / 1 |")
    print("|---|---|---|---|---|")
    for n in sorted(df["N"].unique()):
        cells = []
        tot = []
        for t, g in fams.items():
            r = g[g["N"] == n].sort_values("seed")
            cells.append(" / ".join(f"{v:.4f}" for v in r["eval_loss_per_char"]))
            tot.append(f"{int(r['N_total'].iloc[0]):,}")
        m = df[df["N"] == n].iloc[0]
        print(f"| L{m.n_layer} H{m.n_head} E{m.n_embd} | {int(n):,} | {' / '.join(tot)} | {' | '.join(cells)} |")
    print("\n| family | E (fit) | E 95% bootstrap | E 95% asymptotic | alpha | E - H_inf | H(pi) - E | RMSE |")
    print("|---|---|---|---|---|---|---|---|")
    for t, g in fams.items():
        if len(g) < 4:
            print(f"| {t} | (only {len(g)} runs: too few for a 3-parameter fit) | | | | | | |")
            continue
        res = scalelaw.fit(g, "powerlaw_const", x="N", y="eval_loss_per_char", bootstrap=bootstrap, seed=0)
        p = res.params
        ci_b = res.conf_int(method="bootstrap").loc["E"]
        ci_a = res.conf_int(method="asymptotic").loc["E"]
        fam = {"E": float(p["E"]), "A": float(p["A"]), "alpha": float(p["alpha"]),
               "E_95_bootstrap": [float(ci_b["lower"]), float(ci_b["upper"])],
               "E_95_asymptotic": [float(ci_a["lower"]), float(ci_a["upper"])],
               "n_runs": int(len(g)), "bootstrap": bootstrap,
               "rmse": float(res.metrics.get("rmse", np.nan)),
               "seed_spread_per_size": {str(int(n)): float(s["eval_loss_per_char"].max() - s["eval_loss_per_char"].min())
                                        for n, s in g.groupby("N")}}
        out["families"][t] = fam
        print(f"| {t} | {fam['E']:.4f} | [{ci_b['lower']:.4f}, {ci_b['upper']:.4f}] | "
              f"[{ci_a['lower']:.4f}, {ci_a['upper']:.4f}] | {fam['alpha']:.3g} | {fam['E'] - H:+.4f} | "
              f"{Hpi - fam['E']:.4f} | {fam['rmse']:.4f} |")
    # excess over each held-out set's own floor: what the seed-to-seed spread leaves
    print("\nExcess over the true source's loss on the same held-out set (nats/char), seed 0 / 1:\n")
    print("| model | " + " | ".join(fams) + " |")
    print("|---|" + "---|" * len(fams))
    for n in sorted(df["N"].unique()):
        cells = []
        for t, g in fams.items():
            r = g[g["N"] == n].sort_values("seed")
            ex = [float(v) - bayes[(t, int(s_))] for v, s_ in zip(r["eval_loss_per_char"], r["seed"])]
            out["families"].setdefault(t, {}).setdefault("excess", {})[str(int(n))] = ex
            cells.append(" / ".join(f"{v:+.4f}" for v in ex))
        m = df[df["N"] == n].iloc[0]
        print(f"| L{m.n_layer} H{m.n_head} E{m.n_embd} | " + " | ".join(cells) + " |")
    with open(os.path.join(folder, "fits.json"), "w") as f:
        json.dump(out, f, indent=1)
    return out


def _quiet(args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli(args)
    if rc != 0:
        raise SystemExit(f"scalelaw {' '.join(args)} failed ({rc})")
    return buf.getvalue()


def sched_figures(folder: str) -> dict:
    logs = os.path.join(folder, "logs")
    files = {f.split("_mk8_chars_")[1].rsplit("_s0_", 1)[0]: os.path.join(logs, f)
             for f in sorted(os.listdir(logs)) if f.endswith(".csv")}
    results = pd.read_csv(os.path.join(folder, "results.csv"))
    start = min(FROM, int(results["steps"].min()) // 3)    # the --quick variant is shorter
    H, Hpi = float(results["entropy_rate"].iloc[0]), float(results["unigram_entropy"].iloc[0])
    print(f"\n### Schedule experiment ({folder})\n\nH_inf = {H:.4f}, H(pi) = {Hpi:.4f} nats/char; "
          "final held-out loss per schedule:\n")
    print("| schedule | final eval loss (nats/char) | final train loss (last 50 steps mean) |")
    print("|---|---|---|")
    finals = {}
    for name, path in files.items():
        d = pd.read_csv(path)
        ev = d[d["eval_loss"].notna()]
        tr = d[d["train_loss"].notna()]
        finals[name] = float(ev["eval_loss_per_char"].iloc[-1])
        print(f"| {name} | {finals[name]:.4f} | {tr['train_loss'].iloc[-50:].mean():.4f} |")
    out = {"entropy_rate": H, "unigram_entropy": Hpi, "final_eval_loss": finals, "from_step": start,
           "fitted_on": list(TRAIN_CURVES), "laws": {}}
    print(f"\nFitted on {' + '.join(TRAIN_CURVES)} (held-out loss, steps >= {start}); "
          f"errors on the held-out loss of the others, steps >= {start}:\n")
    tail = int(0.8 * int(results["steps"].min()))
    out["tail_from_step"] = tail
    print(f"| law | curve | mean abs rel. error | max abs rel. error | mean abs rel. error, steps >= {tail} "
          "(the cooldowns) | final: predicted / observed |")
    print("|---|---|---|---|---|---|")
    for law in ("momentum", "multipower"):
        fj = os.path.join(folder, f"{law}.json")
        text = _quiet(["fit", *[files[c] for c in TRAIN_CURVES], "--law", law, "--where", f"step >= {start}",
                       "--json", fj])
        r2 = [ln for ln in text.splitlines() if ln.startswith("R2")]
        law_out = {"fit_summary_R2": r2[0] if r2 else None, "curves": {}}
        for name, path in files.items():
            pred_csv = os.path.join(folder, f"pred_{law}_{name}.csv")
            _quiet(["predict", fj, "--log", path, "--out", pred_csv])
            p = pd.read_csv(pred_csv)
            p = p[(p["step"] >= start) & p["loss"].notna()]
            err = (p["loss_pred"] - p["loss"]) / p["loss"]
            c = {"mean_abs_rel_err": float(err.abs().mean()), "max_abs_rel_err": float(err.abs().max()),
                 "tail_mean_abs_rel_err": float(err[p["step"] >= tail].abs().mean()),
                 "final_pred": float(p["loss_pred"].iloc[-1]), "final_obs": float(p["loss"].iloc[-1]),
                 "fitted": name in TRAIN_CURVES}
            law_out["curves"][name] = c
            tag = " (fitted)" if c["fitted"] else ""
            print(f"| {law} | {name}{tag} | {100 * c['mean_abs_rel_err']:.3f}% | {100 * c['max_abs_rel_err']:.3f}% | "
                  f"{100 * c['tail_mean_abs_rel_err']:.3f}% | {c['final_pred']:.4f} / {c['final_obs']:.4f} |")
        unseen = [v["mean_abs_rel_err"] for v in law_out["curves"].values() if not v["fitted"]]
        law_out["mean_over_unseen"] = float(np.mean(unseen))
        law_out["tail_mean_over_unseen"] = float(np.mean([v["tail_mean_abs_rel_err"]
                                                          for v in law_out["curves"].values() if not v["fitted"]]))
        print(f"| {law} | **mean over unseen** | **{100 * law_out['mean_over_unseen']:.3f}%** | | "
              f"**{100 * law_out['tail_mean_over_unseen']:.3f}%** | |")
        out["laws"][law] = law_out
    with open(os.path.join(folder, "fits.json"), "w") as f:
        json.dump(out, f, indent=1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default=os.path.join(HERE, "size_sweep"))
    ap.add_argument("--sched", default=os.path.join(HERE, "schedules"))
    ap.add_argument("--bootstrap", type=int, default=1000)
    a = ap.parse_args()
    if os.path.isdir(a.size):
        size_figures(a.size, a.bootstrap)
    if os.path.isdir(a.sched):
        sched_figures(a.sched)


if __name__ == "__main__":
    main()
