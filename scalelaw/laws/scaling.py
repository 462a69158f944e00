"""Scaling laws of loss against model size, data and compute (REFERENCE §1–4).

Units: ``N`` parameters (the count your column holds: non-embedding for Kaplan-style fits,
total for Chinchilla-style fits), ``D`` tokens, ``C`` FLOPs, loss in nats per token.
All variables must be positive.
"""
from __future__ import annotations

import numpy as np

from .base import INF, Law, cols

_EXPONENTS = np.geomspace(0.01, 2.5, 40)  # default grid for power-law exponents


def _logs(x, v):
    """log of variable ``v``, cached in the prepared inputs (the engine evaluates many times)."""
    key = "_log_" + v
    if key not in x:
        x[key] = np.log(x[v])
    return x[key]


def _neg_pow(x, a):
    """x**(-a) computed as exp(-a*log x): stable for large x and batched a."""
    return np.exp(-a * np.log(x))


class PowerLaw(Law):
    """``A·x^−α``: a pure power law in one variable ``x`` (N, D, C or steps)."""

    name = "powerlaw"
    param_names = ("A", "alpha")
    linear_params = ("A",)
    log_params = ("A",)

    def __init__(self, var: str = "x"):
        self.var = var
        self.variables = (var,)
        self.formula = f"A*{var}**-alpha"
        super().__init__()

    def config(self):
        return {"var": self.var}

    def default_bounds(self):
        return {"A": (0.0, INF), "alpha": (-5.0, 10.0)}

    def default_grid(self):
        return {"alpha": _EXPONENTS}

    def basis(self, x, p):
        (A, a) = cols(p, 2)
        return _neg_pow(x[self.var], a)[..., None]

    def evaluate(self, x, p):
        A, a = cols(p, 2)
        return A * _neg_pow(x[self.var], a)

    def jacobian(self, x, p):
        A, a = p
        v = x[self.var]
        t = _neg_pow(v, a)
        return np.column_stack([t, -A * t * np.log(v)])


class PowerLawConst(Law):
    """``E + A·x^−α`` (Henighan et al. 2020): E the irreducible loss, x any one variable."""

    name = "powerlaw_const"
    param_names = ("E", "A", "alpha")
    linear_params = ("E", "A")
    log_params = ("E", "A")

    def __init__(self, var: str = "x"):
        self.var = var
        self.variables = (var,)
        self.formula = f"E + A*{var}**-alpha"
        super().__init__()

    def config(self):
        return {"var": self.var}

    def default_bounds(self):
        return {"E": (0.0, INF), "A": (0.0, INF), "alpha": (0.0, 10.0)}

    def default_grid(self):
        return {"alpha": _EXPONENTS}

    def basis(self, x, p):
        E, A, a = cols(p, 3)
        t = _neg_pow(x[self.var], a)
        return np.stack([np.ones_like(t), t], axis=-1)

    def evaluate(self, x, p):
        E, A, a = cols(p, 3)
        return E + A * _neg_pow(x[self.var], a)

    def jacobian(self, x, p):
        E, A, a = p
        v = x[self.var]
        t = _neg_pow(v, a)
        return np.column_stack([np.ones_like(v), t, -A * t * np.log(v)])


class Chinchilla(Law):
    """``E + A/N^α + B/D^β`` (Hoffmann et al. 2022, Approach 3).

    N counts all parameters (Chinchilla's convention), D training tokens.
    """

    name = "chinchilla"
    variables = ("N", "D")
    param_names = ("E", "A", "B", "alpha", "beta")
    formula = "E + A/N**alpha + B/D**beta"
    linear_params = ("E", "A", "B")
    log_params = ("E", "A", "B")

    def default_bounds(self):
        return {"E": (0.0, INF), "A": (0.0, INF), "B": (0.0, INF),
                "alpha": (0.0, 10.0), "beta": (0.0, 10.0)}

    def default_grid(self):
        return {"alpha": _EXPONENTS, "beta": _EXPONENTS}

    def basis(self, x, p):
        E, A, B, a, b = cols(p, 5)
        tn = _neg_pow(x["N"], a)
        td = _neg_pow(x["D"], b)
        tn, td = np.broadcast_arrays(tn, td)
        return np.stack([np.ones_like(tn), tn, td], axis=-1)

    def evaluate(self, x, p):
        E, A, B, a, b = cols(p, 5)
        return E + A * _neg_pow(x["N"], a) + B * _neg_pow(x["D"], b)

    def jacobian(self, x, p):
        return self.evaluate_with_jacobian(x, p)[1]

    def evaluate_with_jacobian(self, x, p):
        E, A, B, a, b = p
        lN, lD = _logs(x, "N"), _logs(x, "D")
        tn, td = np.exp(-a * lN), np.exp(-b * lD)
        J = np.empty((len(lN), 5))
        J[:, 0] = 1.0
        J[:, 1] = tn
        J[:, 2] = td
        J[:, 3] = -A * tn * lN
        J[:, 4] = -B * td * lD
        return E + A * tn + B * td, J


class Kaplan(Law):
    """``[(N_c/N)^(α_N/α_D) + D_c/D]^α_D`` (Kaplan et al. 2020, eq. 1.5).

    N is non-embedding parameters in Kaplan's convention; published α_N = 0.076,
    α_D = 0.095, N_c = 8.8e13, D_c = 5.4e13 (REFERENCE §1).
    """

    name = "kaplan"
    variables = ("N", "D")
    param_names = ("N_c", "alpha_N", "D_c", "alpha_D")
    formula = "((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D"
    log_params = ("N_c", "D_c")

    def default_bounds(self):
        return {"N_c": (1e-300, INF), "alpha_N": (1e-4, 5.0), "D_c": (1e-300, INF),
                "alpha_D": (1e-4, 5.0)}

    def default_grid(self):
        return {"N_c": np.geomspace(1e6, 1e18, 9), "alpha_N": [0.03, 0.07, 0.15, 0.3, 0.6],
                "D_c": np.geomspace(1e6, 1e18, 9), "alpha_D": [0.03, 0.07, 0.15, 0.3, 0.6]}

    def evaluate(self, x, p):
        Nc, aN, Dc, aD = cols(p, 4)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            inner = np.exp((aN / aD) * (np.log(Nc) - np.log(x["N"]))) + Dc / x["D"]
            return np.exp(aD * np.log(inner))

    def jacobian(self, x, p):
        Nc, aN, Dc, aD = p
        N, D = x["N"], x["D"]
        u = np.exp((aN / aD) * (np.log(Nc) - np.log(N)))
        v = Dc / D
        s = u + v
        L = np.exp(aD * np.log(s))
        lr = np.log(Nc) - np.log(N)
        dL_ds = aD * L / s
        d_Nc = dL_ds * u * (aN / aD) / Nc
        d_aN = dL_ds * u * lr / aD
        d_Dc = dL_ds / D
        d_aD = L * np.log(s) + dL_ds * u * lr * (-aN / aD ** 2)
        return np.column_stack([d_Nc, d_aN, d_Dc, d_aD])


class EncoderDecoder(Law):
    """``β·(N̄_e/N_e)^p_e·(N̄_d/N_d)^p_d + L_∞`` (Ghorbani et al. 2021).

    ``N_e`` / ``N_d`` are encoder / decoder parameters.  The reference sizes ``ref_e``,
    ``ref_d`` are fixed constants (so β is the loss above L_∞ at the reference sizes);
    only their product with β is identifiable.
    """

    name = "nmt"
    variables = ("N_e", "N_d")
    param_names = ("L_inf", "beta", "p_e", "p_d")
    linear_params = ("L_inf", "beta")
    log_params = ("L_inf", "beta")

    def __init__(self, ref_e: float = 1e8, ref_d: float = 1e8):
        self.ref_e, self.ref_d = float(ref_e), float(ref_d)
        self.formula = f"beta*({self.ref_e:g}/N_e)**p_e*({self.ref_d:g}/N_d)**p_d + L_inf"
        super().__init__()

    def config(self):
        return {"ref_e": self.ref_e, "ref_d": self.ref_d}

    def default_bounds(self):
        return {"L_inf": (0.0, INF), "beta": (0.0, INF), "p_e": (-5.0, 10.0), "p_d": (-5.0, 10.0)}

    def default_grid(self):
        g = np.geomspace(0.01, 2.0, 25)
        return {"p_e": g, "p_d": g}

    def _term(self, x, pe, pd):
        return np.exp(pe * np.log(self.ref_e / x["N_e"]) + pd * np.log(self.ref_d / x["N_d"]))

    def basis(self, x, p):
        L, b, pe, pd = cols(p, 4)
        t = self._term(x, pe, pd)
        return np.stack([np.ones_like(t), t], axis=-1)

    def evaluate(self, x, p):
        L, b, pe, pd = cols(p, 4)
        return L + b * self._term(x, pe, pd)

    def jacobian(self, x, p):
        L, b, pe, pd = p
        t = self._term(x, pe, pd)
        return np.column_stack([np.ones_like(t), t, b * t * np.log(self.ref_e / x["N_e"]),
                                b * t * np.log(self.ref_d / x["N_d"])])


class BNSL(Law):
    """Broken neural scaling law with ``breaks`` breaks (Caballero et al. 2022):

    ``y = a + b·x^(−c0)·Π_i (1 + (x/d_i)^(1/f_i))^(−c_i·f_i)``.

    ``d_i`` is the location of break i (in x units), ``f_i`` its sharpness (smaller is
    sharper), ``c_i`` the change of slope in log-log space after it.
    """

    name = "bnsl"
    linear_params = ("a", "b")
    breaks = 1
    #: Levenberg-Marquardt stops in the flat valleys of the breaks up to a few percent above
    #: the optima L-BFGS-B goes on to (seen: 3% on a resample, unflagged by the stall check),
    #: so bootstrap refits take the per-resample polish
    batched = False

    def __init__(self, var: str = "x"):
        self.var = var
        self.variables = (var,)
        names = ["a", "b", "c0"]
        for i in range(1, self.breaks + 1):
            names += [f"c{i}", f"d{i}", f"f{i}"]
        self.param_names = tuple(names)
        self.log_params = ("a", "b") + tuple(f"d{i}" for i in range(1, self.breaks + 1)) \
            + tuple(f"f{i}" for i in range(1, self.breaks + 1))
        prod = "*".join(f"(1 + ({var}/d{i})**(1/f{i}))**(-c{i}*f{i})" for i in range(1, self.breaks + 1))
        self.formula = f"a + b*{var}**(-c0)*{prod}"
        super().__init__()

    def config(self):
        return {"var": self.var}

    def default_bounds(self):
        b = {"a": (0.0, INF), "b": (0.0, INF), "c0": (-2.0, 5.0)}
        for i in range(1, self.breaks + 1):
            b.update({f"c{i}": (-5.0, 5.0), f"d{i}": (1e-300, INF), f"f{i}": (1e-3, 100.0)})
        return b

    def default_grid(self):
        g = {"c0": [0.0, 0.1, 0.3, 0.6, 1.0]}
        for i in range(1, self.breaks + 1):
            g.update({f"c{i}": [-0.3, 0.1, 0.3, 0.7, 1.5], f"f{i}": [0.1, 0.5, 2.0]})
        return g

    def grid_for(self, design):
        """Break locations are placed at log-spaced quantiles of the observed ``x``."""
        g = dict(self.start_grid)
        lx = np.log(design.x[self.var])
        qs = np.linspace(0.15, 0.85, 5 if self.breaks == 1 else 4)
        locs = np.exp(np.quantile(lx, qs))
        for i in range(1, self.breaks + 1):
            g.setdefault(f"d{i}", locs)
        return g

    def _shape(self, x, p):
        k = len(self.param_names)
        c = cols(p, k)
        v = x[self.var]
        lv = np.log(v)
        logt = -c[2] * lv
        for i in range(self.breaks):
            ci, di, fi = c[3 + 3 * i], c[4 + 3 * i], c[5 + 3 * i]
            z = (lv - np.log(di)) / fi
            logt = logt - ci * fi * np.logaddexp(0.0, z)
        with np.errstate(over="ignore"):
            return np.exp(logt)

    def basis(self, x, p):
        t = self._shape(x, p)
        return np.stack([np.ones_like(t), t], axis=-1)

    def evaluate(self, x, p):
        c = cols(p, len(self.param_names))
        return c[0] + c[1] * self._shape(x, p)


class BNSL2(BNSL):
    """Broken neural scaling law with two breaks."""

    name = "bnsl2"
    breaks = 2

    def default_grid(self):
        g = {"c0": [0.0, 0.3, 0.8]}
        for i in range(1, 3):
            g.update({f"c{i}": [-0.3, 0.2, 0.6, 1.2], f"f{i}": [0.2, 1.0]})
        return g


class ShiftedPowerLaw(Law):
    """``E + A·(x + x0)^−α``: a power law plus constant whose onset is shifted by ``x0``
    (the saturating form of Zhai et al. 2022, "Scaling Vision Transformers").

    ``x0`` (≥ 0, in the units of ``x``) is where the power law bends away from a straight
    line in log-log axes at the small end: data at ``x ≪ x0`` sit on a plateau near
    ``E + A·x0^−α``.  With ``x0 = 0`` it is :class:`PowerLawConst`.  One variable ``x``
    (``var=`` N, D, C or step), as for ``powerlaw_const``.
    """

    name = "shifted_powerlaw"
    param_names = ("E", "A", "x0", "alpha")
    linear_params = ("E", "A")
    log_params = ("E", "A", "x0")   # x0 spans orders of magnitude; 0 is its lower bound

    def __init__(self, var: str = "x"):
        self.var = var
        self.variables = (var,)
        self.formula = f"E + A*({var} + x0)**-alpha"
        super().__init__()

    def config(self):
        return {"var": self.var}

    def default_bounds(self):
        return {"E": (0.0, INF), "A": (0.0, INF), "x0": (0.0, INF), "alpha": (0.0, 10.0)}

    def default_grid(self):
        return {"alpha": np.geomspace(0.02, 2.5, 25)}

    def grid_for(self, design):
        """Shifts from 0 to ten times the largest observed ``x`` (log-spaced)."""
        g = dict(self.start_grid)
        v = np.asarray(design.x[self.var], dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if "x0" not in g and v.size:
            g["x0"] = np.concatenate([[0.0], np.geomspace(0.1 * v.min(), 10 * v.max(), 10)])
        return g

    def _shifted(self, x, x0):
        return x[self.var] + x0

    def basis(self, x, p):
        E, A, x0, a = cols(p, 4)
        t = _neg_pow(self._shifted(x, x0), a)
        return np.stack([np.ones_like(t), t], axis=-1)

    def evaluate(self, x, p):
        E, A, x0, a = cols(p, 4)
        with np.errstate(invalid="ignore", divide="ignore"):
            return E + A * _neg_pow(self._shifted(x, x0), a)

    def jacobian(self, x, p):
        E, A, x0, a = p
        s = self._shifted(x, x0)
        t = _neg_pow(s, a)
        return np.column_stack([np.ones_like(s), t, -a * A * t / s, -A * t * np.log(s)])
