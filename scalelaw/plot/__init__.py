"""Figures for papers and planning documents (matplotlib, imported inside the functions: it
takes most of a second).  Every function takes results and frames, draws into a given ``ax``
(or ``axes``) or a new figure, applies the scalelaw style only while drawing (the global
``rcParams`` are never changed) and returns the Figure; :func:`save` writes PNG, PDF or SVG
atomically and deterministically (the same figure gives the same bytes).  docs/plots.md
shows each figure.
"""
from __future__ import annotations

from ._base import STYLE, save, styled
from .allocation import frontier, isoflop_parabolas
from .corner import pairs
from .curves import schedule_curves
from .diagnostics import parity, residuals
from .entropy import entropy_curves
from .fits import forecast, plot_fit

__all__ = ["STYLE", "entropy_curves", "forecast", "frontier", "isoflop_parabolas", "pairs", "parity",
           "plot_fit", "residuals", "save", "schedule_curves", "styled"]
