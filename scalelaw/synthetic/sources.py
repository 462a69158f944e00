"""Markov sources with exactly known entropy: random kernels, the switching source, mixtures.

State convention (REFERENCE §7): a k-th order source over ``m`` symbols keeps the last ``k``
symbols as the state ``s = x_{t-k}·m^(k-1) + ... + x_{t-1}`` (oldest symbol most
significant); ``kernel[s, a] = P(x_t = a | state s)``; the state moves to
``(s·m + a) mod m^k``.  All entropies are in nats (per symbol).

Sampling is vectorised over a batch of independent sequences: each sequence starts from
the stationary distribution of the state chain (its first ``k`` symbols are the digits of
the initial state), so every sequence is a stationary sample and every position has the
same marginal ``pi``.  The same seed always gives the same array.
"""
from __future__ import annotations

import math
import re
from functools import cached_property

import numpy as np

from ..errors import ScalelawError
from ..spec import Grammar, Kind, Range
from . import entropy as _ent

__all__ = ["MarkovSource", "SwitchingSource", "MixtureSource", "parse_source"]

#: largest state space (m^k) accepted
MAX_STATES = 1 << 22
#: largest kernel (m^k rows × m symbols) accepted; the kernel is stored dense (8 bytes an entry)
MAX_KERNEL = 1 << 25
#: largest order: m >= 2 and m^k <= MAX_STATES give k <= 22
_MAX_K = MAX_STATES.bit_length() - 1
#: largest Dirichlet concentration (the m gamma draws of a row must sum to a finite float)
_MAX_ALPHA = 1e300


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _symbol_dtype(m: int):
    return np.uint8 if m <= 256 else (np.uint16 if m <= 65536 else np.int32)


class MarkovSource:
    """A k-th order Markov source over the alphabet ``{0, ..., m-1}``.

    Parameters
    ----------
    kernel : array (m^k, m)
        Row ``s`` is the next-symbol distribution given state ``s``; rows must sum to 1.
    k : int
        Order (context length), ``k >= 1``.
    spec : str, optional
        The spec string this source was parsed from (for display).
    """

    def __init__(self, kernel, k: int, spec: str | None = None):
        kernel = np.array(kernel, dtype=float)
        if kernel.ndim != 2:
            raise ScalelawError(f"kernel must be a 2-D array (m^k, m), got shape {kernel.shape}")
        k = int(k)
        if k < 1:
            raise ScalelawError(f"order k={k} is invalid; use k >= 1")
        S, m = kernel.shape
        if m < 2:
            raise ScalelawError(f"alphabet size m={m} is invalid; use m >= 2")
        if S != m ** k:
            raise ScalelawError(f"kernel has {S} rows but a k={k} source over m={m} symbols needs {m ** k}")
        if np.any(~np.isfinite(kernel)) or np.any(kernel < 0):
            raise ScalelawError("kernel entries must be finite and non-negative")
        rs = kernel.sum(axis=1)
        if not np.allclose(rs, 1.0, atol=1e-9):
            raise ScalelawError("kernel rows must sum to 1 (they are next-symbol distributions)")
        self.kernel = kernel / rs[:, None]
        self.kernel.setflags(write=False)
        self.m = m
        self.k = k
        self.n_states = S
        self.spec = spec

    # ------------------------------------------------------------------ constructors
    @classmethod
    def random(cls, m: int = 2, k: int = 1, alpha: float = 1.0, seed: int = 0) -> "MarkovSource":
        """Random kernel: every row drawn from ``Dirichlet(alpha, ..., alpha)`` (seeded)."""
        m, k = _check_mk(m, k)
        if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and 0 < alpha <= _MAX_ALPHA):
            raise ScalelawError(f"alpha={alpha} is invalid; the Dirichlet concentration must be "
                                f"in (0, {_MAX_ALPHA:g}]")
        rng = np.random.default_rng(seed)
        kernel = rng.dirichlet(np.full(m, float(alpha)), size=m ** k)
        # Dirichlet draws with tiny alpha can underflow to exact zeros; keep rows normalised
        kernel /= kernel.sum(axis=1, keepdims=True)
        return cls(kernel, k, spec=f"markov:m={m},k={k},alpha={alpha:g},seed={seed}")

    # ------------------------------------------------------------------ exact quantities
    @cached_property
    def stationary(self) -> np.ndarray:
        """Stationary distribution ``mu`` of the order-k state chain (length ``m^k``)."""
        mu = _ent.stationary_distribution(self.kernel, self.k)
        mu.setflags(write=False)
        return mu

    @cached_property
    def pi(self) -> np.ndarray:
        """Stationary marginal of one symbol (length ``m``)."""
        return _ent.symbol_marginal(self.stationary, self.m, self.k)

    @cached_property
    def entropy_rate(self) -> float:
        """``H_inf`` in nats per symbol: the loss of the Bayes-optimal predictor."""
        return _ent.entropy_rate(self.kernel, self.stationary)

    @cached_property
    def unigram_entropy(self) -> float:
        """``H(pi)`` in nats: the loss of the best predictor that ignores context."""
        return float(_ent.shannon_entropy(self.pi))

    def block_entropies(self) -> np.ndarray:
        """Exact block entropies ``H_0 .. H_{k+1}`` (nats)."""
        return _ent.block_entropies(self.kernel, self.k, self.stationary)

    def conditional_entropies(self, max_context: int | None = None) -> np.ndarray:
        """``H(X_t | previous j symbols)`` for ``j = 0..max_context`` (default ``k``), nats.

        Entry 0 is ``H(pi)``, entry ``k`` (and beyond) is ``H_inf``: the loss plateaus of a
        model that uses only the last ``j`` symbols.
        """
        return _ent.conditional_entropies(self.kernel, self.k, self.stationary, max_context)

    # ------------------------------------------------------------------ sampling
    @property
    def dtype(self):
        """Dtype of sampled symbol arrays (smallest unsigned type holding ``m-1``)."""
        return _symbol_dtype(self.m)

    @cached_property
    def _cdf(self) -> np.ndarray:
        c = np.cumsum(self.kernel, axis=1)
        c[:, -1] = np.inf  # u < 1 always lands in the last symbol at the latest
        return c

    # sampling tables, built once per source (sample() is called once per training batch)
    @cached_property
    def _next_state(self) -> np.ndarray:
        S, m = self.n_states, self.m
        return ((np.arange(S)[:, None] * m + np.arange(m)[None, :]) % S).ravel().astype(np.intp)

    @cached_property
    def _cdf_columns(self) -> list:
        return [np.ascontiguousarray(self._cdf[:, j]) for j in range(self.m - 1)]

    @cached_property
    def _cdf_flat(self) -> np.ndarray:
        return (np.minimum(self._cdf, 1.0) + np.arange(self.n_states)[:, None]).ravel()

    @cached_property
    def _stationary_cdf(self) -> np.ndarray:
        return np.cumsum(self.stationary)

    def initial_states(self, n: int, seed=None) -> np.ndarray:
        """``n`` states drawn from the stationary distribution."""
        rng = _rng(seed)
        c = self._stationary_cdf
        s = np.searchsorted(c, rng.random(n) * c[-1], side="right")
        return np.minimum(s, self.n_states - 1).astype(np.intp)

    def sample(self, n_seqs: int, length: int, seed=None, *, init_states=None,
               return_state: bool = False):
        """Sample ``n_seqs`` independent stationary sequences of ``length`` symbols.

        Returns an array ``(n_seqs, length)`` of dtype :attr:`dtype`.  The first ``k``
        symbols of each row are the digits of a state drawn from ``mu`` (unless
        ``init_states`` is given, in which case the rows continue from those states and all
        ``length`` symbols are fresh draws).  ``seed`` is an int, ``None`` or a
        ``numpy.random.Generator``; a given integer seed always yields the same array.
        With ``return_state=True`` also returns the final states (to continue a stream).
        """
        n_seqs, length = int(n_seqs), int(length)
        if n_seqs < 0 or length < 0:
            raise ScalelawError("n_seqs and length must be non-negative")
        rng = _rng(seed)
        m, k, S = self.m, self.k, self.n_states
        out = np.empty((length, n_seqs), dtype=self.dtype)
        if init_states is None:
            s = self.initial_states(n_seqs, rng)
            t0 = min(k, length)
            for i in range(t0):  # digits of the initial state, oldest first
                out[i] = (s // m ** (k - 1 - i)) % m
            # state after emitting t0 < k digits is irrelevant: the chain continues from s
        else:
            s = np.asarray(init_states, dtype=np.intp).copy()
            if s.shape != (n_seqs,) or np.any((s < 0) | (s >= S)):
                raise ScalelawError(f"init_states must be {n_seqs} states in [0, {S})")
            t0 = 0
        nxt = self._next_state
        use_cols = m <= 16
        if use_cols:
            cols = self._cdf_columns
        else:
            flat = self._cdf_flat
        blk = max(1, (1 << 20) // max(n_seqs, 1))
        t = t0
        while t < length:
            U = rng.random((min(blk, length - t), n_seqs))
            for u in U:
                if use_cols:
                    a = (u >= cols[0][s]).astype(np.intp)
                    for c in cols[1:]:
                        a += u >= c[s]
                else:
                    a = np.searchsorted(flat, s + u, side="right") - s * m
                    np.clip(a, 0, m - 1, out=a)
                out[t] = a
                s = nxt[s * m + a]
                t += 1
        res = np.ascontiguousarray(out.T)
        return (res, s) if return_state else res

    def stream(self, length: int, seed=None) -> np.ndarray:
        """One stationary sequence of ``length`` symbols (1-D); slow per symbol for long
        streams, prefer :meth:`sample` with a batch."""
        return self.sample(1, length, seed)[0]

    def nll(self, x) -> np.ndarray:
        """Per-symbol negative log-likelihood (nats) of ``x[..., k:]`` under the true
        kernel given the preceding ``k`` symbols; shape ``x.shape[:-1] + (L - k,)``.

        Its mean over a long stationary sample is a Monte-Carlo estimate of ``H_inf``.
        """
        x = np.asarray(x, dtype=np.intp)
        s = self.states(x)
        with np.errstate(divide="ignore"):
            return -np.log(self.kernel[s[..., :-1], x[..., self.k:]])

    def states(self, x) -> np.ndarray:
        """State (last ``k`` symbols) before each position ``t >= k``: shape ``(..., L-k+1)``."""
        x = np.asarray(x, dtype=np.intp)
        L = x.shape[-1]
        if L < self.k:
            raise ScalelawError(f"sequence of length {L} is shorter than the order k={self.k}")
        s = np.zeros(x.shape[:-1] + (L - self.k + 1,), dtype=np.intp)
        for i in range(self.k):
            s = s * self.m + x[..., i: L - self.k + 1 + i]
        return s

    # ------------------------------------------------------------------ misc
    def summary(self, max_context: int | None = None) -> dict:
        """The exact quantities as a JSON-ready dict (nats)."""
        return {
            "source": self.spec or repr(self),
            "m": self.m,
            "k": self.k,
            "entropy_rate": self.entropy_rate,
            "unigram_entropy": self.unigram_entropy,
            "conditional_entropies": [float(v) for v in self.conditional_entropies(max_context)],
            "stationary_symbol_distribution": [float(v) for v in self.pi],
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, k={self.k}" + (f", spec={self.spec!r})" if self.spec else ")")


def _check_mk(m, k) -> tuple[int, int]:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 2:
        raise ScalelawError(f"alphabet size m={m} is invalid; use an integer m >= 2")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ScalelawError(f"order k={k} is invalid; use an integer k >= 1")
    m, k = int(m), int(k)
    if m > MAX_STATES or k > _MAX_K or m ** k > MAX_STATES:   # (bounds first: no huge powers)
        raise ScalelawError(f"m^k = {m}^{k} states is too many (limit {MAX_STATES}); use a smaller m or k")
    if m ** (k + 1) > MAX_KERNEL:
        raise ScalelawError(f"a kernel of m^k x m = {m}^{k} x {m} entries is too large (limit "
                            f"{MAX_KERNEL}); use a smaller m or k")
    return m, k


class SwitchingSource(MarkovSource):
    """Binary switching source: ``x_t`` depends only on ``x_{t-k}``.

    A 0 is followed (k steps later) by a 1 with probability ``p``; a 1 by a 0 with
    probability ``q``.  Closed forms (nats): ``pi_1 = p/(p+q)``, ``H(pi) = h(pi_1)``,
    ``H_inf = (q·h(p) + p·h(q))/(p+q)`` for every ``k``; with fewer than ``k`` symbols of
    context the best loss is exactly ``H(pi)``.  For ``p = q = 0`` (never switches) the
    ``p = q -> 0`` limit is used: ``pi`` uniform, ``H_inf = 0``.
    """

    def __init__(self, p: float, q: float, k: int = 1):
        for name, v in (("p", p), ("q", q)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 1.0):
                raise ScalelawError(f"{name}={v} is invalid; switching probabilities must lie in [0, 1]")
        _, k = _check_mk(2, k)
        self.p, self.q = float(p), float(q)
        S = 2 ** k
        oldest = np.arange(S) >> (k - 1)  # x_{t-k}: most significant bit of the state
        kernel = np.where(oldest[:, None] == 0, [[1 - p, p]], [[q, 1 - q]])
        super().__init__(kernel, k, spec=f"switching:p={p:g},q={q:g},k={k}")

    def closed_form(self) -> dict:
        """The published closed forms (nats): ``pi1``, ``unigram_entropy``, ``entropy_rate``."""
        p, q = self.p, self.q
        if p + q == 0:
            return {"pi1": 0.5, "unigram_entropy": math.log(2), "entropy_rate": 0.0}
        pi1 = p / (p + q)
        return {
            "pi1": pi1,
            "unigram_entropy": _ent.binary_entropy(pi1),
            "entropy_rate": (q * _ent.binary_entropy(p) + p * _ent.binary_entropy(q)) / (p + q),
        }


class MixtureSource(MarkovSource):
    """Kernel mixture of Markov sources over the same alphabet.

    ``kernel = Σ_i w_i · kernel_i`` after lifting every component to the largest order
    ``k = max k_i`` (a lower-order kernel ignores the older symbols).  The result is again
    a k-th order Markov source, so all exact quantities apply.  E.g. a switching source
    mixed with a random kernel: ``mixture:0.7*switching(p=0.8,q=0.8,k=2)+0.3*markov(m=2,k=1)``.
    """

    def __init__(self, sources, weights=None, spec: str | None = None):
        sources = list(sources)
        if not sources:
            raise ScalelawError("a mixture needs at least one component")
        ms = {s.m for s in sources}
        if len(ms) != 1:
            raise ScalelawError(f"mixture components have different alphabet sizes {sorted(ms)}; use one m")
        if weights is None:
            weights = np.full(len(sources), 1.0 / len(sources))
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(sources),) or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ScalelawError("mixture weights must be non-negative numbers, one per component, not all 0")
        w = w / w.sum()
        m = ms.pop()
        k = max(s.k for s in sources)
        _check_mk(m, k)
        kernel = np.zeros((m ** k, m))
        for wi, src in zip(w, sources):
            kernel += wi * _lift(src.kernel, src.k, k, m)
        self.components = sources
        self.weights = w
        super().__init__(kernel, k, spec=spec)


def _lift(kernel: np.ndarray, k_from: int, k_to: int, m: int) -> np.ndarray:
    """Kernel of order ``k_from`` as an order ``k_to >= k_from`` kernel (older symbols ignored)."""
    if k_to == k_from:
        return kernel
    s = np.arange(m ** k_to) % (m ** k_from)  # the last k_from symbols of the longer state
    return kernel[s]


# ---------------------------------------------------------------------- spec parsing
#: the source spec grammar: kinds, keys and defaults come from the builders' signatures
_K = Range(1, _MAX_K)
SPEC = Grammar("source", [
    Kind("markov", MarkovSource.random,
         ranges={"m": Range(2, MAX_STATES), "k": _K, "alpha": Range(0, _MAX_ALPHA, "(]"),
                 "seed": Range(0)}),
    Kind("switching", SwitchingSource, ranges={"p": Range(0, 1), "q": Range(0, 1), "k": _K}),
], compound={"mixture": "mixture:W1*KIND(KEY=VALUE,...)+W2*KIND(...) (KIND markov or "
                             "switching; weights >= 0, default 1)"},
    kind_aliases={"mix": "mixture"})
#: the grammar's overview, one line (what an unknown kind's message ends with)
GRAMMAR = SPEC.text


#: one mixture term: ``[W *] KIND(KEY=VALUE,...)``
_TERM = re.compile(r"^\s*(?:(?P<w>[^()]*?)\s*\*\s*)?(?P<name>[A-Za-z_]\w*)\s*\((?P<inner>.*)\)\s*$", re.S)


def _split_top(s: str, sep: str) -> list[str]:
    """``s`` split at ``sep`` outside parentheses (a ``+`` in a weight's exponent, ``1e+3``,
    does not split)."""
    parts, depth, cur = [], 0, []
    for i, ch in enumerate(s):
        exponent = (ch == "+" and 2 <= i < len(s) - 1 and s[i - 1] in "eE" and s[i - 2] in "0123456789."
                    and s[i + 1].isdigit())
        if exponent:
            cur.append(ch)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SPEC.error(f"unbalanced parentheses in {s!r}", "mixture")
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise SPEC.error(f"unbalanced parentheses in {s!r}", "mixture")
    parts.append("".join(cur))
    return parts


def _parse_simple(kind: str, body: str, spec: str) -> MarkovSource:
    src = SPEC.parse(f"{kind}:{body}")
    src.spec = spec
    return src


def parse_source(spec: str) -> MarkovSource:
    """Build a source from a spec string.

    * ``markov:m=4,k=2,alpha=0.5,seed=1`` -- random kernel, rows ~ Dirichlet(alpha)
      (:meth:`MarkovSource.random`: defaults m=2, k=1, alpha=1, seed=0);
    * ``switching:p=0.2,q=0.3,k=2`` -- the binary switching source (:class:`SwitchingSource`,
      k defaults to 1);
    * ``mixture:0.7*switching(p=0.8,q=0.8,k=2)+0.3*markov(m=2,k=1,seed=3)`` -- kernel
      mixture (weights are normalised; a missing ``W*`` means weight 1).

    Raises :class:`ScalelawError` with a one-line message on any problem (a bad value names
    the key, what is allowed and the kind's grammar).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SPEC.error("empty spec")
    spec = spec.strip()
    kind, body = SPEC.split(spec)
    if kind != "mixture":
        SPEC.kind(kind)   # refuses an unknown kind, naming the known ones
        return _parse_simple(kind, body, spec)
    comps, weights = [], []
    for term in _split_top(body, "+"):
        m = _TERM.match(term)
        if m is None:
            raise SPEC.error(f"cannot read mixture component {term.strip()!r}; write e.g. "
                             "0.5*switching(p=0.2,q=0.3,k=2)", "mixture")
        w = 1.0 if m["w"] is None else SPEC.value("weight", m["w"], float, Range(0), "mixture")
        if m["name"].lower() not in SPEC.kinds:
            raise SPEC.error(f"mixture component {m['name']!r} is not one of {', '.join(SPEC.kinds)}",
                             "mixture")
        comps.append(_parse_simple(m["name"].lower(), m["inner"], f"{m['name']}:{m['inner']}"))
        weights.append(w)
    try:
        return MixtureSource(comps, weights, spec=spec)
    except ScalelawError as e:
        raise SPEC.error(str(e), "mixture") from None
