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

Matching is case-insensitive and ignores spaces, dashes, dots and underscores; an explicit
mapping always wins.  Besides the names in :data:`SYNONYMS`, per-dataset eval losses named
``eval/<set>/loss`` (W&B) are loss columns (two such sets are ambiguous).  A column named exactly like the canonical name wins; otherwise a
required name that two columns claim (``train_loss`` and ``eval_loss``) is ambiguous and is
refused with the list of candidates, and an optional one is left unmapped.
"""
from __future__ import annotations

import re
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
}


def show(columns, limit: int = 20) -> str:
    """Column names for a message: printable, each at most 40 characters, at most ``limit``."""
    names = []
    for c in list(columns)[:limit]:
        t = "".join(ch if ch.isprintable() else "?" for ch in str(c))
        names.append(t if len(t) <= 40 else t[:37] + "...")
    more = len(list(columns)) - limit
    return ", ".join(names) + (f" (and {more} more)" if more > 0 else "")


def normalize(name: str) -> str:
    """Lower-case and drop separators: ``'Model Size'`` -> ``'modelsize'``."""
    return re.sub(r"[\s_\-.]+", "", str(name).strip().lower())


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


# ---------------------------------------------------------------------------------------
# units stated in column names: "params (M)", "Compute (PFLOP-days)", "tokens_B"

_COUNT_UNITS = {"k": 1e3, "thousand": 1e3, "thousands": 1e3, "m": 1e6, "mn": 1e6,
                "million": 1e6, "millions": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
                "billions": 1e9, "t": 1e12, "trillion": 1e12, "trillions": 1e12}
_FLOP_PREFIX = {"": 1.0, "k": 1e3, "kilo": 1e3, "m": 1e6, "mega": 1e6, "g": 1e9, "giga": 1e9,
                "t": 1e12, "tera": 1e12, "p": 1e15, "peta": 1e15, "e": 1e18, "exa": 1e18,
                "z": 1e21, "zetta": 1e21}
_FLOP_UNIT = re.compile(r"^(?P<p>kilo|mega|giga|tera|peta|exa|zetta|[kmgtpez])?(?P<f>flops?|f)"
                        r"(?P<s>/s|s)?(?P<day>days?)?$")
_LOSS_UNITS = {"nats": 1.0, "nat": 1.0, "bits": 0.6931471805599453, "bit": 0.6931471805599453}
_COUNT_BASES = re.compile(r"param|token|size|^n$|^d$|^nonembedding|^data$", re.I)
SECONDS_PER_DAY = 86400.0


def flop_unit(unit: str) -> float | None:
    """FLOPs per unit of ``unit`` (``GFLOP`` 1e9, ``PFLOP-days`` / ``PF-days`` 8.64e19);
    ``None`` if it is not an amount of compute (``TFLOP/s`` is a rate)."""
    u = re.sub(r"[\s_\-]+", "", str(unit).strip().lower())
    m = _FLOP_UNIT.match(u)
    if m is None:
        return None
    per_second = m.group("s") == "/s" or (m.group("s") == "s" and m.group("f") == "f")
    if m.group("day"):
        return _FLOP_PREFIX[m.group("p") or ""] * SECONDS_PER_DAY
    if m.group("f") == "f" or per_second:
        return None
    return _FLOP_PREFIX[m.group("p") or ""]


def column_unit(name: str):
    """``(new name, factor, unit)`` for a column whose name states a unit that scalelaw
    converts to its own (counts, FLOPs, nats): ``'params (M)'`` -> ``('params', 1e6, 'M')``,
    ``'Compute (PFLOP-days)'`` -> ``('Compute', 8.64e19, 'PFLOP-days')``, ``'GFLOPs'`` ->
    ``('flops', 1e9, 'GFLOPs')``, ``'loss (bits)'`` -> ``('loss', ln 2, 'bits')``; ``None``
    otherwise.  A count unit (K, M, B, T, million, ...) needs a base that names a count
    (parameters, tokens, size, N, D)."""
    name = str(name).strip()
    m = re.match(r"^(?P<b>.*?)\s*[\(\[]\s*(?P<u>[^\)\]]*?)\s*[\)\]]\s*$", name)
    if m and m.group("u"):
        forms = [(m.group("b").strip(), m.group("u"), True)]
    else:
        parts = re.split(r"[\s_\-]+", name)
        forms = []
        for k in (1, 2, 3):
            if len(parts) > k:
                forms.append((" ".join(parts[:-k]), "-".join(parts[-k:]), False))
        forms.append(("", name, False))
    for base, unit, bracket in forms:
        f = flop_unit(unit)
        if f is not None:
            if f == 1.0 and not bracket:
                return None        # "Training FLOP", "train_flops": already FLOPs
            return (base or "flops", f, unit)
        low = unit.strip().lower()
        if base and low in _COUNT_UNITS and _COUNT_BASES.search(normalize(base)):
            if not bracket and not (unit.strip().isupper() or len(low) > 1):
                continue           # "params_m": a lower-case letter is too weak a hint
            return (base, _COUNT_UNITS[low], unit.strip())
        if base and bracket and low in _LOSS_UNITS and "loss" in base.lower():
            return (base, _LOSS_UNITS[low], unit.strip())
        e = re.match(r"^[x×*]?\s*(?:1e\+?|10\^)(\d{1,2})$", low)
        if base and bracket and e and (_COUNT_BASES.search(normalize(base))
                                       or re.search(r"flop|compute|^c$", normalize(base))):
            return (base, 10.0 ** int(e.group(1)), unit.strip())
    return None


def parse_count(text) -> float:
    """A count written as people write them: ``124354560``, ``124,354,560``, ``1.2e8``,
    ``124.35M``, ``1.3B``, ``7K``, ``2T`` (K/M/B/T = 1e3/1e6/1e9/1e12).  Raises
    :class:`ScalelawError` for anything else."""
    t = str(text).strip().replace("_", "")
    m = re.match(r"^([-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([KMBTkmbt]?)$", t)
    if m is None or ("," in m.group(1) and not re.match(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$", m.group(1))):
        raise ScalelawError(f"not a count: {text!r}; write e.g. 124e6, 124,354,560 or 124.35M")
    v = float(m.group(1).replace(",", ""))
    return v * {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]
