"""Small numerical helpers the laws share."""
from __future__ import annotations

import numpy as np

__all__ = ["sigmoid"]


def sigmoid(z):
    """The logistic function σ(z) = 1/(1 + e^−z), elementwise, without overflow for any
    finite z (computed as ½(1 + tanh(z/2)); ±inf give 1 and 0)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))
