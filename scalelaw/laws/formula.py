"""Laws written by the user as formulas, e.g. ``"E + A*N**-alpha + B*D**-beta"``.

Names listed in ``variables=`` (or, when it is not given, the canonical variables in
:data:`VARIABLES`) are data; every other name is a parameter.  ``C`` is compute by default:
in a formula where ``C`` is a coefficient, pass ``variables=`` (CLI: ``--x``).  The formula is compiled by
:mod:`scalelaw.expr` (no ``eval``).  When the formula is a sum of terms each of which is one
parameter times a parameter-free-in-it factor (``E + A*N**-alpha``), those parameters are
solved linearly by the engine (variable projection).
"""
from __future__ import annotations

import ast

import numpy as np

from ..errors import ScalelawError
from ..expr import FUNCTIONS, Expression
from .base import INF, Law, cols

#: names treated as data rather than parameters
VARIABLES = ("N", "D", "C", "x", "step", "tokens", "lr", "N_e", "N_d", "S1", "S2")


def _terms(node, sign=1.0):
    """Flatten a top-level sum into (sign, node) terms."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        right_sign = sign if isinstance(node.op, ast.Add) else -sign
        return _terms(node.left, sign) + _terms(node.right, right_sign)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _terms(node.operand, -sign)
    return [(sign, node)]


def _factors(node):
    """Flatten a product into (numerator factors, denominator factors)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        n1, d1 = _factors(node.left)
        n2, d2 = _factors(node.right)
        return n1 + n2, d1 + d2
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        n1, d1 = _factors(node.left)
        n2, d2 = _factors(node.right)
        return n1 + d2, d1 + n2
    return [node], []


class FormulaLaw(Law):
    """A law given as a formula string."""

    name = "formula"

    def __init__(self, formula: str, variables=None):
        self.formula = formula.strip()
        self._expr = Expression(self.formula, "formula")
        names = [n for n in self._expr.names if n not in FUNCTIONS]
        known = tuple(variables) if variables else VARIABLES
        self.variables = tuple(n for n in names if n in known)
        self.param_names = tuple(n for n in names if n not in known)
        self._declared_vars = list(variables) if variables else None
        if not self.variables:
            raise ScalelawError(f"formula {self.formula!r} uses no data variable; "
                                f"use one of {', '.join(VARIABLES)} (e.g. 'E + A*N**-alpha')")
        if not self.param_names:
            raise ScalelawError(f"formula {self.formula!r} has no parameters to fit")
        self._linear = self._find_linear()
        self.linear_params = tuple(p for p, _, _ in self._linear) if self._linear else ()
        super().__init__()

    def config(self):
        return {"formula": self.formula, "variables": self._declared_vars}

    def _find_linear(self):
        tree = ast.parse(self.formula.replace("^", "**"), mode="eval").body
        counts = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                counts[node.id] = counts.get(node.id, 0) + 1
        out = []
        for sign, term in _terms(tree):
            num, den = _factors(term)
            lin = [f for f in num if isinstance(f, ast.Name) and f.id in self.param_names
                   and counts[f.id] == 1]
            if len(lin) != 1:
                return None
            p = lin[0].id
            rest_num = [f for f in num if f is not lin[0]]
            text = "*".join(f"({ast.unparse(f)})" for f in rest_num) or "1"
            if den:
                text = f"({text})/(" + "*".join(f"({ast.unparse(f)})" for f in den) + ")"
            out.append((p, sign, Expression(text, "formula")))
        names = [p for p, _, _ in out]
        if len(set(names)) != len(names):
            return None
        return out

    def default_bounds(self):
        return {p: (-INF, INF) for p in self.param_names}

    def default_grid(self):
        nonlin = [p for p in self.param_names if p not in self.linear_params]
        if not nonlin:
            return {}
        k = len(nonlin)
        per = int(max(3, min(40, np.floor(4000 ** (1.0 / k)))))
        if self.linear_params:
            return {p: np.geomspace(0.01, 2.5, per) for p in nonlin}
        # no linear structure: scale-like parameters need a wide grid
        return {p: np.concatenate([-np.geomspace(10, 0.1, per // 2), np.geomspace(0.01, 100, per - per // 2)])
                for p in nonlin}

    def _env(self, x, p):
        c = cols(p, len(self.param_names))
        env = dict(zip(self.param_names, c))
        env.update({v: x[v] for v in self.variables})
        return env

    def evaluate(self, x, p):
        out = np.asarray(self._expr(self._env(x, p)), dtype=float)
        n = len(next(iter(x.values())))
        return np.broadcast_to(out, np.shape(p)[:-1] + (n,))

    def basis(self, x, p):
        env = self._env(x, p)
        n = len(next(iter(x.values())))
        shape = np.shape(p)[:-1] + (n,)
        colz = [sign * np.broadcast_to(np.asarray(e(env), dtype=float), shape) for _, sign, e in self._linear]
        return np.stack(colz, axis=-1)
