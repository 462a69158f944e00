"""``scalelaw train``: train one small GPT on a synthetic source (torch, imported in run)."""
from __future__ import annotations

HELP = "train one small GPT on a synthetic source; log, checkpoint, resume (needs torch)"
DESCRIPTION = """Train a GPT-style model on a Markov source of known entropy (optionally
tokenized), with AdamW and a scalelaw LR schedule, evaluating every K steps on a fixed
held-out set (loss per token and per character, beside the source's H_inf and H(pi), nats).
The folder OUT gets config.json, the log NAME.csv (read by scalelaw inspect / fit as is),
ckpt.pt and, when finished, result.json.  Rerunning the same command resumes a killed run
from its checkpoint, or reports a finished one.  The schedule's steps= may be omitted: it
is filled from --tokens.  Needs PyTorch: pip install torch==2.13.0.
Example:
  scalelaw train --source switching:p=0.8,q=0.8,k=2 --tokenizer lzw:vocab=64 \\
      --n-layer 2 --n-head 2 --n-embd 32 --tokens 2000000 \\
      --schedule wsd:peak=3e-3,final=3e-4,warmup=20,cooldown=0.2 --out runs/r1"""

#: TrainConfig field -> (metavar, help); every field is a --flag (default: TrainConfig's)
FLAGS = {
    "source": ("SPEC", "source spec, e.g. switching:p=0.8,q=0.8,k=2 (see scalelaw source)"),
    "tokenizer": ("SPEC", "tokenizer spec (lzw:vocab=64, bpe:vocab=128) or none"),
    "tokenizer_chars": ("N", "symbols the tokenizer is trained on"),
    "n_layer": ("L", "transformer blocks"),
    "n_head": ("H", "attention heads (must divide n_embd)"),
    "n_embd": ("D", "model width"),
    "context": ("T", "positions per row"),
    "vocab": ("V", "model vocabulary (default: the data's; must not be smaller)"),
    "batch_size": ("B", "rows per step"),
    "tokens": ("N", "token budget (positions: batch x context per step)"),
    "steps": ("S", "optimizer steps (instead of --tokens)"),
    "schedule": ("SPEC", "LR schedule spec (scalelaw schedule grammar; steps= optional)"),
    "weight_decay": ("W", "AdamW weight decay (matrices and embeddings)"),
    "beta1": ("B1", "AdamW beta1"),
    "beta2": ("B2", "AdamW beta2"),
    "adam_eps": ("E", "AdamW epsilon"),
    "grad_clip": ("G", "max global gradient norm (0: off)"),
    "eval_every": ("K", "evaluate every K steps"),
    "eval_sequences": ("N", "rows of the held-out set"),
    "eval_batch": ("N", "rows per evaluation batch"),
    "log_every": ("K", "log the training loss every K steps"),
    "log_format": ("FMT", "csv or jsonl"),
    "ckpt_every": ("K", "checkpoint every K steps"),
    "seed": ("S", "seed of initialisation, data, held-out set and tokenizer sample"),
    "chunked_loss": ("MODE", "auto (chunked above --chunked-loss-min-vocab), on or off"),
    "chunked_loss_min_vocab": ("V", "vocabulary from which auto uses the chunked loss"),
    "device": ("DEV", "auto (cuda, mps, cpu), cpu, cuda, mps"),
}


def add_arguments(p):
    from ..train.config import TrainConfig
    import dataclasses
    types = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for name, (metavar, text) in FLAGS.items():
        f = types[name]
        default = f.default
        kind = {int: int, float: float}.get(type(default), str)
        if name in ("tokens", "steps", "vocab"):
            kind = _int
        elif kind is int:
            kind = _int
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None,
                       metavar=metavar, help=f"{text} (default {default})")
    p.add_argument("--untied", action="store_true", help="separate output projection (default: tied to wte)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder")
    p.add_argument("--name", metavar="NAME", help="run name, the log's file name (default: the folder's name)")
    p.add_argument("--threads", type=int, metavar="N", help="torch threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _int(text: str) -> int:
    """Integers also as 1e6 or 1_000_000."""
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        raise ValueError(text) from None
    if not v.is_integer():
        raise ValueError(text)
    return int(v)


def config_from_args(args):
    from ..train.config import TrainConfig
    d = {k: getattr(args, k) for k in FLAGS if getattr(args, k, None) is not None}
    if args.untied:
        d["tied"] = False
    return TrainConfig.from_dict(d)


def run(args) -> int:
    import json
    import sys

    from ..errors import ScalelawError
    from ..train import require_torch
    cfg = config_from_args(args)
    if args.threads is not None and args.threads < 1:
        raise ScalelawError("--threads must be >= 1")
    require_torch()
    from ..train.trainer import train
    tty = sys.stderr.isatty()
    res = train(cfg, args.out, name=args.name, progress=tty,
                status=None if tty else (lambda s: print(s, flush=True)), threads=args.threads)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    head = "already finished: " if res.get("skipped") else ""
    print(f"{head}{res['name']}: eval {res['eval_loss_per_char']:.4f} nats/char, "
          f"{res['eval_loss_per_token']:.4f} nats/token (H_inf {res['entropy_rate']:.4f}, "
          f"H(pi) {res['unigram_entropy']:.4f}); N_nonembed {res['N_nonembed']}, N_total "
          f"{res['N_total']}; {res['steps']} steps, {res['tokens']} tokens, {res['wall_time']:.1f} s "
          f"on {res['device']} ({res['loss_impl']} loss); log {args.out}/{res['log']}")
    return 0
