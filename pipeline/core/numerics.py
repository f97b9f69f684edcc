"""Precision-sensitive primitives, defined once and used by samplers, losses and analyses."""

from __future__ import annotations

import torch

from pipeline.core.rng import RowGenerators, uniform


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


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities in float32 at least: bf16 log-softmax over a 126k vocabulary loses ~2 digits."""
    return torch.log_softmax(logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits, dim=-1)


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log p(tokens) under ``logits``: [..., V], [...] -> [...]."""
    return log_softmax(logits).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of softmax(logits) over the last axis: [..., V] -> [...]."""
    logp = log_softmax(logits)
    return -(logp.exp() * logp).sum(-1)
