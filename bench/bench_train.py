"""Benchmark the trainer (issue 13): throughput and MFU, trainer vs a bare torch loop, the
chunked cross-entropy's memory and time, and a torch.profiler table for a small model.

    python bench/bench_train.py                 # everything (a few minutes on 2 cores)
    python bench/bench_train.py --quick         # fewer steps
    python bench/bench_train.py --only ce       # one part: peak, sizes, bare, ce, profile

* peak: fp32 matmul throughput of this machine in this run (best of several 2048^3 mm).
* sizes: the size sweep's models (data/size_sweep.toml shapes, batch 32 x 64) and the
  bench model (4 layers, width 256, batch 16 x 256): trainer tokens/s from the log's
  wall_time between its first and last rows after a warm-up, MFU = flops_per_token x
  tokens/s / peak (flops_per_token = 6 (N_nonembed + V d) + 12 L T d).
* bare: the same model and a fixed batch in a plain loop (forward, backward, clip, AdamW);
  trainer tokens/s / bare tokens/s is the share that logging, evaluation, checkpoints and
  data generation leave.
* ce: chunked vs dense (F.cross_entropy on materialized logits) at vocabulary 32,768 and
  8,192 rows, width 256: peak resident memory of loss + backward, each in its own process
  (the resident set sampled every 0.5 ms during loss + backward, minus the resident set
  just before, after a small warm-up; Linux), time (best of 3), max gradient difference;
  with 1 thread and with every thread.
* profile: torch.profiler table of trainer steps for a small model, and the share of a
  step spent drawing the batch (numpy sampling).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

from scalelaw.train.config import TrainConfig
from scalelaw.train.model import GPT, GPTConfig
from scalelaw.train.trainer import train

SOURCE = "switching:p=0.8,q=0.8,k=3"
SWEEP_SIZES = [(1, 1, 4), (1, 1, 6), (1, 1, 8), (1, 2, 12), (1, 2, 16), (2, 2, 16), (2, 2, 24), (2, 2, 32)]


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    """Best fp32 GFLOP/s of an n x n x n matmul."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def trainer_tps(L, H, D, T, B, steps, vocab=2, warm=5) -> dict:
    """Trainer tokens/s between logged rows ``warm`` and the last training row."""
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig(source=SOURCE, n_layer=L, n_head=H, n_embd=D, context=T, batch_size=B,
                          steps=steps, schedule="cosine:peak=1e-3,final=1e-4,warmup=2",
                          eval_every=max(10, steps // 4), eval_sequences=B, log_every=1,
                          ckpt_every=max(10, steps // 2), vocab=vocab if vocab > 2 else None)
        res = train(cfg, d, name="b", progress=False)
        import csv
        with open(os.path.join(d, "b.csv")) as f:
            rows = [r for r in csv.DictReader(f) if r["train_loss"]]
    a, b = rows[warm], rows[-1]
    dt = float(b["wall_time"]) - float(a["wall_time"])
    n = (int(b["step"]) - int(a["step"])) * B * T
    tps = n / dt
    # steady state: the median gap between consecutive training rows (no evaluation or
    # checkpoint inside); the window figure above includes them at the configured intervals
    import statistics
    gaps = [float(r2["wall_time"]) - float(r1["wall_time"]) for r1, r2 in zip(rows[warm:], rows[warm + 1:])
            if int(r2["step"]) == int(r1["step"]) + 1]
    return {"tps": tps, "steady_tps": B * T / statistics.median(gaps),
            "flops_per_token": res["flops_per_token"], "N_nonembed": res["N_nonembed"]}


def bare_tps(L, H, D, T, B, steps, vocab=2, warm=3) -> float:
    torch.manual_seed(0)
    model = GPT(GPTConfig(L, H, D, T, vocab))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95))
    x = torch.randint(0, vocab, (B, T))
    y = torch.randint(0, vocab, (B, T))
    for i in range(warm + steps):
        if i == warm:
            t = time.perf_counter()
        logits = model(x).float()
        loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()
    return steps * B * T / (time.perf_counter() - t)


_CE_CHILD = r"""
import json, sys, time, torch, torch.nn.functional as F
from scalelaw.train.loss import chunked_cross_entropy
variant, N, V, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(int(sys.argv[6]))
rows = int(variant.split(":")[1]) if ":" in variant else None
torch.manual_seed(0)
h = (torch.randn(N, d) * 0.5).requires_grad_(True)
W = (torch.randn(V, d) * 0.02).requires_grad_(True)
y = torch.randint(0, V, (N,))
def run():
    if variant.startswith("chunked"):
        loss = chunked_cross_entropy(h, W, y, chunk_rows=rows)
    else:
        loss = F.cross_entropy(h @ W.t(), y)
    loss.backward()
    return loss
import threading
def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
# warm up on a small problem (lazy kernel and thread-pool setup stays resident)
h0, W0, y0 = h[:64].detach().clone().requires_grad_(True), W[:512].detach().clone().requires_grad_(True), y[:64] % 512
(chunked_cross_entropy(h0, W0, y0) if variant.startswith("chunked") else F.cross_entropy(h0 @ W0.t(), y0)).backward()
del h0, W0, y0
kb0 = rss_kb()          # resident now; the loss + backward's peak is sampled above it
peak = [kb0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kb())
        stop.wait(0.0005)
th = threading.Thread(target=sample, daemon=True)
th.start()
loss = run()
stop.set(); th.join()
kb1 = max(peak[0], rss_kb())
times = []
for _ in range(3):
    h.grad = W.grad = None
    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
torch.save({"h": h.grad, "W": W.grad}, sys.argv[5])
print(json.dumps({"peak_mb": (kb1 - kb0) / 1024, "time": min(times), "loss": float(loss)}))
"""


def ce_bench(N=8192, V=32768, d=256, threads=1) -> dict:
    """Each variant in its own process: dense, chunked (default chunk), chunked:ROWS."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ("dense", "chunked", "chunked:128", "chunked:512"):
            g = os.path.join(tmp, f"{variant.replace(':', '_')}.pt")
            p = subprocess.run([sys.executable, "-c", _CE_CHILD, variant, str(N), str(V), str(d), g,
                                str(threads)], capture_output=True, text=True, check=True, env={**os.environ})
            out[variant] = json.loads(p.stdout.strip().splitlines()[-1])
            out[variant]["grads"] = torch.load(g, weights_only=True)
    for v in ("chunked:128", "chunked:512"):
        out[v].pop("grads")
        out[v]["memory_ratio"] = out["dense"]["peak_mb"] / max(out[v]["peak_mb"], 1e-9)
        out[v]["time_ratio"] = out[v]["time"] / out["dense"]["time"]
    from scalelaw.train.loss import default_chunk_rows
    out["default_chunk_rows"] = default_chunk_rows(V)
    gd, gc = out["dense"].pop("grads"), out["chunked"].pop("grads")
    out["max_grad_diff"] = max(float((gd[k] - gc[k]).abs().max()) for k in gd)
    out["max_grad"] = max(float(gd[k].abs().max()) for k in gd)
    out["memory_ratio"] = out["dense"]["peak_mb"] / max(out["chunked"]["peak_mb"], 1e-9)
    out["time_ratio"] = out["chunked"]["time"] / out["dense"]["time"]
    out["loss_diff"] = abs(out["dense"]["loss"] - out["chunked"]["loss"])
    return out


def profile_small(L=1, H=1, D=8, T=64, B=32, steps=60) -> str:
    from torch.profiler import ProfilerActivity, profile

    from scalelaw.synthetic import SyntheticDataset, parse_source
    ds = SyntheticDataset(parse_source(SOURCE), T, seed=0)
    t = time.perf_counter()
    for i in range(steps):
        ds.train_batch(i, B)
    data_ms = (time.perf_counter() - t) / steps * 1e3
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig(source=SOURCE, n_layer=L, n_head=H, n_embd=D, context=T, batch_size=B,
                          steps=steps, schedule="constant:peak=1e-3", eval_every=steps, eval_sequences=B,
                          ckpt_every=steps)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t = time.perf_counter()
            train(cfg, d, progress=False)
            wall = time.perf_counter() - t
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14)
    step_ms = wall / steps * 1e3
    head = (f"L{L} H{H} E{D}, batch {B} x {T}, {steps} steps: {step_ms:.2f} ms per step (profiled, "
            f"setup and the two evaluations included); drawing one batch alone takes {data_ms:.2f} ms "
            f"({100 * data_ms / step_ms:.0f}% of a step)")
    return head + "\n" + table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=("peak", "sizes", "bare", "ce", "profile"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--repeat", type=int, default=1, help="trainer runs per size, alternating with bare loops")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rep = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
           "threads": a.threads, "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M")}
    print(f"machine: {rep['machine']}, torch {rep['torch']}, {a.threads} threads, {rep['date']}")
    try:
        print(f"load average: {os.getloadavg()}")
    except OSError:
        pass

    def want(k):
        return a.only in (None, k)
    steps = 30 if a.quick else 80
    peaks = {}
    if want("peak") or want("sizes") or want("bare"):
        for th in sorted({1, a.threads}):
            torch.set_num_threads(th)
            peaks[th] = matmul_peak()
            print(f"fp32 matmul peak (2048^3, best of 10), {th} thread(s): {peaks[th]:.1f} GFLOP/s")
        rep["peak_gflops"] = peaks
    if want("sizes") or want("bare"):
        rows = []
        # the sweep's sizes with one thread each (as a 2-worker sweep runs them), the bench
        # model with every thread; MFU against the peak of the same thread count
        shapes = [(L, H, D, 64, 32, steps, 1) for (L, H, D) in SWEEP_SIZES] if want("sizes") else []
        shapes.append((4, 4, 256, 256, 16, 12 if a.quick else 30, a.threads))
        print("\n| model | N_nonembed | batch | threads | trainer tok/s | trainer steady tok/s | "
              "bare tok/s (first, last) | trainer/bare | steady/bare | MFU trainer | MFU bare |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for (L, H, D, T, B, n, th) in shapes:
            torch.set_num_threads(th)
            peak = peaks[th]
            # bare loop before and after each trainer run (the shared machine's load drifts);
            # --repeat R alternates R trainer runs with R + 1 bare loops and takes medians
            import statistics
            bares = [bare_tps(L, H, D, T, B, max(5, n // 2))]
            trs = []
            for _ in range(a.repeat):
                trs.append(trainer_tps(L, H, D, T, B, n))
                bares.append(bare_tps(L, H, D, T, B, max(5, n // 2)))
            tr = {k: statistics.median(t[k] for t in trs) for k in ("tps", "steady_tps")}
            tr.update(flops_per_token=trs[0]["flops_per_token"], N_nonembed=trs[0]["N_nonembed"])
            b1, b2 = bares[0], bares[-1]
            ba = statistics.median(bares)
            f = tr["flops_per_token"]
            r = {"model": f"L{L}H{H}E{D}", "context": T, "batch": B, "threads": th, "N_nonembed": tr["N_nonembed"],
                 "trainer_tps": tr["tps"], "trainer_steady_tps": tr["steady_tps"], "bare_tps": ba,
                 "bare_tps_runs": bares, "trainer_tps_runs": [t["tps"] for t in trs], "ratio": tr["tps"] / ba, "steady_ratio": tr["steady_tps"] / ba,
                 "mfu_trainer": f * tr["tps"] / (peak * 1e9), "mfu_bare": f * ba / (peak * 1e9)}
            rows.append(r)
            print(f"| {r['model']} | {r['N_nonembed']:,} | {B}x{T} | {th} | {r['trainer_tps']:,.0f} | "
                  f"{r['trainer_steady_tps']:,.0f} | {ba:,.0f} ({b1:,.0f}, {b2:,.0f}) | {r['ratio']:.2f} | "
                  f"{r['steady_ratio']:.2f} | {100 * r['mfu_trainer']:.1f}% | {100 * r['mfu_bare']:.1f}% |", flush=True)
        rep["sizes"] = rows
    torch.set_num_threads(a.threads)
    if want("ce"):
        rep["ce"] = {}
        for th in sorted({1, a.threads}):
            ce = ce_bench(threads=th)
            rep["ce"][th] = ce
            print(f"\nchunked CE, V=32768, 8192 rows, d=256, {th} thread(s): peak memory dense "
                  f"{ce['dense']['peak_mb']:.0f} MB, chunked ({ce['default_chunk_rows']} rows) "
                  f"{ce['chunked']['peak_mb']:.0f} MB ({ce['memory_ratio']:.1f}x less); time dense "
                  f"{ce['dense']['time']:.3f} s, chunked {ce['chunked']['time']:.3f} s ({ce['time_ratio']:.2f}x); "
                  f"max |grad diff| {ce['max_grad_diff']:.2e} (max |grad| {ce['max_grad']:.2e}); "
                  f"|loss diff| {ce['loss_diff']:.2e}; " + "; ".join(
                      f"{v}: {ce[v]['peak_mb']:.0f} MB ({ce[v]['memory_ratio']:.1f}x), {ce[v]['time']:.3f} s "
                      f"({ce[v]['time_ratio']:.2f}x)" for v in ("chunked:128", "chunked:512")), flush=True)
    if want("profile"):
        torch.set_num_threads(1)
        txt = profile_small()
        rep["profile"] = txt
        print("\n" + txt)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=1)


if __name__ == "__main__":
    main()
