"""Opt-in smoothing of noisy loss curves (shared by read_log and the LR-schedule fits)."""
import numpy as np
import pytest

from scalelaw.errors import ScalelawError
from scalelaw.io.logs import smooth_loss


@pytest.mark.parametrize("spec", ["ema:0.9", "median:21", "lowess:0.1"])
def test_smoothing_reduces_noise_and_keeps_nans(spec):
    x = np.linspace(0, 1, 600)
    truth = 3 + np.exp(-3 * x)
    y = truth + np.random.default_rng(0).normal(0, 0.05, len(x))
    y[[10, 300]] = np.nan
    z = smooth_loss(y, spec)
    ok = np.isfinite(y)
    assert np.isnan(z[10]) and np.isnan(z[300])
    assert np.std((z - truth)[ok]) < 0.4 * np.std((y - truth)[ok])


def test_bad_smoothing_spec_names_the_grammar():
    with pytest.raises(ScalelawError, match="lowess"):
        smooth_loss(np.ones(5), "gauss:3")
