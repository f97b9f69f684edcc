"""numerics: the chunked log-prob / entropy paths equal the direct ones, and never upcast a whole [B, L, V]."""

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from pipeline.core import numerics
from pipeline.core.numerics import entropy, token_logprobs


def _logits(shape, dtype, seed=0):
    return (3 * torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)).to(dtype)


def _tokens(shape, V, seed=1):
    return torch.randint(0, V, shape, generator=torch.Generator().manual_seed(seed))


def _direct(logits, tokens):  # the unchunked computation, written out
    x = logits.float() if logits.dtype == torch.bfloat16 else logits
    return torch.log_softmax(x, -1).gather(-1, tokens[..., None]).squeeze(-1)


def test_small_inputs_take_exactly_the_direct_path():
    """The tiny profile (V = 48) is far below the threshold: values and gradients bit-identical."""
    for dtype in (torch.float32, torch.bfloat16):
        x = _logits((3, 7, 48), dtype).requires_grad_()
        t = _tokens((3, 7), 48)
        got, ref = token_logprobs(x, t), _direct(x, t)
        assert torch.equal(got, ref)
        w = torch.randn(3, 7)
        assert torch.equal(torch.autograd.grad((got * w).sum(), x)[0], torch.autograd.grad((ref * w).sum(), x)[0])
        logp = torch.log_softmax(x.float(), -1)
        assert torch.equal(entropy(x), -(logp.exp() * logp).sum(-1))


def test_chunked_values_equal_direct():
    V = 48
    t = _tokens((4, 5), V)
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        x = _logits((4, 5, V), dtype)
        for chunk in (V, 3 * V, 7 * V):  # 1, 3, 7 rows per chunk; 20 rows leave a ragged last chunk
            got = token_logprobs(x, t, chunk_elements=chunk)
            assert got.dtype == dtype and got.shape == (4, 5)
            assert torch.allclose(got, _direct(x, t), atol=tol, rtol=0)
            assert torch.allclose(entropy(x, chunk_elements=chunk), entropy(x), atol=tol, rtol=0)


def test_chunked_gradients_equal_autograd_of_direct():
    x = _logits((3, 6, 40), torch.float64).requires_grad_()
    t = _tokens((3, 6), 40)
    w = torch.randn(3, 6, dtype=torch.float64)
    g_chunk = torch.autograd.grad((token_logprobs(x, t, chunk_elements=80) * w).sum(), x)[0]
    g_direct = torch.autograd.grad((_direct(x, t) * w).sum(), x)[0]
    assert torch.allclose(g_chunk, g_direct, atol=1e-12, rtol=0)
    small = _logits((2, 3, 5), torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda z: token_logprobs(z, _tokens((2, 3), 5), chunk_elements=10), (small,))


def test_bf16_in_float32_out_and_non_contiguous_slices():
    """d1's caller passes ``logits[:, P:]`` of bf16 logits: float32 out, bf16 gradient into the full tensor."""
    full = _logits((2, 9, 32), torch.bfloat16).requires_grad_()
    x, t = full[:, 4:], _tokens((2, 5), 32)
    got = token_logprobs(x, t, chunk_elements=64)
    assert got.dtype == torch.float32
    assert torch.allclose(got, _direct(x, t), atol=1e-5, rtol=0)
    g = torch.autograd.grad(got.sum(), full)[0]
    assert g.dtype == torch.bfloat16
    ref = torch.autograd.grad(_direct(x, t).sum(), full)[0]
    assert torch.allclose(g.float(), ref.float(), atol=1e-2, rtol=0)  # both rounded to bf16
    assert g[:, :4].abs().sum() == 0


class _LargestFloatTensor(TorchDispatchMode):
    """Records the element count of the largest float32 / float64 tensor any op (forward or backward) makes."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, torch.Tensor) and o.dtype in (torch.float32, torch.float64):
                self.largest = max(self.largest, o.numel())
        return out


def _largest_upcast(chunk_elements):
    """One d1 micro-batch at LLaDA-8B's vocabulary, forward + backward, on the meta device (no memory)."""
    B, L, V = 6, 256, 126464
    x = torch.empty(B, L, V, dtype=torch.bfloat16, device="meta", requires_grad=True)
    t = torch.zeros(B, L, dtype=torch.long, device="meta")
    with _LargestFloatTensor() as mode:
        token_logprobs(x, t, chunk_elements=chunk_elements).sum().backward()
    return mode.largest, B * L * V


def test_no_full_size_upcast_at_paper_scale():
    largest, full = _largest_upcast(None)
    assert full > 2 * numerics.CHUNK_ELEMENTS  # a real d1 micro-batch is over the threshold
    assert 0 < largest <= numerics.CHUNK_ELEMENTS
    # the detector sees the full-size upcast when the threshold is lifted (the direct path)
    assert _largest_upcast(10 * full)[0] == full
