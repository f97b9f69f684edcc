"""Precision-sensitive primitives, defined once and used by samplers, losses and analyses.

Precision of each primitive:

* ``gumbel_argmax``: float64 (Gumbel noise in lower precision truncates the tail; see there).
* ``log_softmax``, ``token_logprobs``, ``entropy``: at least float32. bf16 / fp16 logits are upcast
  to float32 (bf16 log-softmax over a 126k vocabulary loses ~2 digits); float32 and float64 inputs
  are computed at their own precision (the tiny profile runs float32, tests use float64; samplers
  that want float64 entropies pass float64 logits).

Memory. At LLaDA's V = 126464 an upcast [B, L, V] costs 4 B per element: one d1 micro-batch
(6 x 256 completion positions) is 0.78 GB in float32, and autograd keeps log_softmax's float32
output for the backward pass. ``token_logprobs`` and ``entropy`` therefore work on the rows of
the flattened [B*L, V] in chunks of ``CHUNK_ELEMENTS // V`` rows once the input has more than
``CHUNK_ELEMENTS`` = 2**26 elements, so no float32 temporary exceeds 2**26 elements (256 MB),
whatever B and L. 2**26 is ~530 rows at V = 126464: large enough that the loop costs nothing next
to an 8B forward, small enough to be negligible next to the weights. At or below the threshold --
the whole tiny profile (V = 48) -- the code is exactly the unchunked computation, bit for bit.

The chunked ``token_logprobs`` is an autograd Function: its forward keeps only the per-row
logsumexp (float32, [B*L]) besides the logits it was given, and its backward recomputes the
softmax chunk by chunk (d log p(y) / d x_j = 1[j = y] - softmax_j). The gradient w.r.t. the
logits is [B, L, V] in the logits' own dtype, as for any loss on them. Chunked values equal the
direct ones up to rounding (x_y - logsumexp(x) instead of log_softmax(x)[y]).
"""

from __future__ import annotations

import torch

from pipeline.core.rng import RowGenerators, uniform

#: inputs with more elements than this are processed in row chunks of at most this many elements
CHUNK_ELEMENTS = 2**26


def gumbel_argmax(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | RowGenerators | None = None
) -> torch.Tensor:
    """Sample argmax(logits / T + Gumbel) ~ softmax(logits / T); T = 0 is greedy argmax.

    Computed in float64: with float32 (or bf16) Gumbel noise the tail of the distribution is
    truncated and low-probability tokens are under-sampled (noted by the LLaDA authors).
    """
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.to(torch.float64)
    u = uniform(logits.shape, torch.float64, logits.device, generator)  # per-row streams allowed (core.rng)
    gumbel = -torch.log(-torch.log(u.clamp_min(1e-300)))
    return (logits / temperature + gumbel).argmax(dim=-1)


def _at_least_float32(logits: torch.Tensor) -> torch.Tensor:
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities in float32 at least: bf16 log-softmax over a 126k vocabulary loses ~2 digits.

    Unchunked: it returns the full [..., V]; use ``token_logprobs`` / ``entropy`` on long sequences.
    """
    return torch.log_softmax(_at_least_float32(logits), dim=-1)


def _rows_per_chunk(vocab: int, chunk_elements: int | None) -> int:
    return max(1, (chunk_elements or CHUNK_ELEMENTS) // vocab)


class _ChunkedTokenLogprobs(torch.autograd.Function):
    """logits [N, V], tokens [N] -> log p(tokens) [N], computed ``rows`` rows at a time (module docstring)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, tokens: torch.Tensor, rows: int) -> torch.Tensor:
        lse = torch.cat([torch.logsumexp(_at_least_float32(c), dim=-1) for c in logits.split(rows)])  # [N]
        picked = _at_least_float32(logits.gather(1, tokens[:, None]).squeeze(1))  # exact upcast of N values
        ctx.save_for_backward(logits, tokens, lse)
        ctx.rows = rows
        return picked - lse

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        logits, tokens, lse = ctx.saved_tensors
        grad = torch.empty_like(logits, memory_format=torch.contiguous_format)
        for c, g, t, s, out in zip(*(x.split(ctx.rows) for x in (logits, grad_out, tokens, lse, grad)), strict=True):
            p = torch.sub(_at_least_float32(c), s[:, None]).exp_()  # softmax of the chunk, [rows, V]
            p.mul_(-g[:, None]).scatter_add_(1, t[:, None], g[:, None])  # g * (onehot - softmax)
            out.copy_(p)  # cast to the logits' dtype, like the direct path's ToCopyBackward
        return grad, None, None


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor, *, chunk_elements: int | None = None) -> torch.Tensor:
    """log p(tokens) under ``logits``: [..., V], [...] -> [...], float32 at least; differentiable.

    Inputs above ``chunk_elements`` (default ``CHUNK_ELEMENTS``) elements go through the chunked
    path; a non-viewable input (e.g. ``logits[:, P:]``) is then flattened by one copy in its own dtype.
    """
    if logits.numel() <= (chunk_elements or CHUNK_ELEMENTS):
        return log_softmax(logits).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # the direct path
    V = logits.shape[-1]
    flat = _ChunkedTokenLogprobs.apply(logits.reshape(-1, V), tokens.reshape(-1), _rows_per_chunk(V, chunk_elements))
    return flat.view(tokens.shape)


def _entropy(logits: torch.Tensor) -> torch.Tensor:
    logp = log_softmax(logits)
    return -(logp.exp() * logp).sum(-1)


def entropy(logits: torch.Tensor, *, chunk_elements: int | None = None) -> torch.Tensor:
    """Entropy in nats of softmax(logits) over the last axis: [..., V] -> [...].

    Chunked like ``token_logprobs`` above ``chunk_elements``; plain autograd (only samplers and
    analyses call it, without gradients), so under autograd each chunk's temporaries are kept.
    """
    if logits.numel() <= (chunk_elements or CHUNK_ELEMENTS):
        return _entropy(logits)  # the direct path
    V = logits.shape[-1]
    flat = torch.cat([_entropy(c) for c in logits.reshape(-1, V).split(_rows_per_chunk(V, chunk_elements))])
    return flat.view(logits.shape[:-1])
