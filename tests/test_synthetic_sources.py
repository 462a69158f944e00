"""Markov sources: exact entropies vs published values, closed forms and Monte-Carlo."""
import math

import numpy as np
import pytest

from scalelaw.errors import ScalelawError
from scalelaw.synthetic import (
    MarkovSource,
    MixtureSource,
    SwitchingSource,
    block_entropies,
    parse_source,
    stationary_distribution,
)
from scalelaw.synthetic.entropy import shannon_entropy, state_transition_matrix

# REFERENCE §7 (nats): (p, q) -> (H(pi), H_inf)
PUBLISHED = {
    (0.2, 0.3): (0.6730, 0.5446),
    (0.5, 0.8): (0.6663, 0.6190),
    (0.8, 0.8): (0.6931, 0.5004),
    (0.9, 0.9): (0.6931, 0.3251),
}


@pytest.mark.parametrize("pq", sorted(PUBLISHED))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_switching_published_values(pq, k):
    src = SwitchingSource(*pq, k=k)
    h_pi, h_inf = PUBLISHED[pq]
    assert round(src.unigram_entropy, 4) == h_pi
    assert round(src.entropy_rate, 4) == h_inf
    # closed forms agree with the general computation from the kernel
    cf = src.closed_form()
    assert src.unigram_entropy == pytest.approx(cf["unigram_entropy"], abs=1e-12)
    assert src.entropy_rate == pytest.approx(cf["entropy_rate"], abs=1e-12)
    assert src.pi[1] == pytest.approx(cf["pi1"], abs=1e-12)
    # any context shorter than k gives exactly H(pi); k symbols give H_inf; beyond stays
    h = src.conditional_entropies(max_context=k + 2)
    assert len(h) == k + 3
    np.testing.assert_allclose(h[:k], cf["unigram_entropy"], atol=1e-12)
    np.testing.assert_allclose(h[k:], cf["entropy_rate"], atol=1e-12)


def test_switching_edge_probabilities():
    s = SwitchingSource(1.0, 1.0, k=2)  # deterministic alternation per lag-2 chain
    assert s.entropy_rate == pytest.approx(0.0, abs=1e-12)
    assert s.unigram_entropy == pytest.approx(math.log(2))
    z = SwitchingSource(0.0, 0.0, k=1)  # never switches: p=q->0 limit
    assert z.entropy_rate == 0.0 and z.unigram_entropy == pytest.approx(math.log(2))
    x = z.sample(50, 20, seed=0)
    assert np.all(x == x[:, :1])


def test_stationary_distribution_and_block_entropies():
    src = MarkovSource.random(m=3, k=2, alpha=0.7, seed=4)
    mu = src.stationary
    T = state_transition_matrix(src.kernel, src.k).toarray()
    np.testing.assert_allclose(mu @ T, mu, atol=1e-12)
    assert mu.sum() == pytest.approx(1.0) and np.all(mu >= 0)
    H = src.block_entropies()
    assert H[0] == 0.0
    assert H[1] == pytest.approx(shannon_entropy(src.pi))
    h = np.diff(H)
    assert np.all(np.diff(h) <= 1e-12)  # more context never hurts
    assert h[0] == pytest.approx(src.unigram_entropy) and h[-1] == pytest.approx(src.entropy_rate)
    # brute force: H_{k+1} from the joint of (state, next symbol) enumerated explicitly
    joint = (mu[:, None] * src.kernel).ravel()
    assert H[-1] == pytest.approx(shannon_entropy(joint), abs=1e-12)
    # H_2 for k = 2 equals the entropy of mu itself
    assert H[2] == pytest.approx(shannon_entropy(mu), abs=1e-12)


def _plugin_block_entropy(x, j, m):
    if j == 0:
        return 0.0
    codes = np.zeros((x.shape[0], x.shape[1] - j + 1), dtype=np.int64)
    for i in range(j):
        codes = codes * m + x[:, i: x.shape[1] - j + 1 + i]
    counts = np.bincount(codes.ravel(), minlength=m ** j)
    return float(shannon_entropy(counts / counts.sum()))


@pytest.mark.parametrize("spec", ["markov:m=4,k=2,alpha=0.5,seed=1", "switching:p=0.2,q=0.3,k=2",
                                  "markov:m=3,k=3,alpha=1,seed=7",
                                  "mixture:0.6*switching(p=0.8,q=0.8,k=2)+0.4*markov(m=2,k=1,seed=2)"])
def test_exact_entropies_match_monte_carlo(spec):
    src = parse_source(spec)
    x = src.sample(400, 2500, seed=11).astype(np.int64)  # 1e6 symbols
    # entropy rate: mean true-kernel NLL; rows are independent -> standard error from row means
    nll = src.nll(x)
    row_means = nll.mean(axis=1)
    se = row_means.std(ddof=1) / math.sqrt(len(row_means))
    assert abs(row_means.mean() - src.entropy_rate) < 5 * se + 1e-9
    # plug-in conditional entropies from block frequencies (bias ~ m^(j+1)/(2N), tiny here)
    N = x.size
    for j, h in enumerate(src.conditional_entropies()):
        est = _plugin_block_entropy(x, j + 1, src.m) - _plugin_block_entropy(x, j, src.m)
        tol = 6 * math.sqrt(src.m ** (j + 1) / N) * 0.5 + src.m ** (j + 1) / N
        assert est == pytest.approx(h, abs=max(tol, 4e-3)), (j, est, h)


@pytest.mark.parametrize("spec", ["markov:m=4,k=2,alpha=0.5,seed=1", "markov:m=20,k=1,alpha=1,seed=3",
                                  "switching:p=0.5,q=0.8,k=3"])
def test_empirical_transition_frequencies(spec):
    src = parse_source(spec)
    x = src.sample(200, 5000, seed=3).astype(np.int64)
    s = src.states(x)[:, :-1].ravel()
    a = x[:, src.k:].ravel()
    counts = np.zeros((src.n_states, src.m))
    np.add.at(counts, (s, a), 1)
    n_s = counts.sum(axis=1)
    ok = n_s > 0
    freq = counts[ok] / n_s[ok, None]
    P = src.kernel[ok]
    sd = np.sqrt(P * (1 - P) / n_s[ok, None])
    assert np.all(np.abs(freq - P) <= 5 * sd + 1e-9)
    # state visit frequencies match mu, and the first symbol follows pi (stationary start)
    np.testing.assert_allclose(n_s / n_s.sum(), src.stationary, atol=5 * np.sqrt(0.25 / 1e6 * 50))
    first = np.bincount(x[:, 0], minlength=src.m) / x.shape[0]
    assert np.all(np.abs(first - src.pi) <= 5 * np.sqrt(src.pi * (1 - src.pi) / x.shape[0]) + 1e-9)


def test_seeds_give_identical_streams():
    src = parse_source("markov:m=4,k=2,alpha=0.5,seed=1")
    a = src.sample(64, 300, seed=5)
    b = parse_source("markov:m=4,k=2,alpha=0.5,seed=1").sample(64, 300, seed=5)
    assert a.dtype == np.uint8 and a.shape == (64, 300)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, src.sample(64, 300, seed=6))
    # same kernel seed -> same kernel; different seed -> different kernel
    np.testing.assert_array_equal(src.kernel, MarkovSource.random(4, 2, 0.5, seed=1).kernel)
    assert not np.allclose(src.kernel, MarkovSource.random(4, 2, 0.5, seed=2).kernel)
    # continuing from returned states
    x, st = src.sample(8, 10, seed=1, return_state=True)
    np.testing.assert_array_equal(st, src.states(x.astype(np.int64))[:, -1])
    y = src.sample(8, 5, seed=2, init_states=st)
    assert y.shape == (8, 5)
    assert src.sample(3, 0, seed=0).shape == (3, 0)
    assert src.sample(3, 1, seed=0).shape == (3, 1)


def test_mixture_kernel_and_lift():
    sw = SwitchingSource(0.8, 0.8, k=2)
    mk = MarkovSource.random(2, 1, 1.0, seed=2)
    mix = MixtureSource([sw, mk], [3, 1])
    assert mix.k == 2 and mix.m == 2
    s = np.arange(4)
    np.testing.assert_allclose(mix.kernel, 0.75 * sw.kernel + 0.25 * mk.kernel[s % 2])
    parsed = parse_source("mixture:0.75*switching(p=0.8,q=0.8,k=2)+0.25*markov(m=2,k=1,seed=2)")
    np.testing.assert_allclose(parsed.kernel, mix.kernel)
    assert mix.entropy_rate < mix.unigram_entropy
    with pytest.raises(ScalelawError):
        MixtureSource([sw, MarkovSource.random(3, 1)])


@pytest.mark.parametrize("spec", [
    "switching:p=1.5,q=0.3", "switching:p=0.2,q=-0.1", "switching:p=0.2,q=0.3,k=0",
    "markov:m=1,k=2", "markov:m=4,k=0", "markov:alpha=0", "markov:alpha=-2", "markov:m=2.5",
    "markov:m=4,zeta=1", "markov:m", "nonsense", "", "switching:q=0.3", "switching:p=nan,q=0.3",
    "mixture:0.5*switching(p=0.2,q=0.3", "mixture:x*markov(m=2)", "mixture:markov:m=2",
    "markov:m=1000,k=5",
])
def test_bad_source_specs(spec):
    with pytest.raises(ScalelawError) as e:
        parse_source(spec)
    assert "\n" not in str(e.value)


def test_kernel_validation():
    with pytest.raises(ScalelawError):
        MarkovSource([[0.5, 0.6], [0.5, 0.5]], k=1)
    with pytest.raises(ScalelawError):
        MarkovSource([[0.5, 0.5]], k=1)
    assert stationary_distribution(np.array([[0.9, 0.1], [0.5, 0.5]]), 1) == pytest.approx([5 / 6, 1 / 6])
    assert block_entropies(np.array([[0.9, 0.1], [0.5, 0.5]]), 1)[0] == 0
