"""Training small GPTs on synthetic sources, and sweeps of them (torch, the ``[train]`` extra).

``import scalelaw.train`` does not import torch; the names below load their module (and
torch) on first use.  Install torch first: ``pip install torch==2.13.0``.

* :class:`TrainConfig` (``config``): one run's settings, no torch.
* :func:`train` (``trainer``): train, resume or skip one run in a folder.
* :class:`GPTConfig`, :class:`GPT` (``model``): the model and its parameter/FLOP counts.
* :func:`chunked_cross_entropy` (``loss``): memory-efficient cross-entropy.
* :func:`load_sweep`, :func:`run_sweep` (``sweep``): declarative TOML sweeps.
* :func:`get_executor` and the executors (``executors``, no torch): local pool, Ray, SLURM.

See docs/train.md.
"""
from __future__ import annotations

import importlib

TORCH_HINT = "pip install torch==2.13.0"

_LAZY = {
    "TrainConfig": "config", "fill_schedule_steps": "config",
    "train": "trainer", "select_device": "trainer", "build_data": "trainer",
    "GPTConfig": "model", "GPT": "model",
    "chunked_cross_entropy": "loss",
    "load_sweep": "sweep", "run_sweep": "sweep", "Sweep": "sweep",
    "get_executor": "executors", "LocalExecutor": "executors", "RayExecutor": "executors",
    "SlurmExecutor": "executors", "SerialExecutor": "executors",
}

__all__ = sorted(_LAZY) + ["TORCH_HINT", "require_torch"]


def require_torch():
    """Import torch, or raise a one-line :class:`~scalelaw.errors.ScalelawError` with the
    install command."""
    try:
        import torch
    except ImportError:
        from ..errors import ScalelawError
        raise ScalelawError(f"training needs PyTorch, which is not installed; run: {TORCH_HINT}") from None
    return torch


def __getattr__(name):
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'scalelaw.train' has no attribute {name!r}") from None
    if mod in ("trainer", "model", "loss"):
        require_torch()
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
