"""Confidence-threshold parallel decoding (Fast-dLLM, Wu et al. 2025, arXiv 2505.22618, Sec. 3.3).

Within the current semi-AR block, each forward pass commits every masked position whose sampled token
has probability above ``threshold``, and always at least the single most confident one, so a block of
N positions takes between 1 and N forward passes. Committed tokens are never revisited.
"""

from __future__ import annotations

import torch

from pipeline.core.numerics import token_logprobs
from pipeline.sampling.base import CACHE_OPTION, Generation, decode_adaptive
from pipeline.sampling.spec import Decoding


def select_confident(logits: torch.Tensor, x0: torch.Tensor, masked: torch.Tensor, threshold: float) -> torch.Tensor:
    """[B,N,V], [B,N], [B,N] -> [B,N] bool: masked positions with p(x0) > threshold, plus each row's best.

    Confidence is the probability of the *sampled* token under the untempered model (as in LLaDA's
    low-confidence remasking), so at temperature 0 it is the max probability.
    """
    conf = token_logprobs(logits, x0).exp().masked_fill(~masked, -1.0)  # [B, N]; -1: never chosen
    commit = masked & (conf > threshold)
    best = conf.argmax(1, keepdim=True)  # [B, 1]
    # the fallback guarantees progress when nothing is confident enough (one token per step, like AR)
    commit.scatter_(1, best, commit.gather(1, best) | masked.any(1, keepdim=True))
    return commit


OPTIONS = {
    "cache": CACHE_OPTION,
    "threshold": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 0.9,
        "description": "commit every masked position whose sampled token has p > threshold (> 1: one per step)",
    },
}


def confidence_threshold(
    model,
    prompt: torch.Tensor,
    spec: Decoding,
    *,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    threshold: float = 0.9,
    cache: str = "none",
) -> Generation:
    """Fast-dLLM threshold sampler. ``steps`` is ignored: the number of forward passes is decided by the
    model's confidence (between ``gen_length / block_length`` and ``gen_length``) and is reported as
    ``Generation.nfe``. ``threshold`` > 1 never passes and degrades to one token per step.

    ``cache``: none | prefix | dual (see :class:`pipeline.sampling.base.BlockForward`).
    """
    return decode_adaptive(
        model,
        prompt,
        spec,
        attention_mask,
        generator,
        lambda logits, x0, masked: select_confident(logits, x0, masked, threshold),
        cache,
    )
