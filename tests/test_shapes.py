"""Transformer shapes for N_opt: constraints honoured, N within the reported relative error."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from scalelaw.cli import main
from scalelaw.errors import ScalelawError, ScalelawWarning
from scalelaw.shapes import shape_params, transformer_shapes

HOFFMANN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def brute_force(N, aspect, heads, vocab=None, tied=True):
    """Every (n_layer, d_model, head_dim) by plain loops: the smallest |N_shape/N - 1|."""
    best = np.inf
    L = np.arange(1, 400)[None, :]
    for h in heads:
        d = (h * np.arange(1, 2000))[:, None]
        ok = (d / L >= aspect[0]) & (d / L <= aspect[1])
        err = np.abs(shape_params(L, d, vocab=vocab, tied=tied) / N - 1)
        best = min(best, err[ok].min())
    return best


@pytest.mark.parametrize("N, aspect, heads, vocab", [
    (1.3e8, (32, 256), (64,), None),
    (7e9, (50, 200), (128,), 50304),
    (2.2e10, (32, 256), (64, 128), 32000),
])
def test_best_shape_is_the_nearest_and_honours_the_constraints(N, aspect, heads, vocab):
    s = transformer_shapes(N, aspect=aspect, head_dim=heads, vocab=vocab, top=20)
    assert list(s["rank"]) == list(range(1, len(s) + 1)) and len(s) == 20
    # the constraints
    assert ((s.aspect >= aspect[0]) & (s.aspect <= aspect[1])).all()
    assert (s.d_model % s.head_dim == 0).all() and s.head_dim.isin(heads).all()
    assert (s.n_heads * s.head_dim == s.d_model).all() and (s.d_ff == 4 * s.d_model).all()
    np.testing.assert_allclose(s.aspect, s.d_model / s.n_layer)
    # each row's N is the convention's count of its shape, and rel_error is exact
    np.testing.assert_allclose(s.N_nonembed, 12 * s.n_layer * s.d_model.astype(float) ** 2, rtol=1e-15)
    np.testing.assert_allclose(s.N_embed, 0 if vocab is None else vocab * s.d_model, rtol=1e-15)
    np.testing.assert_allclose(s.N, s.N_nonembed + s.N_embed, rtol=1e-15)
    np.testing.assert_allclose(s.rel_error, s.N / N - 1, rtol=1e-12)
    assert (np.diff(s.rel_error.abs().to_numpy()) >= -1e-15).all()           # ranked
    # the best is the nearest of all shapes (plain loops agree), and near: < 0.5 %
    assert abs(s.rel_error[0]) == pytest.approx(brute_force(N, aspect, heads, vocab), rel=1e-9, abs=1e-15)
    assert abs(s.rel_error[0]) < 5e-3


@pytest.mark.parametrize("N, aspect, heads", [
    (7e9, (60, 62), (128,)),        # refused before: 54 x 3328 is 2.5 % off
    (5e8, (30, 33), (128,)),        # refused before: 35 x 1152 is 11 % off
    (1e9, (5000, 6000), (64, 128)),  # one layer only: 1 x 5760
    (3e9, (100, 101), (64,)),
    (2e10, (90, 92), (128,)),
    (1.3e8, (40, 41), (64, 128)),
])
def test_narrow_aspect_range_finds_the_nearest_shape(N, aspect, heads):
    """Under a narrow aspect range the real-valued layer count's floor/ceil fall outside it;
    the allowed ends ceil(d/hi), floor(d/lo) are searched too: plain loops agree."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)      # coarse steps: said, not tested here
        s = transformer_shapes(N, aspect=aspect, head_dim=heads, top=3)
    assert ((s.aspect >= aspect[0]) & (s.aspect <= aspect[1])).all()
    np.testing.assert_allclose(s.N, 12 * s.n_layer * s.d_model.astype(float) ** 2, rtol=1e-15)
    assert abs(s.rel_error[0]) == pytest.approx(brute_force(N, aspect, heads), rel=1e-9, abs=1e-15)


def test_within_stated_error_over_sizes():
    """The nearest shape (aspect 32-256, heads of 128) is within 1 % of N from 1e8 parameters,
    0.3 % from 1e9 and 0.1 % from 1e10 (measured: at most 0.66 %, 0.27 %, 0.057 %)."""
    errs = np.array([abs(transformer_shapes(N, head_dim=128).rel_error[0])
                     for N in np.geomspace(1e8, 1e12, 17)])
    assert errs.max() < 1e-2 and errs[4:].max() < 3e-3 and errs[8:].max() < 1e-3, errs


def test_embedding_conventions():
    N = 1.4e9
    tied = transformer_shapes(N, vocab=50304, head_dim=128)
    untied = transformer_shapes(N, vocab=50304, head_dim=128, tied=False)
    plain = transformer_shapes(N, head_dim=128)
    assert "total, tied embedding" in tied.attrs["convention"] and "non-embedding" in plain.attrs["convention"]
    np.testing.assert_allclose(untied.N_embed, 2 * 50304 * untied.d_model)
    # counting the embedding leaves fewer non-embedding parameters for the layers
    assert tied.N_nonembed[0] < plain.N_nonembed[0] and untied.N_nonembed[0] < tied.N_nonembed[0]


def test_shape_bad_input_and_coarse_sizes():
    for bad, match in [(dict(N=-1), "positive"), (dict(N="x"), "must be a number"),
                       (dict(N=1e9, aspect=(200, 100)), "lo <= hi"),
                       (dict(N=1e9, aspect=(1,)), "two numbers"),
                       (dict(N=1e9, head_dim=0), "whole numbers >= 1"),
                       (dict(N=1e6, vocab=50304), "embedding alone exceeds"),
                       (dict(N=1e9, aspect=(5000, 5001), head_dim=128), "widen the aspect range")]:
        with pytest.raises(ScalelawError, match=match):
            transformer_shapes(**bad)
    with pytest.warns(ScalelawWarning, match="misses"):
        s = transformer_shapes(1e6, head_dim=128)
    assert abs(s.rel_error[0]) > 0.05


def test_cli_shapes(tmp_path, capsys):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"law": "chinchilla", "params": HOFFMANN}))
    rc = main(["allocate", str(fit), "--compute", "1e23", "--shapes", "--aspect", "32,256",
               "--head-dim", "128", "--vocab", "50304", "--n-shapes", "3", "--json", str(tmp_path / "a.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "shapes for N_opt" in out and "tied embedding" in out
    doc = json.loads((tmp_path / "a.json").read_text())
    n_opt = doc["rows"][0]["N_opt"]
    ref = transformer_shapes(n_opt, head_dim=128, vocab=50304, top=3)
    got = doc["shapes"][0]["shapes"]
    assert [r["d_model"] for r in got] == list(ref.d_model) and len(got) == 3
    assert f"{ref.n_layer[0]:7d} {ref.d_model[0]:7d} {ref.n_heads[0]:7d}" in out
    # with a cost model and with IsoFLOP runs too
    assert main(["allocate", str(fit), "--compute", "1e23", "--cost", "attention:n_ctx=8192", "--shapes"]) == 0
    assert "shapes for N_opt" in capsys.readouterr().out
    for argv, match in [(["--aspect", "32"], "--aspect expects LO,HI"),
                        (["--head-dim", "96.5"], "whole number"),
                        (["--aspect", "300,100"], "LO <= HI")]:
        assert main(["allocate", str(fit), "--compute", "1e23", "--shapes", *argv]) == 2
        assert match in capsys.readouterr().err


def test_cli_shapes_need_n_opt(tmp_path, capsys):
    import pandas as pd
    pd.DataFrame({"N": [1e8], "C": [1e19], "loss": [3.0]}).to_csv(tmp_path / "r.csv", index=False)
    assert main(["allocate", "--isoflop", str(tmp_path / "r.csv"), "--shapes"]) == 2
    assert "--shapes needs N_opt" in capsys.readouterr().err


def test_shape_params_is_the_stated_count():
    for L, d in itertools.product((2, 24, 96), (256, 2048, 12288)):
        assert shape_params(L, d) == 12 * L * d * d
        assert shape_params(L, d, vocab=1000, tied=False) == 12 * L * d * d + 2000 * d


def test_cli_shape_options_are_checked_before_any_output(tmp_path, capsys):
    """A bad --aspect/--head-dim is refused before the allocation is printed (nothing on
    stdout, one line on stderr), and shape options without --shapes are refused, not ignored."""
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"law": "chinchilla", "params": HOFFMANN}))
    base = ["allocate", str(fit), "--compute", "1e23"]
    for argv, match in [(["--shapes", "--aspect", "32"], "--aspect expects LO,HI"),
                        (["--shapes", "--head-dim", "96.5"], "whole number"),
                        (["--shapes", "--aspect", "300,100"], "LO <= HI"),
                        (["--shapes", "--head-dim", "0"], "positive"),
                        (["--shapes", "--untied"], "give --vocab"),
                        (["--aspect", "60,62"], "--aspect only applies to --shapes"),
                        (["--head-dim", "128", "--vocab", "50304"], "--head-dim, --vocab only apply to --shapes"),
                        (["--n-shapes", "3"], "--n-shapes only applies"),
                        (["--untied"], "--untied only applies")]:
        assert main(base + argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and match in err and len(err.strip().splitlines()) == 1, (argv, out, err)
    # the runs' path too (shapes of the extrapolated N_opt)
    import pandas as pd
    pd.DataFrame({"N": [1e8], "C": [1e19], "loss": [3.0]}).to_csv(tmp_path / "r.csv", index=False)
    assert main(["allocate", "--isoflop", str(tmp_path / "r.csv"), "--aspect", "32,64"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--aspect only applies to --shapes" in err
    # and the defaults still give shapes
    assert main(base + ["--shapes"]) == 0
    out = capsys.readouterr().out
    assert "d_model/n_layer in [32, 256]" in out
