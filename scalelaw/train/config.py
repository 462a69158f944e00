"""The configuration of one training run (no torch import): fields, checks, the schedule's
steps filled from the token budget.

Units: ``tokens`` is the training budget in token positions (``batch_size x context`` per
step, padding included); learning rates in the optimizer's units; losses in nats.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields

from ..errors import ScalelawError

__all__ = ["TrainConfig", "fill_schedule_steps", "resolve_steps"]

_SPLIT = re.compile(r"\+(?=\s*[A-Za-z])")   # the schedule grammar's part separator


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run (two runs with equal configs give equal curves on CPU).

    Data: ``source`` (spec, :func:`scalelaw.synthetic.parse_source`), ``tokenizer`` (spec or
    ``None`` for symbol-level data), ``tokenizer_chars`` (symbols its training sample has).
    Model: ``n_layer, n_head, n_embd, context, vocab`` (``None``: the data's vocabulary),
    ``tied``.  Optimisation: ``batch_size`` (rows), ``tokens`` (budget in positions) or
    ``steps``, ``schedule`` (a ``scalelaw schedule`` spec; ``steps=`` may be omitted and is
    then filled from the budget), AdamW ``weight_decay`` (matrices and embeddings only),
    ``beta1, beta2, adam_eps``, ``grad_clip`` (max global grad norm; 0 off).  Evaluation:
    ``eval_every`` steps on a fixed held-out set of ``eval_sequences`` rows.  Logging:
    ``log_every`` steps (evaluation rows are always logged), ``log_format`` ``csv`` or
    ``jsonl``; checkpoints every ``ckpt_every`` steps.  ``seed`` seeds the initialisation,
    the data stream, the held-out set and the tokenizer's sample.  ``chunked_loss``:
    ``"auto"`` (chunked above ``chunked_loss_min_vocab``), ``"on"`` or ``"off"``.
    ``device``: ``auto`` (cuda, then mps, then cpu), or a torch device string.
    """

    source: str = "switching:p=0.8,q=0.8,k=2"
    tokenizer: str | None = None
    tokenizer_chars: int = 1_000_000
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    context: int = 64
    vocab: int | None = None
    tied: bool = True
    batch_size: int = 32
    tokens: int | None = None
    steps: int | None = None
    schedule: str = "cosine:peak=3e-3,final=3e-4,warmup=20"
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    adam_eps: float = 1e-8
    grad_clip: float = 1.0
    eval_every: int = 50
    eval_sequences: int = 128
    eval_batch: int = 64
    log_every: int = 1
    log_format: str = "csv"
    ckpt_every: int = 100
    seed: int = 0
    chunked_loss: str = "auto"
    chunked_loss_min_vocab: int = 8192
    device: str = "auto"

    def __post_init__(self):
        ints = ("tokenizer_chars", "n_layer", "n_head", "n_embd", "context", "batch_size",
                "eval_every", "eval_sequences", "eval_batch", "log_every", "ckpt_every",
                "chunked_loss_min_vocab")
        for k in ints:
            v = getattr(self, k)
            if not _is_int(v) or v < 1:
                raise ScalelawError(f"{k}={v!r} is invalid; use an integer >= 1")
        for k in ("tokens", "steps", "vocab"):
            v = getattr(self, k)
            if v is not None and (not _is_int(v) or v < 1):
                raise ScalelawError(f"{k}={v!r} is invalid; use an integer >= 1")
        if not _is_int(self.seed) or self.seed < 0:
            raise ScalelawError(f"seed={self.seed!r} is invalid; use an integer >= 0")
        for k in ("weight_decay", "grad_clip", "adam_eps"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ScalelawError(f"{k}={v!r} is invalid; use a number >= 0")
        for k in ("beta1", "beta2"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ScalelawError(f"{k}={v!r} is invalid; use a number in [0, 1)")
        if self.n_embd % self.n_head:
            raise ScalelawError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                                "choose n_embd a multiple of n_head")
        if self.log_format not in ("csv", "jsonl"):
            raise ScalelawError(f"log_format={self.log_format!r}; use csv or jsonl")
        if self.chunked_loss not in ("auto", "on", "off"):
            raise ScalelawError(f"chunked_loss={self.chunked_loss!r}; use auto, on or off")
        if not isinstance(self.source, str) or not self.source.strip():
            raise ScalelawError("source spec is missing; e.g. switching:p=0.8,q=0.8,k=2")
        if self.tokenizer is not None and not isinstance(self.tokenizer, str):
            raise ScalelawError(f"tokenizer={self.tokenizer!r} must be a spec string or none")
        if not isinstance(self.schedule, str) or not self.schedule.strip():
            raise ScalelawError("schedule spec is missing; e.g. cosine:peak=3e-3,final=3e-4,warmup=20")

    @property
    def tokens_per_step(self) -> int:
        """Token positions per optimizer step (``batch_size x context``)."""
        return self.batch_size * self.context

    @property
    def tokenized(self) -> bool:
        return self.tokenizer is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a dict; an unknown key is refused with the list of allowed ones."""
        allowed = [f.name for f in fields(cls)]
        bad = [k for k in d if k not in allowed]
        if bad:
            raise ScalelawError(f"unknown training option {bad[0]!r}; allowed: {', '.join(allowed)}")
        d = dict(d)
        if isinstance(d.get("tokenizer"), str) and d["tokenizer"].strip().lower() in ("", "none"):
            d["tokenizer"] = None
        return cls(**d)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _part_has_steps(part: str) -> bool:
    kind = part.strip().partition(":")[0].strip().lower()
    return kind == "file" or re.search(r"(^|[:,])\s*steps\s*=", part) is not None


def fill_schedule_steps(spec: str, steps: int) -> str:
    """The schedule spec with ``steps=`` filled in where it is omitted.

    A one-part spec without ``steps`` gets ``steps``; in a concatenation ``A+B+...`` exactly
    one part may omit it and gets what the others leave of ``steps``.  A spec that gives
    every part's steps is returned as is.
    """
    from ..schedules import parse_schedule

    parts = _SPLIT.split(spec)
    missing = [i for i, p in enumerate(parts) if not _part_has_steps(p)]
    if not missing:
        return spec
    if len(missing) > 1:
        raise ScalelawError(f"schedule {spec!r}: {len(missing)} parts omit steps=; "
                            "at most one part can take its length from the token budget")
    others = sum(parse_schedule(p.strip()).total for i, p in enumerate(parts) if i != missing[0])
    left = int(steps) - others
    if left < 1:
        raise ScalelawError(f"schedule {spec!r}: the other parts already take {others} of the "
                            f"run's {steps} steps")
    i = missing[0]
    sep = "," if parts[i].strip().partition(":")[2].strip() else ""
    parts[i] = parts[i].rstrip() + f"{sep}steps={left}"
    return "+".join(p.strip() for p in parts)


def resolve_steps(cfg: TrainConfig):
    """Steps of the run and its :class:`~scalelaw.schedules.Schedule` (spec filled).

    Steps come from ``steps``, else ``ceil(tokens / tokens_per_step)``, else the schedule's
    own length.  A schedule whose length differs from the run's steps is refused.
    """
    from ..schedules import parse_schedule

    steps = cfg.steps
    if steps is None and cfg.tokens is not None:
        steps = max(1, math.ceil(cfg.tokens / cfg.tokens_per_step))
    if cfg.tokens is not None and cfg.steps is not None and \
            cfg.steps != max(1, math.ceil(cfg.tokens / cfg.tokens_per_step)):
        raise ScalelawError(f"steps={cfg.steps} and tokens={cfg.tokens} disagree "
                            f"({cfg.tokens_per_step} tokens per step); give one of them")
    if steps is None and not all(_part_has_steps(p) for p in _SPLIT.split(cfg.schedule)):
        raise ScalelawError(f"schedule {cfg.schedule!r} has no steps=; give a token budget "
                            "(tokens) or steps to fill it")
    spec = cfg.schedule if steps is None else fill_schedule_steps(cfg.schedule, steps)
    sched = parse_schedule(spec)
    if steps is None:
        steps = sched.total
    elif sched.total != steps:
        raise ScalelawError(f"schedule {cfg.schedule!r} lasts {sched.total} steps but the run "
                            f"has {steps}; omit steps= from the schedule to fill it from the budget")
    if steps < 1:
        raise ScalelawError("the run has no steps")
    return steps, spec, sched
