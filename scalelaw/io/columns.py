"""Match a table's column names to scalelaw's canonical names.

Canonical names and what they mean (units are whatever the file uses; scalelaw never
rescales silently):

- ``N``    model parameters (say in your report whether non-embedding or total)
- ``D``    training tokens
- ``C``    training compute in FLOPs (6ND convention when derived)
- ``loss`` loss in nats per token (cross-entropy)
- ``step`` optimizer step, ``lr`` learning rate at that step, ``tokens`` tokens seen
- ``run``  run label, ``split`` train/val
- ``N_e``, ``N_d`` encoder / decoder parameters (encoder-decoder law)
- ``U``    unique tokens in the data pool a run repeats (data-constrained law)
- ``batch_size`` batch size of an LR / batch-size sweep, in tokens per optimizer step
  (DeepSeek's convention; sequences per step also work, the exponent is the same)

Matching is case-insensitive and ignores spaces, dashes, dots and underscores; an explicit
mapping always wins.  Besides the names in :data:`SYNONYMS`, per-dataset eval losses named
``eval/<set>/loss`` (W&B) are loss columns (two such sets are ambiguous).  A column named exactly like the canonical name wins; otherwise a
required name that two columns claim (``train_loss`` and ``eval_loss``) is ambiguous and is
refused with the list of candidates, and an optional one is left unmapped.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Mapping

from ..errors import ScalelawError

#: canonical name -> pattern of further names (matched on the stripped, lower-cased name)
PATTERNS: dict[str, re.Pattern] = {
    "loss": re.compile(r"^(eval|evaluation|val|valid|validation|test|dev)/[^/]+/(loss|lm[ _]?loss)$"),
}

#: canonical name -> synonyms, most specific first.  Keys are matched after :func:`normalize`.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "N": ("n", "params", "parameters", "n_params", "num_params", "nparams", "model_size",
          "model size", "model_params", "non_embedding_params", "size", "parameter_count",
          "param_count", "num_parameters", "n_parameters", "total_params"),
    "D": ("d", "tokens", "n_tokens", "num_tokens", "data", "dataset_size", "training_tokens",
          "train_tokens", "total_tokens", "throughput/total_tokens"),
    "C": ("c", "flops", "compute", "training flop", "training_flop", "training_flops",
          "train_flops", "total_flops", "budget", "compute_budget", "flop_budget",
          "flops_budget"),
    "loss": ("loss", "eval_loss", "val_loss", "validation_loss", "final_loss", "test_loss",
             "train_loss", "train/loss", "val/loss", "lm loss"),
    "step": ("step", "_step", "steps", "iter", "iteration", "global_step", "train/global_step"),
    "lr": ("lr", "learning_rate", "train/learning_rate", "learning-rate", "learning rate"),
    "tokens": ("tokens", "num_input_tokens_seen", "total_tokens", "tokens_seen", "num_tokens",
               "train/num_tokens", "throughput/total_tokens", "consumed_tokens"),
    "run": ("run", "run_id", "run_name", "name", "schedule"),
    "split": ("split",),
    "N_e": ("n_e", "encoder_params", "n_enc", "encoder"),
    "N_d": ("n_d", "decoder_params", "n_dec", "decoder"),
    "U": ("u", "unique_tokens", "unique_data", "n_unique_tokens", "num_unique_tokens", "u_d"),
    "batch_size": ("batch_size", "bs", "batch", "global_batch_size", "batch_tokens",
                   "tokens_per_batch", "train_batch_size"),
}


def show(columns, limit: int = 20) -> str:
    """Column names for a message: printable, each at most 40 characters, at most ``limit``."""
    names = []
    for c in list(columns)[:limit]:
        t = "".join(ch if ch.isprintable() else "?" for ch in str(c))
        names.append(t if len(t) <= 40 else t[:37] + "...")
    more = len(list(columns)) - limit
    return ", ".join(names) + (f" (and {more} more)" if more > 0 else "")


@lru_cache(maxsize=8192)
def _normalize(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.strip().lower())


def normalize(name: str) -> str:
    """Lower-case and drop separators: ``'Model Size'`` -> ``'modelsize'``."""
    return _normalize(str(name))


def resolve(columns: Iterable[str], wanted: Iterable[str],
            mapping: Mapping[str, str] | None = None,
            required: Iterable[str] | None = None,
            ambiguous: Iterable[str] | None = None) -> dict[str, str]:
    """Map each canonical name in ``wanted`` to a column of ``columns``.

    ``mapping`` (canonical -> column) wins over synonyms.  Names in ``required`` that
    cannot be found raise :class:`ScalelawError` listing the columns the table has; other
    names are simply absent from the result.  Names in ``ambiguous`` (default: ``required``)
    that two columns claim raise an error naming both; other such names stay unmapped.
    """
    columns = [str(c) for c in columns]
    mapping = dict(mapping or {})
    wanted = list(wanted)
    required = set(wanted if required is None else required)
    ambiguous = required if ambiguous is None else set(ambiguous)
    by_norm: dict[str, list[str]] = {}
    for c in columns:
        by_norm.setdefault(normalize(c), []).append(c)
    out: dict[str, str] = {}
    taken: set[str] = set()
    for canon, col in mapping.items():
        if col not in columns:
            hits = by_norm.get(normalize(col), [])
            if len(hits) != 1:
                raise ScalelawError(f"column {col!r} (for {canon}) is not in the table; "
                                    f"it has: {show(columns)}")
            col = hits[0]
        out[canon] = col
        taken.add(col)
    for canon in wanted:
        if canon in out:
            continue
        found = None
        exact = [c for c in by_norm.get(normalize(canon), []) if c not in taken]
        if len(exact) == 1:
            found = exact[0]
        else:
            hits = []
            for syn in (canon,) + SYNONYMS.get(canon, ()):
                hits += [c for c in by_norm.get(normalize(syn), []) if c not in taken and c not in hits]
            if not hits and canon in PATTERNS:
                hits = [c for c in columns if c not in taken and PATTERNS[canon].match(c.strip().lower())]
            if len(hits) > 1:
                if canon in ambiguous:
                    raise ScalelawError(f"ambiguous column for {canon}: {', '.join(hits)}; "
                                        f"name one explicitly")
                continue
            if hits:
                found = hits[0]
        if found is not None:
            out[canon] = found
            taken.add(found)
        elif canon in required:
            raise ScalelawError(f"no column for {canon} (tried {', '.join(SYNONYMS.get(canon, (canon,))[:6])}); "
                                f"the table has: {show(columns)}")
    return out
