"""Schedules: shapes at their corners, composition, spec grammar, areas S1/S2/S_W."""
import math

import numpy as np
import pytest

from scalelaw.errors import ScalelawError
from scalelaw.schedules import (constant, cosine, cyclic, detect_warmup, from_array, inverse_sqrt,
                                linear, momentum_areas, multistep, parse_schedule, rewarmup,
                                s1_area, s2_momentum, warmup_area, wsd)

P, F = 3e-4, 3e-5


def test_warmup_is_linspace_to_peak():
    s = constant(P, 1000, warmup=100)
    assert s(0) == 0.0
    assert s(99) == pytest.approx(P)
    assert s(50) == pytest.approx(P * 50 / 99)
    assert np.all(s(np.arange(100, 1001)) == P)
    assert detect_warmup(s.lrs()) == 100
    assert s.warmup == 100


@pytest.mark.parametrize("make", [cosine, linear])
def test_decays_hit_peak_at_warmup_end_and_final_at_total(make):
    s = make(P, 2000, final=F, warmup=200)
    assert s(200) == pytest.approx(P)
    assert s(2000) == pytest.approx(F)
    assert s(1100) == pytest.approx((P + F) / 2)       # midpoint for both shapes
    assert s(5000) == pytest.approx(F)                  # holds the end value after total
    assert np.all(np.diff(s(np.arange(200, 2001))) < 0)


def test_cosine_quarter_point():
    s = cosine(1.0, 100, final=0.0)
    assert s(25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


@pytest.mark.parametrize("shape,quarter", [
    ("linear", lambda a, b: b + (a - b) * 0.75),
    ("cosine", lambda a, b: b + (a - b) * 0.5 * (1 + math.cos(math.pi / 4))),
    ("sqrt", lambda a, b: b + (a - b) * 0.5),
    ("exp", lambda a, b: a * (b / a) ** 0.25),
])
def test_wsd_cooldown_shapes(shape, quarter):
    s = wsd(P, 10000, final=F, warmup=500, cooldown=0.2, shape=shape)
    assert s(7999) == P                                  # stable phase ends at 8000
    assert s(8000) == pytest.approx(P)
    assert s(8500) == pytest.approx(quarter(P, F))
    assert s(10000) == pytest.approx(F)


def test_wsd_cooldown_in_steps_and_exp_needs_positive_final():
    a = wsd(P, 24000, final=F, warmup=2160, cooldown=4000, shape="exp")
    # the benchmark's geometric decay lr(s) = P^((24000-s)/4000) * F^((s-20000)/4000)
    s = np.array([20000, 21000, 23999])
    assert np.allclose(a(s), P ** ((24000 - s) / 4000) * F ** ((s - 20000) / 4000))
    with pytest.raises(ScalelawError, match="positive"):
        wsd(P, 100, final=0.0, cooldown=0.5, shape="exp")(np.arange(100))
    with pytest.raises(ScalelawError, match="cooldown"):
        wsd(P, 100, cooldown=500)


def test_multistep_811():
    s = multistep(1.0, 1000)
    assert s(799) == 1.0
    assert s(800) == pytest.approx(math.sqrt(0.1))
    assert s(899) == pytest.approx(math.sqrt(0.1))
    assert s(900) == pytest.approx(0.1)
    assert s(1000) == pytest.approx(0.1)
    t = parse_schedule("multistep:peak=1,steps=1000,split=8-1-1")
    assert np.array_equal(t.lrs(), s.lrs())


def test_inverse_sqrt():
    s = inverse_sqrt(1.0, 10000, warmup=100)
    assert s(100) == pytest.approx(1.0)
    assert s(400) == pytest.approx(math.sqrt(100 / 400))
    assert s(10000) == pytest.approx(math.sqrt(100 / 10000))


def test_cyclic_and_rewarmup():
    c = cyclic(1.0, 200, final=0.1, cycles=2, rewarm=10)
    assert c(0) == 1.0 and c(99) > 0.1 and c(100) == pytest.approx(0.1)
    assert c(110) == pytest.approx(1.0) and c(200) == pytest.approx(0.1)
    r = rewarmup(1.0, 300, final=0.1, at=100, rewarm=50, peak2=0.5)
    assert r(100) == pytest.approx(0.1) and r(125) == pytest.approx(0.3)
    assert r(150) == pytest.approx(0.5) and r(300) == pytest.approx(0.1)


def test_composition_and_spec_plus():
    a = constant(P, 8000, warmup=2160) + constant(9e-5, 8000)
    b = parse_schedule("constant:peak=3e-4,steps=8000,warmup=2160+constant:lr=9e-5,steps=8000")
    assert a.total == b.total == 16000
    assert np.array_equal(a.lrs(), b.lrs())
    assert a(7999) == P and a(8000) == 9e-5 and a(16000) == 9e-5


def test_spec_matches_constructor():
    spec = "wsd:peak=3e-4,final=3e-5,steps=24000,warmup=2160,cooldown=0.2,shape=linear"
    assert np.array_equal(parse_schedule(spec).lrs(),
                          wsd(P, 24000, F, 2160, 0.2, "linear").lrs())
    assert np.array_equal(parse_schedule("cosine:peak=1e-3,steps=500,warmup=50").lrs(),
                          cosine(1e-3, 500, 0.0, 50).lrs())


@pytest.mark.parametrize("spec,needle", [
    ("wsd:peak=3e-4,stepz=10", "stepz"),
    ("wsdx:peak=1,steps=10", "unknown kind"),
    ("cosine:peak=1", "needs steps"),
    ("cosine:peak=abc,steps=10", "not a number"),
    ("cosine peak=1", "unknown kind"),
    ("wsd:peak=1,steps=100,shape=zigzag", "shape"),
    ("cosine:peak=-1,steps=10", "positive"),
])
def test_bad_spec_messages_carry_the_grammar(spec, needle):
    with pytest.raises(ScalelawError) as e:
        parse_schedule(spec)
    msg = str(e.value)
    assert needle in msg and "Grammar" in msg and "\n" not in msg


def test_file_spec_and_array(tmp_path):
    lr = np.linspace(1e-3, 1e-4, 50)
    p = tmp_path / "lr.csv"
    p.write_text("step,learning_rate\n" + "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(lr)))
    s = parse_schedule(f"file:{p}")
    assert np.allclose(s.lrs(49), lr)
    assert np.allclose(parse_schedule(str(p)).lrs(49), lr)
    assert np.allclose(parse_schedule(lr).lrs(49), lr)
    with pytest.raises(ScalelawError):
        from_array([1.0, -1.0])


def test_million_steps_vectorized():
    s = parse_schedule("wsd:peak=3e-4,final=3e-5,steps=1000000,warmup=2160,cooldown=0.2,shape=sqrt")
    v = s.lrs()
    assert v.shape == (1000001,)
    assert v[-1] == pytest.approx(F) and v.max() == pytest.approx(P)


def _naive_areas(eta, lam):
    T = len(eta) - 1
    S1 = np.zeros(T + 1)
    S2 = np.zeros(T + 1)
    m = 0.0
    for i in range(1, T + 1):
        m = 0.0 if i == 1 else lam * m + (eta[i - 1] - eta[i])
        S1[i] = S1[i - 1] + eta[i]
        S2[i] = S2[i - 1] + m
    return S1, S2


@pytest.mark.parametrize("seed", [0, 1])
def test_s1_s2_equal_naive_loop(seed):
    rng = np.random.default_rng(seed)
    eta = np.abs(rng.normal(1e-3, 3e-4, 400))
    eta[200:260] = np.linspace(1e-4, 2e-3, 60)   # a re-warmup: S2 must be able to fall
    for lam in (0.9, 0.999):
        S1, S2 = _naive_areas(eta, lam)
        _, s2 = s2_momentum(eta, lam)
        assert np.allclose(s1_area(eta), S1, rtol=1e-12, atol=0)
        assert np.allclose(s2, S2, rtol=1e-9, atol=1e-15)


def test_momentum_warmup_convention():
    W, T = 100, 1000
    warm = cosine(P, T, F, warmup=W).lrs()
    flat = np.r_[np.full(W, P), cosine(P, T, F, warmup=W).lrs()[W:]]
    S1w, S2w, Wd = momentum_areas(warm, 0.999)
    S1f, S2f, _ = momentum_areas(flat, 0.999, warmup=0)
    assert Wd == W
    assert np.allclose(S1w, S1f) and np.allclose(S2w, S2f)
    assert S1w[W] == pytest.approx(W * P)           # warmup adds W·η_max, nothing to S2
    assert S2w[W] == 0.0
    # constant schedule: no annealing at all
    S1c, S2c, _ = momentum_areas(constant(P, T, warmup=W).lrs(), 0.999)
    assert np.all(S2c == 0) and S1c[T] == pytest.approx(T * P)


def test_s2_negative_after_rewarmup_and_warmup_area():
    eta = rewarmup(1.0, 3000, final=0.1, at=1000, rewarm=500).lrs()
    _, S2 = s2_momentum(eta, 0.99)
    assert S2[1000] > 0 and np.min(np.diff(S2[1000:1500])) < 0
    assert warmup_area(constant(P, 1000, warmup=200).lrs()) == pytest.approx(0.5 * P * 200)


def test_area_in_chunks_equals_the_sum_and_huge_outputs_need_every(tmp_path, capsys):
    from scalelaw.cli import main
    from scalelaw.schedules import parse_schedule
    s = parse_schedule("wsd:peak=1e-3,final=1e-5,steps=5000,warmup=300,cooldown=0.2,shape=sqrt")
    assert s.area(chunk=777) == pytest.approx(s.lrs()[1:].sum(), rel=1e-12)
    out = tmp_path / "lr.csv"
    assert main(["schedule", "constant:peak=3e-4,steps=20000000", "--out", str(out)]) == 2
    assert "--every" in capsys.readouterr().err and not out.exists()
