"""`scalelaw source`: exact entropies of a synthetic Markov source, optionally tokenized."""
HELP = "exact entropy rate, unigram entropy and context plateaus of a Markov source (nats)"
DESCRIPTION = (
    "Print the exact entropy rate H_inf, unigram entropy H(pi) and the conditional entropies "
    "with 0, 1, ..., k symbols of context (all in nats) of a synthetic source.  With "
    "--tokenizer, also train the tokenizer on a sample and report characters per token and "
    "the per-character loss of the best unigram model over tokens.  "
    "SPEC: markov:m=4,k=2,alpha=0.5,seed=1 | switching:p=0.2,q=0.3,k=2 | "
    "mixture:0.7*switching(p=0.8,q=0.8,k=2)+0.3*markov(m=2,k=1).  "
    "Tokenizer: bpe:vocab=128 | bpe:min_count=50 | lzw:vocab=512 | lz78:vocab=512.")


def add_arguments(p):
    p.add_argument("spec", metavar="SPEC", help="source spec, e.g. switching:p=0.2,q=0.3,k=2")
    p.add_argument("--tokenizer", metavar="SPEC", default=None,
                   help="tokenizer spec, e.g. bpe:vocab=128 or lzw:vocab=512")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--max-context", type=int, default=None, metavar="J",
                   help="list conditional entropies up to context J (default k)")
    p.add_argument("--train-chars", type=int, default=1_000_000, metavar="N",
                   help="symbols sampled to train the tokenizer and unigram model (default 1e6)")
    p.add_argument("--eval-chars", type=int, default=1_000_000, metavar="N",
                   help="held-out symbols for the unigram-over-tokens loss (default 1e6)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")


def run(args) -> int:
    import json
    import math

    import numpy as np

    from ..errors import ScalelawError
    from ..synthetic import parse_source, parse_tokenizer, unigram_token_loss_per_char

    src = parse_source(args.spec)
    tspec = parse_tokenizer(args.tokenizer, m=src.m) if args.tokenizer else None
    if args.max_context is not None and args.max_context < 0:
        raise ScalelawError(f"--max-context {args.max_context} is invalid; use J >= 0")
    out = src.summary(args.max_context)
    out["units"] = "nats"
    if tspec is not None:
        for name in ("train_chars", "eval_chars"):
            if getattr(args, name) < 1000:
                raise ScalelawError(f"--{name.replace('_', '-')} must be at least 1000")
        row = 10_000
        rng = np.random.default_rng(args.seed)
        train = src.sample(max(1, math.ceil(args.train_chars / row)), row, rng)
        test = src.sample(max(1, math.ceil(args.eval_chars / row)), row, rng)
        tok = tspec.train(train, src.m)
        r = unigram_token_loss_per_char(tok, train, test)
        out.update({
            "tokenizer": str(tspec),
            "vocab_size": tok.vocab_size,
            "chars_per_token": r["chars_per_token"],
            "unigram_token_loss_per_char": r["loss_per_char"],
            "eval_chars": r["n_chars"],
            "eval_tokens": r["n_tokens"],
        })
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"source            {out['source']}  (m={out['m']}, k={out['k']})")
    print(f"entropy rate      {out['entropy_rate']:.6f} nats/symbol  (H_inf)")
    print(f"unigram entropy   {out['unigram_entropy']:.6f} nats/symbol  (H(pi))")
    print("conditional entropy by context length j (nats):")
    for j, h in enumerate(out["conditional_entropies"]):
        print(f"  j={j:<3d} {h:.6f}")
    if tspec is not None:
        print(f"tokenizer         {out['tokenizer']} (vocab {out['vocab_size']})")
        print(f"chars per token   {out['chars_per_token']:.4f}")
        print(f"unigram-over-tokens loss  {out['unigram_token_loss_per_char']:.6f} nats/char")
    return 0
