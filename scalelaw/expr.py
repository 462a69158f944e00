"""Safe arithmetic expressions: formulas such as ``E + A*N**-alpha`` and row filters such
as ``C <= 1e21 and N > 1e8``.

Expressions are parsed with :mod:`ast` and compiled into a tree of numpy operations; nothing
is ever passed to ``eval``.  Allowed: numbers, names, ``+ - * / **`` (and ``^`` as a power),
unary minus, comparisons (``< <= > >= == !=``, chained), ``and / or / not``, and the
functions in :data:`FUNCTIONS`.  Row filters (:func:`select_rows`) may also compare a
text column with a quoted string, ``condition == 'exp_loss'`` or ``!=``: a string is
allowed only as a direct operand of ``==``/``!=``, it is a plain value compared element by
element, and nothing is done with it besides.  Anything else (attributes, subscripts,
lambdas, calls to other names, strings anywhere else) is refused with a
:class:`~scalelaw.errors.ScalelawError`.
"""
from __future__ import annotations

import ast
from typing import Callable, Mapping

import numpy as np

from .errors import ScalelawError

FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "log10": np.log10, "log2": np.log2, "sqrt": np.sqrt,
    "abs": np.abs, "tanh": np.tanh, "minimum": np.minimum, "maximum": np.maximum,
    "min": np.minimum, "max": np.maximum,
}

_BINOPS = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
    ast.Pow: np.power, ast.BitXor: np.power,
}
_CMPOPS = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
    ast.Eq: np.equal, ast.NotEq: np.not_equal,
}


class Expression:
    """A compiled expression: ``expr(env)`` evaluates it with names taken from ``env``."""

    def __init__(self, text: str, what: str = "expression", allow_text: bool = False):
        if not isinstance(text, str) or not text.strip():
            raise ScalelawError(f"empty {what}")
        self.text = text.strip()
        src = self.text.replace("^", "**")
        try:
            tree = ast.parse(src, mode="eval")
        except SyntaxError as e:
            raise ScalelawError(f"cannot parse {what} {self.text!r}: {e.msg} at column {e.offset}") from None
        self.what = what
        self.allow_text = bool(allow_text)
        self.names: list[str] = []
        self._fn = self._compile(tree.body)

    def _bad(self, node, why: str):
        seg = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
        text = ", 'text' in == / != comparisons" if self.allow_text else ""
        raise ScalelawError(f"{why} in {self.what} {self.text!r}: {seg!r}; "
                            f"allowed: numbers, names, + - * / **, comparisons{text}, and/or/not, "
                            f"{', '.join(sorted(FUNCTIONS))}")

    def _compile(self, node) -> Callable:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                self._bad(node, "only numeric constants are allowed")
            v = float(node.value)
            return lambda env: v
        if isinstance(node, ast.Name):
            name = node.id
            if name in FUNCTIONS:
                self._bad(node, "function used as a value")
            if name not in self.names:
                self.names.append(name)
            return lambda env: env[name]
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                self._bad(node, "operator not allowed")
            a, b = self._compile(node.left), self._compile(node.right)
            return lambda env: op(a(env), b(env))
        if isinstance(node, ast.UnaryOp):
            x = self._compile(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda env: np.negative(x(env))
            if isinstance(node.op, ast.UAdd):
                return x
            if isinstance(node.op, ast.Not):
                return lambda env: np.logical_not(x(env))
            self._bad(node, "operator not allowed")
        if isinstance(node, ast.Compare):
            operands = [node.left] + list(node.comparators)
            is_text = [self._is_text(o) for o in operands]
            parts = [(lambda env, v=o.value: v) if t else self._compile(o)
                     for o, t in zip(operands, is_text)]
            ops = []
            for i, o in enumerate(node.ops):
                if type(o) not in _CMPOPS:
                    self._bad(node, "comparison not allowed")
                if (is_text[i] or is_text[i + 1]) and not isinstance(o, (ast.Eq, ast.NotEq)):
                    self._bad(node, "text can only be compared with == or !=")
                ops.append(self._text_cmp(o) if is_text[i] or is_text[i + 1] else _CMPOPS[type(o)])

            def cmp(env):
                vals = [p(env) for p in parts]
                out = ops[0](vals[0], vals[1])
                for i in range(1, len(ops)):
                    out = np.logical_and(out, ops[i](vals[i], vals[i + 1]))
                return out
            return cmp
        if isinstance(node, ast.BoolOp):
            xs = [self._compile(v) for v in node.values]
            f = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

            def boolop(env):
                out = xs[0](env)
                for x in xs[1:]:
                    out = f(out, x(env))
                return out
            return boolop
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                self._bad(node, "call not allowed")
            fn = FUNCTIONS[node.func.id]
            args = [self._compile(a) for a in node.args]
            if not args:
                self._bad(node, "function needs an argument")
            return lambda env: fn(*[a(env) for a in args])
        self._bad(node, "construct not allowed")

    def _is_text(self, node) -> bool:
        """A string constant that is an operand of a comparison (filters only)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if not self.allow_text:
                self._bad(node, "only numeric constants are allowed")
            return True
        return False

    def _text_cmp(self, op):
        """Element-wise ``==`` / ``!=`` between text values (a column and a string)."""
        negate = isinstance(op, ast.NotEq)

        def compare(a, b):
            if isinstance(a, str) and isinstance(b, str):
                out = np.asarray(a == b)
            else:
                arr, s = (b, a) if isinstance(a, str) else (a, b)
                if isinstance(arr, str) or not isinstance(s, str):
                    raise ScalelawError(f"{self.what} {self.text!r}: compare text with a text "
                                        f"column, e.g. condition == 'exp_loss'")
                arr = np.asarray(arr)
                if arr.dtype.kind in "fiucb":
                    num = arr.astype(float, copy=False) if arr.dtype.kind != "c" else arr
                    if np.isfinite(num).any():
                        raise ScalelawError(f"{self.what} {self.text!r}: the text {s!r} is compared "
                                            f"with a column of numbers; compare it with a number "
                                            f"(e.g. N > 1e9)")
                    out = np.zeros(arr.shape, dtype=bool)     # an empty column: no text
                else:
                    out = np.asarray(arr.astype(object) == s, dtype=bool)
            return np.logical_not(out) if negate else out
        return compare

    def __call__(self, env: Mapping[str, object]):
        missing = [n for n in self.names if n not in env]
        if missing:
            raise ScalelawError(f"unknown name(s) {', '.join(missing)} in {self.what} {self.text!r}; "
                                f"available: {', '.join(map(str, env))}")
        with np.errstate(all="ignore"):
            try:
                return self._fn(env)
            except TypeError:   # numpy has no loop for text with numbers (condition > 3)
                raise ScalelawError(f"{self.what} {self.text!r} mixes text and numbers; compare "
                                    f"a text column only with quoted text (== or !=)") from None


def select_rows(frame, text: str, what: str = "--where") -> np.ndarray:
    """Boolean mask of the rows of ``frame`` for which the filter ``text`` holds.

    Names are column names of ``frame`` (matched exactly, then case-insensitively); a text
    column compares with a quoted string (``condition == 'exp_loss'``, ``!=``).
    """
    expr = Expression(text, what, allow_text=True)
    env: dict[str, np.ndarray] = {}
    lower = {str(c).lower(): c for c in frame.columns}
    for name in expr.names:
        col = name if name in frame.columns else lower.get(name.lower())
        if col is None:
            raise ScalelawError(f"unknown column {name!r} in {what} {text!r}; "
                                f"columns: {', '.join(map(str, frame.columns))}")
        env[name] = np.asarray(frame[col])
    out = np.asarray(expr(env))
    if out.dtype != bool:
        raise ScalelawError(f"{what} {text!r} must be a condition (e.g. 'C <= 1e21'), not a number")
    return np.broadcast_to(out, (len(frame),)).copy()
