"""One grammar for ``KIND:KEY=VALUE,...`` specs: schedules, sources, tokenizers, smoothing.

A spec names a *kind* and gives keyword values, e.g. ``cosine:peak=1e-3,steps=1000``.  Each
kind is a builder (a function or a class) and **its signature is the single source of the
keys, the defaults and the value types**:

* the keys are the builder's parameters (:class:`Kind` ``aliases`` add other spellings, e.g.
  ``lr`` for ``peak``); a parameter without a default is required; keys and kinds are
  case-insensitive;
* a value is converted by the parameter's annotation: ``int`` (a whole number, ``1e6`` allowed),
  ``float``, ``str``, ``bool`` (true/false, yes/no, on/off, 1/0), ``Literal[...]`` (one of the
  choices, case-insensitive), ``Sequence[T]`` / ``list[T]`` / ``tuple[T, ...]`` (items
  separated by ``/``, or by the kind's separator for that key), ``T | None`` as ``T``;
* every number must be finite (``inf``, ``nan`` are refused) and an integer lies within
  ``±2^53`` (:data:`MAX_INT`, the largest whole number a float holds exactly);
* a numeric key may declare its allowed values, a :class:`Range` (interval, open or closed
  ends) or a :class:`Check` (a predicate and the words for it); the items of a sequence are
  each checked;
* ``Kind(positional=KEY)`` lets the first value be written without ``KEY=`` (``ema:0.9``,
  ``file:lr.csv``).

Checks that involve several keys (``warmup < steps``) stay in the builder; a
:class:`~scalelaw.errors.ScalelawError` it raises is passed on in the same format.  Every
refusal is one line::

    bad schedule spec: steps=inf is not a finite integer >= 1. Grammar: cosine:peak=NUMBER>0,...

ending with the kind's usage line (generated from the signature and the ranges, so it cannot
drift from the code) or, when the kind is unknown, the grammar's overview.

This module imports only the standard library and :mod:`scalelaw.errors`.
"""
from __future__ import annotations

import collections.abc
import inspect
import math
import numbers
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

from .errors import ScalelawError

__all__ = ["MAX_INT", "Range", "Check", "Kind", "Grammar"]

#: largest magnitude of an integer value (2^53: every such integer is exactly a float)
MAX_INT = 2 ** 53

_EMPTY = inspect.Parameter.empty
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _fmt(x) -> str:
    """A bound as written in messages: 2^53 for MAX_INT (powers of two, and one less, as such),
    other integers plainly, floats with %g."""
    if isinstance(x, numbers.Integral) and x >= 2 ** 16:
        n = int(x)
        if n & (n - 1) == 0:
            return f"2^{n.bit_length() - 1}"
        if (n + 1) & n == 0:
            return f"2^{n.bit_length()}-1"
    if isinstance(x, numbers.Integral) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e16):
        return str(int(x))
    return f"{x:g}"


def _shown(v) -> str:
    """A value as the user wrote it (text as is, Python values by repr)."""
    return v if isinstance(v, str) else repr(v)


@dataclass(frozen=True)
class Range:
    """Allowed interval of a numeric key.

    ``lo``/``hi`` are the ends (``None``: unbounded); ``bounds`` says which ends are closed:
    ``"[]"``, ``"[)"``, ``"(]"`` or ``"()"``.  ``Range(0, bounds="()")`` is "positive",
    ``Range(1)`` is ">= 1", ``Range(0, 1, "[)")`` is ``[0, 1)``.
    """

    lo: float | None = None
    hi: float | None = None
    bounds: str = "[]"

    def __post_init__(self):
        if self.bounds not in ("[]", "[)", "(]", "()"):
            raise ValueError(f"Range bounds must be '[]', '[)', '(]' or '()', not {self.bounds!r}")

    def __contains__(self, x) -> bool:
        if self.lo is not None and (x < self.lo or (x == self.lo and self.bounds[0] == "(")):
            return False
        if self.hi is not None and (x > self.hi or (x == self.hi and self.bounds[1] == ")")):
            return False
        return True

    def describe(self, noun: str = "number") -> str:
        """Words for the allowed values: ``a positive finite number``, ``a finite integer >= 1``."""
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return f"a finite {noun} in {self.bounds[0]}{_fmt(lo)}, {_fmt(hi)}{self.bounds[1]}"
        if lo == 0 and self.bounds[0] == "(":
            return f"a positive finite {noun}"
        if lo is not None:
            return f"a finite {noun} {'>' if self.bounds[0] == '(' else '>='} {_fmt(lo)}"
        if hi is not None:
            return f"a finite {noun} {'<' if self.bounds[1] == ')' else '<='} {_fmt(hi)}"
        return f"a finite {noun}"

    def short(self) -> str:
        """Compact form for usage lines: ``>0``, ``>=1``, `` in [0,1]``."""
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return f" in {self.bounds[0]}{_fmt(lo)},{_fmt(hi)}{self.bounds[1]}"
        if lo is not None:
            return f"{'>' if self.bounds[0] == '(' else '>='}{_fmt(lo)}"
        if hi is not None:
            return f"{'<' if self.bounds[1] == ')' else '<='}{_fmt(hi)}"
        return ""


@dataclass(frozen=True)
class Check:
    """Allowed values of a key as a predicate on the converted value, with the words for
    it (``allowed`` completes "is not ...", e.g. ``"a fraction in [0, 1) or a whole number
    of steps >= 1"``)."""

    test: Callable[[Any], bool]
    allowed: str

    def __contains__(self, x) -> bool:
        return bool(self.test(x))

    def describe(self, noun: str = "number") -> str:
        return self.allowed

    def short(self) -> str:
        return ""


# ---------------------------------------------------------------------------------- params

@dataclass(frozen=True)
class _Param:
    key: str                 # the builder's parameter name
    default: Any             # _EMPTY when required
    base: type               # int, float, str or bool (Literal: str with choices)
    choices: tuple | None    # Literal choices
    container: type | None   # list or tuple for sequence keys, else None
    allowed: Range | Check | None
    sep: str = "/"

    @property
    def required(self) -> bool:
        return self.default is _EMPTY

    @property
    def noun(self) -> str:
        return "integer" if self.base is int else "number"

    def describe(self, item: bool = False) -> str:
        """What the key accepts (``item``: what one item of a sequence key accepts), in words."""
        if self.choices is not None:
            one = f"one of {', '.join(map(str, self.choices))}"
        elif self.base in (int, float):
            one = (self.allowed or Range()).describe(self.noun)
        elif self.base is bool:
            one = "true or false"
        else:
            one = "a non-empty text"
        if self.container is not None and not item:
            return f"a list separated by '{self.sep}', each {one}"
        return one

    def placeholder(self) -> str:
        if self.choices is not None:
            return "|".join(map(str, self.choices))
        if self.base in (int, float):
            word = "INT" if self.base is int else "NUMBER"
            word += self.allowed.short() if self.allowed is not None else ""
        else:
            word = "true|false" if self.base is bool else "TEXT"
        return f"{word}{self.sep}..." if self.container is not None else word

    def default_text(self) -> str:
        d = self.default
        if d is None:
            return self.placeholder()
        if self.choices is not None:
            rest = [c for c in self.choices if c != d]
            return "|".join(map(str, [d] + rest))
        if isinstance(d, (list, tuple)):
            return self.sep.join(_fmt(v) if isinstance(v, (int, float)) else str(v) for v in d)
        if isinstance(d, bool):
            return "true" if d else "false"
        return _fmt(d) if isinstance(d, (int, float)) else str(d)


def _analyse(annotation) -> tuple[type, tuple | None, type | None]:
    """(base type, Literal choices, container) of an annotation."""
    if annotation is _EMPTY or annotation is Any:
        return str, None, None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _analyse(args[0])
        plain = [a for a in args if typing.get_origin(a) is None]
        for pick in (float, str):   # int | float -> float; str | PathLike -> str
            if pick in plain:
                return _analyse(pick)
        raise TypeError(f"cannot read a spec value type from {annotation!r}")
    if origin is Literal:
        choices = typing.get_args(annotation)
        return str, tuple(choices), None
    if origin in (list, tuple, collections.abc.Sequence, typing.Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        item = args[0] if args else str
        base, choices, inner = _analyse(item)
        if inner is not None:
            raise TypeError(f"nested sequences are not supported in specs: {annotation!r}")
        return base, choices, (tuple if origin is tuple else list)
    if annotation in (bool, int, float, str):
        return annotation, None, None
    raise TypeError(f"cannot read a spec value type from {annotation!r}")


# ------------------------------------------------------------------------------------ kind

class Kind:
    """One kind of a spec grammar: a name and the builder its values are passed to.

    Parameters
    ----------
    name : the kind as written before the colon (lower case).
    build : function or class; its signature gives the keys, defaults and value types.
    ranges : key -> :class:`Range` or :class:`Check`, the allowed values of numeric keys.
    aliases : other spellings of keys, ``{"lr": "peak"}``.
    values : other spellings of values per key, ``{"shape": {"cos": "cosine"}}``.
    seps : item separator of sequence keys other than ``/``, ``{"split": "-"}``.
    positional : key whose value may be written first without ``KEY=`` (``file:lr.csv``).
    exclude : builder parameters that are not spec keys.
    note : words appended to the usage line (conventions the types cannot say).
    """

    def __init__(self, name: str, build: Callable, *, ranges: Mapping[str, Range | Check] | None = None,
                 aliases: Mapping[str, str] | None = None,
                 values: Mapping[str, Mapping[str, str]] | None = None,
                 seps: Mapping[str, str] | None = None, positional: str | None = None,
                 exclude: Iterable[str] = (), note: str = ""):
        self.name = name.lower()
        self.build = build
        self.note = note
        ranges, aliases = dict(ranges or {}), dict(aliases or {})
        values, seps = dict(values or {}), dict(seps or {})
        target = build.__init__ if inspect.isclass(build) else build
        hints = typing.get_type_hints(target)
        sig = inspect.signature(build)
        self.params: dict[str, _Param] = {}
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in exclude:
                continue
            base, choices, container = _analyse(hints.get(p.name, _EMPTY))
            self.params[p.name] = _Param(p.name, p.default, base, choices, container,
                                         ranges.get(p.name), seps.get(p.name, "/"))
        for what, keys in (("ranges", ranges), ("values", values), ("seps", seps),
                           ("aliases", aliases.values())):
            extra = set(keys) - set(self.params)
            if extra:
                raise TypeError(f"kind {name!r}: {what} name keys {sorted(extra)} that "
                                f"{getattr(build, '__qualname__', build)} does not take")
        if positional is not None and positional not in self.params:
            raise TypeError(f"kind {name!r}: positional key {positional!r} is not a parameter")
        self.aliases = {a.lower(): k for a, k in aliases.items()}
        self.values = {k: {a.lower(): v for a, v in m.items()} for k, m in values.items()}
        self.positional = positional
        self._lower = {k.lower(): k for k in self.params}

    @property
    def keys(self) -> list[str]:
        return list(self.params)

    def usage(self) -> str:
        """One-line grammar of this kind, e.g. ``cosine:peak=NUMBER>0,steps=INT>=1[,final=0][,warmup=0]``."""
        items = []
        for p in self.params.values():
            key = f"[{p.key}=]" if p.key == self.positional else f"{p.key}="
            if p.required:
                items.append((True, f"{key}{p.placeholder()}"))
            else:
                items.append((False, f"{key}{p.default_text()}"))
        out, first = self.name, True
        for req, text in items:
            sep = ":" if first else ","
            out += f"{sep}{text}" if req else f"[{sep}{text}]"
            first = False
        spelled: dict[str, list[str]] = {}
        for a, k in self.aliases.items():
            spelled.setdefault(k, []).append(a)
        notes = [f"{' or '.join(a)} for {k}" for k, a in spelled.items()] + ([self.note] if self.note else [])
        return out + (f" ({'; '.join(notes)})" if notes else "")

    def key(self, name: str) -> str | None:
        """The parameter a written key stands for (aliases resolved), or None."""
        n = name.strip().lower()
        n = self.aliases.get(n, n)
        return self._lower.get(n)

    def __repr__(self) -> str:
        return f"Kind({self.usage()})"


# --------------------------------------------------------------------------------- grammar

class Grammar:
    """A set of kinds sharing one message format: ``bad {what} spec: ... Grammar: ...``.

    ``compound`` adds usage lines for kinds parsed outside the grammar (a schedule's ``+``
    parts, a source mixture); ``kind_aliases`` other spellings of kinds; ``text`` replaces the
    generated overview (the usage lines of all kinds joined by `` | ``).
    """

    def __init__(self, what: str, kinds: Sequence[Kind], *, text: str | None = None,
                 compound: Mapping[str, str] | None = None,
                 kind_aliases: Mapping[str, str] | None = None):
        self.what = what
        self.kinds = {k.name: k for k in kinds}
        self.compound = dict(compound or {})
        self.kind_aliases = {a.lower(): k for a, k in (kind_aliases or {}).items()}
        self.text = text if text is not None else " | ".join(
            [k.usage() for k in kinds] + list(self.compound.values()))

    @property
    def names(self) -> list[str]:
        """Every kind name, compound kinds included."""
        return list(self.kinds) + list(self.compound)

    # -- messages
    def usage(self, kind: str | None = None) -> str:
        if kind in self.kinds:
            return self.kinds[kind].usage()
        if kind in self.compound:
            return self.compound[kind]
        return self.text

    def error(self, problem: str, kind: str | None = None) -> ScalelawError:
        """The one-line error: ``bad WHAT spec: PROBLEM. Grammar: USAGE``."""
        problem = " ".join(str(problem).split()).rstrip(".")
        return ScalelawError(f"bad {self.what} spec: {problem}. Grammar: {self.usage(kind)}")

    def canonical(self, name: str) -> str:
        n = str(name).strip().lower()
        return self.kind_aliases.get(n, n)

    def kind(self, name: str) -> Kind:
        """The :class:`Kind` called ``name`` (aliases resolved); unknown kinds are refused."""
        n = self.canonical(name)
        if n not in self.kinds:
            raise self.error(f"unknown kind {str(name).strip()!r}; use one of {', '.join(self.names)}")
        return self.kinds[n]

    # -- parsing
    def split(self, text: str) -> tuple[str, str]:
        """``KIND:BODY`` -> (canonical kind, body)."""
        kind, _, body = str(text).strip().partition(":")
        return self.canonical(kind), body

    def parse(self, text: str):
        """Build the object a ``KIND:KEY=VALUE,...`` text describes."""
        if not isinstance(text, str) or not text.strip():
            raise self.error("empty spec")
        name, body = self.split(text)
        kind = self.kind(name)
        args, kwargs = [], {}
        for i, item in enumerate(s.strip() for s in body.split(",")):
            if not item:
                continue
            if "=" not in item:
                if i == 0 and kind.positional is not None:
                    args.append(item)
                    continue
                raise self.error(f"{item!r} is not KEY=VALUE", kind.name)
            k, v = (s.strip() for s in item.split("=", 1))
            key = self._key(kind, k)
            if key in kwargs:
                raise self.error(f"{k} is given twice", kind.name)
            kwargs[key] = v
        return self._build(kind, args, kwargs)

    def build(self, kind: str, args: Sequence = (), kwargs: Mapping[str, Any] | None = None):
        """Build from Python values (numbers, strings, sequences) with the same conversion,
        checks and messages as :meth:`parse`; ``args`` holds at most the positional value."""
        k = self.kind(kind)
        kw = {}
        for name, v in (kwargs or {}).items():
            key = self._key(k, name)
            if key in kw:
                raise self.error(f"{name} is given twice", k.name)
            kw[key] = v
        return self._build(k, list(args), kw)

    def value(self, key: str, raw, base: type = float, allowed: Range | Check | None = None,
              kind: str | None = None):
        """Convert one lone value (e.g. a mixture weight) with the grammar's messages."""
        p = _Param(key, _EMPTY, base, None, None, allowed)
        return self._convert(p, raw, kind)

    def _key(self, kind: Kind, written: str) -> str:
        key = kind.key(written)
        if key is None:
            alias = f" (or {', '.join(kind.aliases)})" if kind.aliases else ""
            raise self.error(f"{kind.name} takes keys {', '.join(kind.keys)}{alias}, "
                             f"not {written.strip()!r}", kind.name)
        return key

    def _build(self, kind: Kind, args: list, kwargs: dict):
        if args:
            if kind.positional is None or len(args) > 1:
                raise self.error(f"{kind.name} takes KEY=VALUE items only", kind.name)
            if kind.positional in kwargs:
                raise self.error(f"{kind.positional} is given twice", kind.name)
            kwargs[kind.positional] = args[0]
        missing = [p.key for p in kind.params.values() if p.required and p.key not in kwargs]
        if missing:
            raise self.error(f"{kind.name} needs {', '.join(missing)}", kind.name)
        values = {key: self._convert(kind.params[key], raw, kind.name, kind.values.get(key))
                  for key, raw in kwargs.items()}
        try:
            return kind.build(**values)
        except ScalelawError as e:
            raise self.error(str(e), kind.name) from None

    # -- conversion
    def _refuse(self, p: _Param, raw, kind, why: str | None = None, whole=None):
        """``KEY=VALUE is not ALLOWED`` (``whole``: the full list a bad item came from)."""
        why = f"is not {p.describe()}" if why is None else why
        if whole is not None:
            return self.error(f"{p.key}={_shown(whole)}: item {_shown(raw)} {why}", kind)
        return self.error(f"{p.key}={_shown(raw)} {why}", kind)

    def _convert(self, p: _Param, raw, kind, value_aliases=None):
        if p.container is not None:
            if isinstance(raw, str):
                items = [s.strip() for s in raw.split(p.sep)]
                if not raw.strip() or any(not s for s in items):
                    raise self._refuse(p, raw, kind, "has an empty item; use " + p.describe())
            elif isinstance(raw, (list, tuple)):
                items = list(raw)
            else:
                raise self._refuse(p, raw, kind)
            out = [self._one(p, it, kind, value_aliases, whole=raw) for it in items]
            return tuple(out) if p.container is tuple else out
        return self._one(p, raw, kind, value_aliases)

    def _one(self, p: _Param, raw, kind, value_aliases=None, whole=None):
        def bad(why=None):
            if why is None:
                why = f"is not {p.describe(item=whole is not None)}"
            return self._refuse(p, raw, kind, why, whole)

        if p.choices is not None:
            text = str(raw).strip().lower()
            text = (value_aliases or {}).get(text, text)
            for c in p.choices:
                if str(c).lower() == text:
                    return c
            raise bad()
        if p.base is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise bad()
        if p.base is str:
            if not isinstance(raw, str) or not raw.strip():
                raise bad()
            return raw.strip()
        x = self._number(p, raw, bad, whole is not None)
        if p.allowed is not None and x not in p.allowed:
            raise bad()
        return x

    @staticmethod
    def _number(p: _Param, raw, bad, item: bool):
        """``raw`` (text or a Python number) as a finite float, or an int within ±2^53."""
        if isinstance(raw, bool):
            raise bad()
        if isinstance(raw, str):
            text = raw.strip()
            x = None
            if p.base is int:
                try:
                    x = int(text)
                except ValueError:
                    pass
            if x is None:
                try:
                    x = float(text)
                except ValueError:
                    raise bad(f"is not a number; use {p.describe(item)}") from None
        elif isinstance(raw, numbers.Real):
            x = raw
        else:
            raise bad()
        if p.base is float:
            try:
                x = float(x)
            except OverflowError:   # an integer beyond the float range
                raise bad() from None
            if not math.isfinite(x):
                raise bad()
            return x
        if not isinstance(x, numbers.Integral):   # an int key written as 1e6
            x = float(x)
            if not (math.isfinite(x) and x.is_integer()):
                raise bad()
        if abs(x) > MAX_INT:
            bounded = isinstance(p.allowed, Range) and p.allowed.hi is not None and p.allowed.hi <= MAX_INT
            raise bad(None if bounded else f"is too large: at most 2^53 ({p.describe(item)})")
        return int(x)
