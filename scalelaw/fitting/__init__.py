"""Fitting: the one engine, its results, uncertainty and validation.

>>> import scalelaw as sl
>>> res = sl.fit("runs.csv", "chinchilla", bootstrap=1000)       # doctest: +SKIP
>>> # the same function: scalelaw.fitting.fit
>>> print(res.summary()); res.predict(N=7e10, D=1.4e12)          # doctest: +SKIP

Modules: :mod:`.objective` (what is minimized), :mod:`.engine` (the solve),
:mod:`.uncertainty` (sandwich covariance, bootstrap), :mod:`.results` (:class:`FitResult`),
:mod:`.data` (a user's table to a law's frame), :mod:`.api` (:func:`fit`,
:func:`leave_one_group_out`, :func:`rollout`), :mod:`.curves` (:func:`fit_lr` for training logs),
:mod:`.multi` (several targets: :class:`MultiFit`), :mod:`.select` (law selection and stacking by cross-validation), :mod:`.validation`
(rollout), :mod:`.calibration` (calibrated new-run bands), :mod:`.components` (noise
components of replicated tables), :mod:`.noise` (the noise of per-step logs).
"""
from .api import fit, leave_one_group_out, rollout
from .curves import fit_lr
from .objective import Objective
from .results import FitResult
from .multi import MultiFit

__all__ = ["fit", "fit_lr", "FitResult", "MultiFit", "Objective", "leave_one_group_out", "rollout"]
