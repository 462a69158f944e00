"""Row filters compare text columns with quoted strings (issue 10, case 16); the formula
sandbox still refuses strings everywhere else."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalelaw.errors import ScalelawError
from scalelaw.expr import Expression, select_rows


def table():
    return pd.DataFrame({"condition": ["exp_loss", "baseline", None, "exp_loss"],
                         "N": [1e8, 2e8, 3e8, 4e8], "empty": [np.nan] * 4,
                         "run": pd.Categorical(["a", "b", "a", "b"])})


def test_text_columns_compare_with_quoted_strings():
    df = table()
    assert select_rows(df, "condition == 'exp_loss'").tolist() == [True, False, False, True]
    assert select_rows(df, '"exp_loss" == condition').tolist() == [True, False, False, True]
    assert select_rows(df, "condition != 'exp_loss' and N > 1e8").tolist() == [False, True, True, False]
    assert select_rows(df, "run == 'b' or condition == 'baseline'").tolist() == [False, True, False, True]
    assert select_rows(df, "not (condition == 'exp_loss')").tolist() == [False, True, True, False]
    # an empty column (read by pandas as all-NaN numbers) holds no text
    assert select_rows(df, "empty == 'x'").tolist() == [False] * 4


def test_text_comparisons_that_make_no_sense_are_one_line_errors():
    df = table()
    for bad, why in [("N == 'big'", "column of numbers"), ("condition < 'z'", "== or !="),
                     ("condition > 3", "mixes text and numbers"), ("'exp_loss'", "only numeric")]:
        with pytest.raises(ScalelawError, match=why) as e:
            select_rows(df, bad)
        assert "\n" not in str(e.value)


@pytest.mark.parametrize("attack", [
    "condition == '__import__(\"os\").system(\"touch {marker}\")'",
    "condition == '{marker}' or N > 0",
])
def test_injection_through_a_string_literal_is_only_a_value(tmp_path, attack, monkeypatch):
    marker = tmp_path / "PWNED"
    monkeypatch.chdir(tmp_path)
    df = table()
    got = select_rows(df, attack.format(marker=marker))
    assert not marker.exists()
    assert got.tolist() == ([False] * 4 if "or N" not in attack else [True] * 4)


@pytest.mark.parametrize("attack", [
    "condition == 'a'.__class__",
    "condition == ''.join(['a'])",
    "condition == 'ab'[0]",
    "condition == 'x' * 1000000000",
    "condition == f'{N}'",
    "condition == b'exp_loss'",
    "condition in 'exp_loss'",
    "condition == ('a' + 'b')",
    "condition == exp('a')",
])
def test_strings_outside_a_plain_comparison_are_refused(attack):
    with pytest.raises(ScalelawError, match="not allowed|only numeric constants"):
        select_rows(table(), attack)


def test_formulas_still_refuse_strings():
    with pytest.raises(ScalelawError, match="only numeric constants"):
        Expression("E + A*N**-alpha * (run == 'a')", "formula")


def test_fit_on_one_condition_of_a_mixed_table():
    import scalelaw as sl

    rng = np.random.default_rng(1)
    N = np.repeat([5e7, 1e8, 2e8, 4e8, 8e8], 3)
    D = np.tile([1e9, 4e9, 1.6e10], 5)
    clean = 1.8 + 400 * N ** -0.34 + 410 * D ** -0.28
    other = 3.0 + 0 * N                       # another condition: a flat, unrelated loss
    df = pd.DataFrame({"N": np.r_[N, N], "D": np.r_[D, D],
                       "loss": np.r_[clean * (1 + rng.normal(0, 0.002, 15)), other],
                       "condition": ["exp_loss"] * 15 + ["other"] * 15})
    res = sl.fit(df, "chinchilla", where="condition == 'exp_loss'")
    assert res.params["E"] == pytest.approx(1.8, abs=0.15)
    assert res.params["alpha"] == pytest.approx(0.34, abs=0.08)
    assert any("fitted on 15 of 30 rows" in n for n in res.notes)
