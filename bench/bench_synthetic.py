"""Benchmark: sampling throughput (symbols/s) and tokenizer encode time on 10M symbols,
plus the Rajaraman et al. unigram-over-tokens reference curve (REFERENCE §7).

    python bench/bench_synthetic.py            # full run (about a minute on 2 cores)
    python bench/bench_synthetic.py --quick    # smaller sizes
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from scalelaw.synthetic import (
    BPETokenizer,
    LZWTokenizer,
    SwitchingSource,
    parse_source,
    reference_curve,
)


def best_of(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n_sym = 2_000_000 if a.quick else 10_000_000
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}")

    print("\n## sampling (batch of 1000 sequences, symbols/s)")
    for spec in ["switching:p=0.8,q=0.8,k=2", "markov:m=4,k=2,alpha=0.5,seed=1",
                 "markov:m=8,k=3,alpha=0.5,seed=1", "markov:m=64,k=1,alpha=0.5,seed=1"]:
        src = parse_source(spec)
        src.stationary  # exact quantities are cached; time sampling only
        dt, _ = best_of(lambda: src.sample(1000, n_sym // 1000, seed=0))
        print(f"{spec:36s} {n_sym / dt / 1e6:8.1f} M symbols/s")

    src = SwitchingSource(0.8, 0.8, k=2)
    rows = src.sample(n_sym // 10_000, 10_000, seed=1)
    flat = rows.ravel()
    train = rows[:100]
    print(f"\n## encoding {n_sym / 1e6:.0f}M symbols (switching p=q=0.8, k=2); best of 3, seconds")
    toks = [("lzw:vocab=2048", LZWTokenizer.train(train, 2048, m=2)),
            ("lzw:vocab=512", LZWTokenizer.train(train, 512, m=2))]
    try:
        toks += [("bpe:vocab=128", BPETokenizer.train(train, 128, m=2)),
                 ("bpe:vocab=2048", BPETokenizer.train(train, 2048, m=2))]
    except Exception as e:  # tokenizers not installed
        print(f"(BPE skipped: {e})")
    for name, tok in toks:
        t_rows, enc = best_of(lambda: tok.encode_batch(rows))
        n_tok = sum(len(e) for e in enc)
        t_one, ids = best_of(lambda: tok.encode(flat), repeat=1)
        t_dec, back = best_of(lambda: tok.decode(ids), repeat=1)
        assert np.array_equal(back, flat)
        print(f"{name:16s} rows of 10k: {t_rows:6.2f} s   one stream: {t_one:6.2f} s   "
              f"decode: {t_dec:5.2f} s   chars/token {n_sym / n_tok:5.2f}")

    print("\n## unigram-over-tokens loss per char (nats), switching p=q=0.8 k=2, 5 seeds; "
          f"H(pi)={src.unigram_entropy:.4f} H_inf={src.entropy_rate:.4f}")
    published = {("lzw", 32): 0.619, ("lzw", 512): 0.560, ("lzw", 2048): 0.550, ("bpe", 128): 0.530}
    for kind, sizes in [("lzw", (32, 128, 512, 2048)), ("lz78", (32, 512, 2048)), ("bpe", (16, 128, 512))]:
        try:
            curves = [reference_curve(src, kind, sizes, seed=s) for s in range(5)]
        except Exception as e:
            print(f"({kind} skipped: {e})")
            continue
        for i, V in enumerate(sizes):
            v = np.array([c[i]["loss_per_char"] for c in curves])
            pub = published.get((kind, V))
            ref = f"   published {pub:.3f}" if pub else ""
            print(f"{kind:5s} {V:5d}: {v.mean():.4f} ± {v.std(ddof=1):.4f}  "
                  f"(chars/token {curves[0][i]['chars_per_token']:.2f}){ref}")


if __name__ == "__main__":
    main()
