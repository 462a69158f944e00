"""Figures.  matplotlib is imported inside the functions (it takes ~0.8 s to import)."""
from __future__ import annotations

from .fits import plot_fit

__all__ = ["plot_fit"]
