"""Cost models: training FLOPs as a function of model size and tokens, ``cost(N, D) -> FLOPs``.

Every cost model is a small plain object that is called as ``cost(N, D)`` with numpy arrays
(they broadcast) and returns FLOPs as a float array.  ``N`` is parameters, ``D`` training
tokens.  Which parameter count ``N`` is follows the fit the cost is used with (Kaplan:
non-embedding, Chinchilla: total); the attention term's shape conversion uses the
non-embedding convention ``N = 12·n_layer·d_model²`` (Kaplan et al. 2020, Table 1), so with a
total count it is an approximation (the embeddings are counted as if they were layers).

Kinds (the spec grammar of :mod:`scalelaw.spec`, ``KIND:key=value,...``):

``dense``
    ``C = k·N·D``, ``k = flops_per_token`` (6: forward 2·N + backward 4·N per token).
``attention``
    ``C = D·(k·N + (k/2)·attn·n_ctx·n_layer·d_model)``: the forward pass costs
    ``2N + attn·n_layer·n_ctx·d_model`` per token (Kaplan et al. 2020, Table 1, count the QK
    logits only: ``attn = 2``; Hoffmann et al. 2022 appendix F and PaLM also count the
    attention-weighted sum of the values: ``attn = 4``), and training ``k/2`` forward
    passes (3 for ``k = 6``).  ``n_layer·d_model`` follows from ``N`` through the aspect
    ratio ``r = d_model/n_layer`` (``d_model = (r·N/12)^(1/3)``), a fixed depth ``n_layer``
    (``d_model = sqrt(N/(12·n_layer))``) or a fixed width ``d_model``
    (``n_layer = N/(12·d_model²)``).
``per_example``
    ``C = k·N·D + flops·D/n_ctx``: a fixed cost ``flops`` per example (sequence) of
    ``n_ctx`` tokens, ``D/n_ctx`` examples.
``law``
    ``C = Σ c_i·term_i``, terms monomials of ``N``, ``D`` and fixed other quantities
    (``N*D``, ``N^0.667*D``, ``D``), coefficients given.
``fitted``
    the same, with coefficients fitted to a table of runs with a recorded FLOPs column
    (:func:`fit_cost`).

``cost.config()`` is the JSON form (``{"kind": ..., keys...}``), :func:`cost_from_config`
rebuilds it, :func:`parse_cost` reads a spec, :func:`as_cost` accepts any of them, a number
(``k``) or any callable ``cost(N, D)``.  ``cost.tokens(N, C)`` is ``D`` with
``cost(N, D) = C`` (the equal-cost curve).
"""
from __future__ import annotations

import math
import re
import warnings
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import ScalelawError, ScalelawWarning
from .spec import Grammar, Kind, Range

__all__ = ["Cost", "DenseCost", "AttentionCost", "PerExampleCost", "CostLaw", "CallableCost",
           "fit_cost", "parse_cost", "cost_from_config", "as_cost", "check_increasing",
           "COST_SPEC"]

_POS = Range(0, bounds="()")
_NONNEG = Range(0)


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _fmt(x: float) -> str:
    """A number as written in a spec: short when that is exact, else every digit."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


# --------------------------------------------------------------------------- base
class Cost:
    """Base of the cost models: ``cost(N, D) -> FLOPs`` (numpy arrays, broadcast).

    Subclasses set ``kind`` and implement :meth:`__call__` and :meth:`config`; a cost that is
    linear in ``D`` (``cost = D·g(N) + h(N)``) implements :meth:`per_token` and
    :meth:`fixed` so that :meth:`tokens` is exact, otherwise ``tokens`` bisects in ``ln D``.
    """

    kind: str = "cost"
    #: the forward+backward FLOPs per token and parameter of the dense term (None: none)
    flops_per_token: float | None = None

    def __call__(self, N, D) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- linear in D: cost = D·per_token(N) + fixed(N)
    def per_token(self, N) -> np.ndarray | None:
        """FLOPs per training token at size ``N`` when the cost is linear in ``D``, else None."""
        return None

    def fixed(self, N) -> np.ndarray:
        """The part of the cost that does not grow with ``D`` (0 for every built-in kind)."""
        return np.zeros_like(_arr(N))

    def tokens(self, N, C) -> np.ndarray:
        """Tokens ``D`` with ``cost(N, D) = C`` (NaN where ``C`` cannot be reached at ``N``)."""
        N, C = np.broadcast_arrays(_arr(N), _arr(C))
        g = self.per_token(N)
        if g is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                D = (C - self.fixed(N)) / g
            return np.where(np.isfinite(D) & (D > 0), D, np.nan)
        return _bisect_tokens(self, N, C)

    # -- description
    def config(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def formula(self) -> str:
        return self.kind

    def spec(self) -> str:
        """The ``KIND:key=value,...`` text that rebuilds this cost."""
        cfg = dict(self.config())
        kind = cfg.pop("kind")
        items = []
        for k, v in cfg.items():
            if v is None:
                continue
            if isinstance(v, Mapping):
                v = "/".join(f"{a}:{_fmt(b)}" for a, b in v.items())
                if not v:
                    continue
            elif isinstance(v, (list, tuple)):
                sep = "+" if k == "terms" else "/"
                v = sep.join(_fmt(x) if isinstance(x, float) else str(x) for x in v)
            elif isinstance(v, float):
                v = _fmt(v)
            items.append(f"{k}={v}")
        return f"{kind}:{','.join(items)}" if items else f"{kind}:"

    def to_dict(self) -> dict:
        """JSON record: the config plus ``formula`` and ``spec``."""
        return {**self.config(), "formula": self.formula, "spec": self.spec()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec()!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Cost) and type(other) is type(self) and other.config() == self.config()

    def __hash__(self):
        return hash(self.spec())


def _bisect_tokens(cost: Callable, N: np.ndarray, C: np.ndarray, iters: int = 200) -> np.ndarray:
    """``D`` with ``cost(N, D) = C`` by vectorized bisection in ``ln D`` (cost increasing in D)."""
    N, C = np.broadcast_arrays(_arr(N), _arr(C))
    lo = np.full(N.shape, math.log(1e-12))
    hi = np.log(np.maximum(C, 1.0)) + 30.0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        above = _arr(cost(N, np.exp(mid))) > C
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
        if np.all(hi - lo < 1e-13):
            break
    D = np.exp(0.5 * (lo + hi))
    got = _arr(cost(N, D))
    ok = np.isfinite(got) & (np.abs(got - C) <= 1e-7 * C)
    return np.where(ok, D, np.nan)


# --------------------------------------------------------------------------- kinds
class DenseCost(Cost):
    """``C = k·N·D`` FLOPs, ``k = flops_per_token`` (6: forward + backward, Kaplan et al. 2020)."""

    kind = "dense"

    def __init__(self, flops_per_token: float = 6.0):
        self.flops_per_token = float(flops_per_token)

    def __call__(self, N, D):
        return self.flops_per_token * _arr(N) * _arr(D)

    def per_token(self, N):
        return self.flops_per_token * _arr(N)

    def config(self):
        return {"kind": "dense", "flops_per_token": self.flops_per_token}

    @property
    def formula(self):
        return f"C = {self.flops_per_token:g}·N·D"


class AttentionCost(Cost):
    """Dense FLOPs plus the attention term over a context of ``n_ctx`` tokens.

    ``C = D·(k·N + (k/2)·attn·n_ctx·n_layer·d_model)``: per token the forward pass is
    ``2·N + attn·n_layer·n_ctx·d_model`` FLOPs (``attn = 2``: the QK logits, Kaplan et al.
    2020 Table 1; ``attn = 4``: logits and the value product, Hoffmann et al. 2022 appendix
    F / PaLM / nanoGPT's ``6N + 12·n_layer·n_ctx·d_model``), and training is ``k/2`` forward
    passes.  ``n_layer·d_model`` from the non-embedding ``N = 12·n_layer·d_model²`` through
    one of: ``aspect`` ``= d_model/n_layer`` (default 128 when neither ``n_layer`` nor
    ``d_model`` is given), a fixed ``n_layer`` or a fixed ``d_model``.  Causal masking that
    skips half of the score matrix is ``attn = 1`` (or 2 with the values).
    """

    kind = "attention"

    def __init__(self, n_ctx: float, aspect: float | None = None, n_layer: float | None = None,
                 d_model: float | None = None, attn: float = 2.0, flops_per_token: float = 6.0):
        given = [k for k, v in (("aspect", aspect), ("n_layer", n_layer), ("d_model", d_model))
                 if v is not None]
        if len(given) > 1:
            raise ScalelawError(f"give one of aspect, n_layer or d_model to relate the shape to N, "
                                f"not {' and '.join(given)}")
        for name, v in (("n_ctx", n_ctx), ("aspect", aspect), ("n_layer", n_layer),
                        ("d_model", d_model), ("flops_per_token", flops_per_token)):
            if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
                raise ScalelawError(f"{name} must be a positive finite number, got {v}")
        if not (math.isfinite(float(attn)) and float(attn) >= 0):
            raise ScalelawError(f"attn must be a non-negative finite number, got {attn}")
        self.n_ctx = float(n_ctx)
        self.aspect = None if given else 128.0
        self.aspect = float(aspect) if aspect is not None else self.aspect
        self.n_layer = None if n_layer is None else float(n_layer)
        self.d_model = None if d_model is None else float(d_model)
        self.attn = float(attn)
        self.flops_per_token = float(flops_per_token)

    def layer_width(self, N) -> np.ndarray:
        """``n_layer·d_model`` at non-embedding size ``N`` (fractional shapes allowed)."""
        N = _arr(N)
        if self.n_layer is not None:
            return np.sqrt(self.n_layer * N / 12.0)
        if self.d_model is not None:
            return N / (12.0 * self.d_model)
        r = self.aspect
        return np.cbrt(r * N / 12.0) ** 2 / r

    def attention_per_token(self, N) -> np.ndarray:
        """The attention FLOPs per training token at size ``N``."""
        return 0.5 * self.flops_per_token * self.attn * self.n_ctx * self.layer_width(N)

    def per_token(self, N):
        return self.flops_per_token * _arr(N) + self.attention_per_token(N)

    def __call__(self, N, D):
        return _arr(D) * self.per_token(N)

    def config(self):
        return {"kind": "attention", "n_ctx": self.n_ctx, "aspect": self.aspect,
                "n_layer": self.n_layer, "d_model": self.d_model, "attn": self.attn,
                "flops_per_token": self.flops_per_token}

    @property
    def formula(self):
        k = self.flops_per_token
        if self.n_layer is not None:
            shape = f"n_layer = {self.n_layer:g}, d_model = sqrt(N/(12·n_layer))"
        elif self.d_model is not None:
            shape = f"d_model = {self.d_model:g}, n_layer = N/(12·d_model²)"
        else:
            shape = f"d_model/n_layer = {self.aspect:g}, N = 12·n_layer·d_model²"
        return (f"C = D·({k:g}·N + {0.5 * k * self.attn:g}·n_ctx·n_layer·d_model), "
                f"n_ctx = {self.n_ctx:g}, {shape}")


class PerExampleCost(Cost):
    """``C = k·N·D + flops·D/n_ctx``: a fixed cost ``flops`` per example of ``n_ctx`` tokens
    (``D/n_ctx`` examples), e.g. a frozen encoder or a data-side computation per sequence."""

    kind = "per_example"

    def __init__(self, flops: float, n_ctx: float = 2048.0, flops_per_token: float = 6.0):
        for name, v in (("flops", flops), ("n_ctx", n_ctx), ("flops_per_token", flops_per_token)):
            if not (math.isfinite(float(v)) and float(v) >= 0) or (name != "flops" and float(v) == 0):
                raise ScalelawError(f"{name} must be a {'non-negative' if name == 'flops' else 'positive'} "
                                    f"finite number, got {v}")
        self.flops = float(flops)
        self.n_ctx = float(n_ctx)
        self.flops_per_token = float(flops_per_token)

    def per_token(self, N):
        return self.flops_per_token * _arr(N) + self.flops / self.n_ctx

    def __call__(self, N, D):
        return _arr(D) * self.per_token(N)

    def config(self):
        return {"kind": "per_example", "flops": self.flops, "n_ctx": self.n_ctx,
                "flops_per_token": self.flops_per_token}

    @property
    def formula(self):
        return (f"C = {self.flops_per_token:g}·N·D + {self.flops:g}·D/{self.n_ctx:g} "
                f"(FLOPs per example × examples)")


# --------------------------------------------------------------------------- cost laws
_FACTOR = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*(?:(?:\^|\*\*)\s*(.+?))?\s*$")


def _exponent(text: str, term: str) -> float:
    t = text.strip()
    if t.startswith("(") and t.endswith(")"):
        t = t[1:-1]
    try:
        if "/" in t:
            a, b = t.split("/", 1)
            v = float(a) / float(b)
        else:
            v = float(t)
    except (ValueError, ZeroDivisionError):
        raise ScalelawError(f"cost term {term!r}: exponent {text!r} is not a number "
                            f"(write e.g. N^0.667*D or N^(2/3)*D)") from None
    if not math.isfinite(v):
        raise ScalelawError(f"cost term {term!r}: exponent {text!r} is not finite")
    return v


def _parse_term(text: str) -> dict[str, float]:
    """``N^0.5*D`` -> {"N": 0.5, "D": 1.0}; ``1`` -> {} (a constant)."""
    term = str(text).strip()
    if not term:
        raise ScalelawError("empty cost term; write terms like N*D or N^0.667*D")
    if term == "1":
        return {}
    powers: dict[str, float] = {}
    for factor in re.split(r"\*(?!\*)", term.replace("**", "^")):
        m = _FACTOR.match(factor)
        if not m:
            raise ScalelawError(f"cost term {term!r}: {factor.strip()!r} is not NAME or NAME^EXPONENT "
                                f"(write terms like N*D, N^0.667*D, D)")
        name, exp = m.group(1), m.group(2)
        powers[name] = powers.get(name, 0.0) + (1.0 if exp is None else _exponent(exp, term))
    return powers


def _term_text(powers: Mapping[str, float]) -> str:
    if not powers:
        return "1"
    return "*".join(n if p == 1 else f"{n}^{p:g}" for n, p in powers.items())


class CostLaw(Cost):
    """``C = Σ c_i·term_i(N, D, ...)``: a sum of monomials with non-negative coefficients.

    ``terms``: texts like ``"N*D"``, ``"N^(2/3)*D"``, ``"D"``, ``"1"``; names other than ``N``
    and ``D`` (e.g. ``n_ctx``) are held at the values in ``at`` when the cost is evaluated.
    ``coef``: one coefficient per term (FLOPs per unit of the term).  ``stderr`` and
    ``fit_info`` are filled by :func:`fit_cost`.  The cost must grow with ``N`` and ``D``:
    every coefficient >= 0, every exponent of ``N`` and ``D`` >= 0, and some term with a
    positive coefficient has a positive power of ``N`` (and one of ``D``).
    """

    kind = "law"

    def __init__(self, terms: Sequence[str], coef: Sequence[float], at: Mapping[str, float] | None = None):
        if isinstance(terms, str):
            terms = [t for t in terms.split("+")]
        self.powers = [_parse_term(t) for t in terms]
        self.terms = [_term_text(p) for p in self.powers]
        coef = [float(c) for c in np.atleast_1d(np.asarray(coef, dtype=float))]
        if len(coef) != len(self.terms):
            raise ScalelawError(f"{len(coef)} coefficient(s) for {len(self.terms)} cost term(s) "
                                f"({' + '.join(self.terms)}); give one per term")
        if any(not math.isfinite(c) for c in coef):
            raise ScalelawError("the cost coefficients must be finite numbers")
        self.coef = coef
        self.at = {str(k): float(v) for k, v in (at or {}).items()}
        #: the coefficient of the term N*D (the dense k·N·D part), None without one
        self.flops_per_token = next((c for c, p in zip(self.coef, self.powers)
                                     if p == {"N": 1.0, "D": 1.0}), None)
        self.stderr: list[float] | None = None
        self.fit_info: dict | None = None
        self._check_monotone()

    @property
    def variables(self) -> list[str]:
        """Names other than N and D that the terms use."""
        out: list[str] = []
        for p in self.powers:
            out += [n for n in p if n not in ("N", "D") and n not in out]
        return out

    def _check_monotone(self):
        bad = [f"{c:g}·{t}" for c, t in zip(self.coef, self.terms) if c < 0]
        if bad:
            raise ScalelawError(f"the cost is not increasing in N and D: negative coefficient in "
                                f"{', '.join(bad)}; costs add up non-negative terms")
        for v in ("N", "D"):
            neg = [t for p, t in zip(self.powers, self.terms) if p.get(v, 0.0) < 0]
            if neg:
                raise ScalelawError(f"the cost is not increasing in {v}: term {neg[0]} has a negative "
                                    f"power of {v}")
            if not any(c > 0 and p.get(v, 0.0) > 0 for c, p in zip(self.coef, self.powers)):
                raise ScalelawError(f"the cost is not increasing in {v}: no term with a positive "
                                    f"coefficient grows with {v} (add a term such as N*D)")
        for name, v in self.at.items():
            if not (math.isfinite(v) and v > 0):
                raise ScalelawError(f"the value of {name} in the cost must be positive, got {v:g}")

    def _value(self, name: str):
        try:
            return self.at[name]
        except KeyError:
            raise ScalelawError(f"the cost term uses {name}: give its value (at={{'{name}': ...}} "
                                f"or at={name}:VALUE in the spec)") from None

    def _terms(self, N, D) -> list[np.ndarray]:
        N, D = _arr(N), _arr(D)
        shape = np.broadcast_shapes(N.shape, D.shape)
        out = []
        for p in self.powers:
            t = np.ones(shape)
            for name, e in p.items():
                base = N if name == "N" else D if name == "D" else self._value(name)
                t = t * np.power(base, e)
            out.append(t)
        return out

    def __call__(self, N, D):
        total = 0.0
        for c, t in zip(self.coef, self._terms(N, D)):
            total = total + c * t
        return _arr(total) + np.zeros(np.broadcast_shapes(_arr(N).shape, _arr(D).shape))

    def _linear_in_D(self) -> bool:
        return all(p.get("D", 0.0) in (0.0, 1.0) for p in self.powers)

    def per_token(self, N):
        if not self._linear_in_D():
            return None
        N = _arr(N)
        ones = np.ones_like(N)
        return sum(c * t for c, t, p in zip(self.coef, self._terms(N, ones), self.powers)
                   if p.get("D", 0.0) == 1.0) + np.zeros_like(N)

    def fixed(self, N):
        N = _arr(N)
        ones = np.ones_like(N)
        return sum(c * t for c, t, p in zip(self.coef, self._terms(N, ones), self.powers)
                   if p.get("D", 0.0) == 0.0) + np.zeros_like(N)

    def config(self):
        return {"kind": "law", "terms": list(self.terms), "coef": list(self.coef), "at": dict(self.at)}

    def to_dict(self):
        out = super().to_dict()
        if self.stderr is not None:       # NaN (a coefficient at its bound) as null
            out["stderr"] = [None if not math.isfinite(v) else v for v in map(float, self.stderr)]
        if self.fit_info is not None:
            out["fit"] = dict(self.fit_info)
        return out

    @property
    def formula(self):
        parts = [f"{c:.6g}·{t}" for c, t in zip(self.coef, self.terms)]
        at = f" ({', '.join(f'{k} = {v:g}' for k, v in self.at.items())})" if self.at else ""
        return "C = " + " + ".join(parts) + at


def fit_cost(frame: Any, terms: Sequence[str] | str = ("N*D",), *,
             columns: Mapping[str, str] | None = None,
             at: Mapping[str, float] | None = None) -> CostLaw:
    """Fit ``C = Σ c_i·term_i`` to recorded compute by least squares on relative residuals.

    ``frame``: a table of runs (DataFrame or mapping of columns) with ``N`` (parameters),
    ``D`` (tokens) and ``C`` (the recorded training FLOPs), matched by
    :func:`scalelaw.io.columns.resolve` (``columns`` maps canonical names to the table's);
    other names in ``terms`` are read from the table's columns of that name.  ``terms``:
    monomial texts (``"N*D"``, ``"N^(2/3)*D"``, ``"D"``) or one ``+``-joined text.

    The model is linear in the coefficients, so the least-squares solution is exact, not a
    search: minimize ``Σ ((Σ_i c_i·t_i − C)/C)²`` (relative, since C spans decades) subject to
    ``c_i >= 0`` (a cost adds non-negative terms; scipy's NNLS).  Standard errors are
    ``s²·(XᵀX)⁻¹`` on the free coefficients (``s²`` the residual variance, n − p dof).
    ``at``: values of the other names for evaluation (default: a column's single value when
    constant in the table).  Returns a :class:`CostLaw` with ``stderr`` and ``fit_info``
    (``n_runs``, ``rel_rms``, ``max_rel_error``, ``columns``).
    """
    import pandas as pd
    from scipy.optimize import nnls

    from .io.columns import resolve, show

    if not isinstance(frame, pd.DataFrame):
        try:
            frame = pd.DataFrame(frame)
        except Exception:
            raise ScalelawError("the runs for a cost law must be a table (DataFrame or mapping "
                                "of columns)") from None
    if isinstance(terms, str):
        terms = terms.split("+")
    powers = [_parse_term(t) for t in terms]
    if not powers:
        raise ScalelawError("give at least one cost term, e.g. N*D")
    cols = resolve(frame.columns, ("N", "D", "C"), mapping=columns, required=("N", "D", "C"))
    data = {k: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for k, c in cols.items()}
    extra = []
    for p in powers:
        extra += [n for n in p if n not in ("N", "D") and n not in extra]
    for name in extra:
        if name not in frame.columns:
            raise ScalelawError(f"cost term names {name!r}, which is not a column of the table; "
                                f"it has: {show(frame.columns)}")
        data[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    X = np.ones((len(frame), len(powers)))
    for j, p in enumerate(powers):
        for name, e in p.items():
            X[:, j] *= np.power(data[name], e)
    C = data["C"]
    ok = np.isfinite(C) & (C > 0) & np.isfinite(X).all(axis=1)
    for k in ["N", "D", *extra]:
        ok &= np.isfinite(data[k]) & (data[k] > 0)
    n_bad = int((~ok).sum())
    if n_bad:
        warnings.warn(f"{n_bad} rows with missing or non-positive N, D, FLOPs or term values left "
                      f"out of the cost fit", ScalelawWarning, stacklevel=2)
    X, C = X[ok], C[ok]
    n, p = X.shape
    if n < p + 1:
        raise ScalelawError(f"{n} usable runs for {p} cost coefficient(s): need at least {p + 1}; "
                            f"add runs or drop terms")
    A = X / C[:, None]
    scale = np.linalg.norm(A, axis=0)
    if np.any(scale == 0):
        raise ScalelawError("a cost term is zero on every run; drop it")
    As = A / scale
    sv = np.linalg.svd(As, compute_uv=False)
    if sv[-1] < 1e-10 * sv[0]:
        raise ScalelawError(f"the cost terms {' + '.join(_term_text(q) for q in powers)} are collinear "
                            f"on these runs (e.g. a column that never varies): drop one, or give "
                            f"runs where they vary independently")
    zs, _ = nnls(As, np.ones(n))
    zs[np.abs(As).max(axis=0) * zs < 1e-10] = 0.0      # contributes nothing: at the bound
    coef = zs / scale
    resid = A @ coef - 1.0
    dof = n - int((coef > 0).sum())
    s2 = float(resid @ resid) / max(dof, 1)
    stderr = np.full(p, np.nan)
    free = coef > 0
    if free.any():
        Af = A[:, free]
        try:
            cov = s2 * np.linalg.inv(Af.T @ Af)
            stderr[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            pass
    names = [_term_text(q) for q in powers]
    zero = [t for t, f in zip(names, free) if not f]
    if zero:
        warnings.warn(f"cost coefficient of {', '.join(zero)} is at its bound 0 (the recorded "
                      f"compute does not support a positive one); the term is dropped in effect",
                      ScalelawWarning, stacklevel=2)
    rel_rms = float(np.sqrt(np.mean(resid ** 2)))
    if rel_rms > 0.05:
        warnings.warn(f"the cost law misses the recorded FLOPs by {100 * rel_rms:.1f}% (rms): the "
                      f"terms do not describe this compute; add terms", ScalelawWarning, stacklevel=2)
    values = dict(at or {})
    for name in extra:
        if name not in values:
            u = np.unique(data[name][ok])
            if len(u) == 1:
                values[name] = float(u[0])
    law = CostLaw(names, coef, at=values)
    law.stderr = [float(s) for s in stderr]
    law.fit_info = {"n_runs": int(n), "rel_rms": rel_rms, "max_rel_error": float(np.max(np.abs(resid))),
                    "columns": dict(cols), "method": "non-negative least squares on relative residuals"}
    return law


# --------------------------------------------------------------------------- generic callables
class CallableCost(Cost):
    """Any ``f(N, D) -> FLOPs`` (numpy-vectorized) as a cost; ``tokens`` by bisection in ln D."""

    kind = "callable"

    def __init__(self, func: Callable, name: str | None = None):
        self.func = func
        self.name = name or getattr(func, "__name__", type(func).__name__)

    def __call__(self, N, D):
        N, D = _arr(N), _arr(D)
        try:
            out = _arr(self.func(N, D))
        except ScalelawError:
            raise
        except Exception as e:
            raise ScalelawError(f"the cost function {self.name} failed on arrays of N and D "
                                f"({type(e).__name__}: {e}); it must take numpy arrays") from None
        shape = np.broadcast_shapes(N.shape, D.shape)
        if out.shape != shape:
            try:
                out = np.broadcast_to(out, shape)
            except ValueError:
                raise ScalelawError(f"the cost function {self.name} returned shape {out.shape} for "
                                    f"inputs of shape {shape}; it must be vectorized") from None
        return out

    def config(self):
        return {"kind": "callable", "name": self.name}

    def spec(self):
        return f"callable:{self.name}"

    @property
    def formula(self):
        return f"C = {self.name}(N, D)"


# --------------------------------------------------------------------------- spec grammar
def _law(terms: Sequence[str], coef: Sequence[float], at: Sequence[str] = ()):
    return CostLaw(terms, coef, at=_at_items(at))


def _at_items(items: Sequence[str]) -> dict[str, float]:
    out = {}
    for it in items or ():
        name, sep, v = str(it).partition(":")
        if not sep or not name.strip():
            raise ScalelawError(f"at={it} is not NAME:VALUE (e.g. at=n_ctx:8192)")
        try:
            out[name.strip()] = float(v)
        except ValueError:
            raise ScalelawError(f"at={it}: {v!r} is not a number") from None
    return out


def _fitted(table: str, terms: Sequence[str] = ("N*D",), flops: str | None = None,
            n: str | None = None, d: str | None = None, at: Sequence[str] = ()):
    from .io.table import read_table
    columns = {k: v for k, v in (("C", flops), ("N", n), ("D", d)) if v}
    return fit_cost(read_table(table), terms, columns=columns or None, at=_at_items(at) or None)


#: the cost spec grammar: ``dense:flops_per_token=6``, ``attention:n_ctx=8192,aspect=128``, ...
COST_SPEC = Grammar("cost", [
    Kind("dense", DenseCost, ranges={"flops_per_token": _POS}, aliases={"k": "flops_per_token"},
         positional="flops_per_token"),
    Kind("attention", AttentionCost,
         ranges={"n_ctx": _POS, "aspect": _POS, "n_layer": _POS, "d_model": _POS, "attn": _NONNEG,
                 "flops_per_token": _POS},
         aliases={"k": "flops_per_token", "context": "n_ctx", "ctx": "n_ctx"},
         note="one of aspect (d_model/n_layer, default 128), n_layer or d_model; attn 2 Kaplan, "
              "4 Chinchilla/PaLM"),
    Kind("per_example", PerExampleCost, ranges={"flops": _NONNEG, "n_ctx": _POS, "flops_per_token": _POS},
         aliases={"k": "flops_per_token", "context": "n_ctx", "ctx": "n_ctx"},
         note="flops per example of n_ctx tokens"),
    Kind("law", _law, seps={"terms": "+"}, note="terms like N*D+N^0.667*D, one coef per term (a/b), "
                                               "at=NAME:VALUE for other names"),
    Kind("fitted", _fitted, seps={"terms": "+"}, positional="table",
         note="a table of runs with N, D and recorded FLOPs (flops=, n=, d= name its columns)"),
], kind_aliases={"per-example": "per_example", "example": "per_example", "sequence": "per_example",
                 "kaplan": "attention"})


def parse_cost(text: str) -> Cost:
    """A cost model from its spec, e.g. ``attention:n_ctx=8192,aspect=128`` (one-line
    :class:`ScalelawError` for an unknown kind or key)."""
    return COST_SPEC.parse(text)


def cost_from_config(config: Mapping[str, Any]) -> Cost:
    """Rebuild a cost from :meth:`Cost.config` (or :meth:`Cost.to_dict`: extra keys ignored)."""
    if not isinstance(config, Mapping) or "kind" not in config:
        raise ScalelawError("a cost config must be a mapping with a 'kind' (e.g. {'kind': 'dense', "
                            "'flops_per_token': 6})")
    cfg = {k: v for k, v in config.items() if k not in ("kind", "formula", "spec", "stderr", "fit")
           and v is not None}
    kind = str(config["kind"])
    if kind == "law":
        law = CostLaw(cfg.get("terms", ()), cfg.get("coef", ()), at=cfg.get("at"))
        if "stderr" in config:
            law.stderr = [math.nan if v is None else float(v) for v in config["stderr"]]
        if "fit" in config:
            law.fit_info = dict(config["fit"])
        return law
    if kind == "callable":
        raise ScalelawError("a cost given as a Python function cannot be rebuilt from JSON; pass the "
                            "function again")
    return COST_SPEC.build(kind, kwargs=cfg)


def as_cost(cost: Any) -> Cost:
    """A :class:`Cost` from a Cost, a spec text, a config mapping, a number (``k`` of a dense
    cost) or any vectorized callable ``cost(N, D)``; ``None`` gives ``dense`` with k = 6."""
    if cost is None:
        return DenseCost(6.0)
    if isinstance(cost, Cost):
        return cost
    if isinstance(cost, str):
        return parse_cost(cost)
    if isinstance(cost, Mapping):
        return cost_from_config(cost)
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        if not (math.isfinite(float(cost)) and cost > 0):
            raise ScalelawError(f"the FLOPs per token must be positive and finite, got {cost}")
        return DenseCost(float(cost))
    if callable(cost):
        return CallableCost(cost)
    raise ScalelawError(f"a cost must be a cost model, a spec text such as 'dense:flops_per_token=6', "
                        f"or a function cost(N, D), not {type(cost).__name__}")


def check_increasing(cost: Callable, N, D, *, rel: float = 1e-3) -> None:
    """Refuse a cost that is not positive and finite, or that falls as ``N`` or ``D`` grows, at
    the points ``(N, D)`` (a ScalelawError naming the first point where it fails).  A cost
    flat in N or D to rounding passes: the allocation warns if its optimum runs to an edge."""
    N, D = np.broadcast_arrays(_arr(N), _arr(D))
    name = getattr(cost, "spec", lambda: "the cost")()
    c0 = _arr(cost(N, D))
    bad = ~(np.isfinite(c0) & (c0 > 0))
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise ScalelawError(f"{name} is not a positive finite FLOP count at N = {N.ravel()[i]:.3g}, "
                            f"D = {D.ravel()[i]:.3g} (got {c0.ravel()[i]:g})")
    for what, c1 in (("N", _arr(cost(N * (1 + rel), D))), ("D", _arr(cost(N, D * (1 + rel))))):
        # falls (beyond rounding: a term that N or D barely moves is flat in float arithmetic)
        bad = ~(c1 >= c0 * (1 - 1e-12))
        if bad.any():
            i = np.flatnonzero(bad.ravel())[0]
            raise ScalelawError(f"{name} is not increasing in {what} (it falls as {what} grows) at "
                                f"N = {N.ravel()[i]:.3g}, D = {D.ravel()[i]:.3g}: a cost must grow "
                                f"with both parameters and tokens")
