"""The GPT's parameter/FLOP counts and the chunked cross-entropy against F.cross_entropy."""
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from scalelaw.errors import ScalelawError  # noqa: E402
from scalelaw.train.loss import chunked_cross_entropy  # noqa: E402
from scalelaw.train.model import GPT, GPTConfig  # noqa: E402


@pytest.mark.parametrize("L,H,D,T,V,tied", [(1, 1, 8, 16, 2, True), (2, 2, 32, 64, 64, True),
                                            (3, 4, 48, 32, 300, False), (4, 8, 256, 256, 2, True)])
def test_param_counts_match_module(L, H, D, T, V, tied):
    cfg = GPTConfig(L, H, D, T, V, tied)
    model = GPT(cfg)
    real = sum(p.numel() for p in model.parameters())   # parameters() yields a tied tensor once
    assert cfg.n_params_total == real == model.count_params()["total"]
    emb = model.wte.weight.numel() + model.wpe.weight.numel() + (0 if tied else model.lm_head.weight.numel())
    assert cfg.n_params_nonembed == real - emb
    # Kaplan's 12 L d^2 is the leading term; biases and LayerNorms add 13 L d + 2 d
    assert cfg.n_params_nonembed - 12 * L * D * D == 13 * L * D + 2 * D
    assert cfg.flops_per_token == 6 * (cfg.n_params_nonembed + V * D) + 12 * L * T * D
    assert (model.lm_head.weight is model.wte.weight) == tied


def test_model_shapes_and_causality():
    torch.manual_seed(0)
    m = GPT(GPTConfig(2, 2, 16, 8, 5))
    x = torch.randint(0, 5, (3, 8))
    y = m(x)
    assert y.shape == (3, 8, 5)
    x2 = x.clone()
    x2[:, 5:] = (x2[:, 5:] + 1) % 5        # the future does not change earlier outputs
    assert torch.equal(m(x2)[:, :5], y[:, :5])
    assert not torch.allclose(m(x2)[:, 5:], y[:, 5:])
    with pytest.raises(ScalelawError, match="exceeds the model context"):
        m(torch.zeros(1, 9, dtype=torch.long))


def test_config_checks():
    with pytest.raises(ScalelawError, match="not divisible by n_head"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ScalelawError, match="n_layer"):
        GPTConfig(n_layer=0)


def _case(N=203, d=12, V=37, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, d, generator=g, dtype=dtype, requires_grad=True)
    W = torch.randn(V, d, generator=g, dtype=dtype, requires_grad=True)
    y = torch.randint(0, V, (N,), generator=g)
    y[::7] = -100
    return h, W, y


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("chunk", [1, 16, 1000])
def test_chunked_ce_equals_cross_entropy(reduction, eps, chunk):
    h, W, y = _case()
    a = chunked_cross_entropy(h, W, y, label_smoothing=eps, reduction=reduction, chunk_rows=chunk)
    b = F.cross_entropy(h @ W.t(), y, label_smoothing=eps, reduction=reduction)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    g = torch.randn_like(a)
    ga = torch.autograd.grad(a, (h, W), g)
    gb = torch.autograd.grad(b, (h, W), g)
    for u, v in zip(ga, gb):
        torch.testing.assert_close(u, v, rtol=1e-5, atol=1e-5)   # float32 rounding; float64 below
    if reduction == "none":
        assert torch.all(a[y == -100] == 0)


def test_chunked_ce_other_ignore_index_and_float64_exact():
    h, W, y = _case(dtype=torch.float64)
    y[y == -100] = 3
    a = chunked_cross_entropy(h, W, y, ignore_index=3, chunk_rows=10)
    b = F.cross_entropy(h @ W.t(), y, ignore_index=3)
    assert abs(float((a - b).detach())) < 1e-12
    ga = torch.autograd.grad(a, (h, W))
    gb = torch.autograd.grad(b, (h, W))
    assert max(float((u - v).abs().max()) for u, v in zip(ga, gb)) < 1e-12


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_chunked_ce_gradcheck_float64(eps):
    h, W, y = _case(N=11, d=4, V=6, dtype=torch.float64, seed=1)
    assert torch.autograd.gradcheck(
        lambda h, W: chunked_cross_entropy(h, W, y, label_smoothing=eps, chunk_rows=3), (h, W))
    assert torch.autograd.gradcheck(
        lambda h, W: chunked_cross_entropy(h, W, y, reduction="none", chunk_rows=4), (h, W))


def test_chunked_ce_batched_shape_and_only_h_grad():
    h, W, y = _case(N=24)
    h3 = h.detach().reshape(2, 12, -1).requires_grad_(True)
    a = chunked_cross_entropy(h3, W.detach(), y.reshape(2, 12), reduction="none", chunk_rows=5)
    assert a.shape == (2, 12)
    a.sum().backward()
    assert h3.grad is not None and h3.grad.shape == h3.shape
