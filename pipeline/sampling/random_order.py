"""Random-order remasking: LLaDA's schedule, but the positions committed each step are drawn uniformly
at random among the masked ones of the current block (LLaDA ``generate``, ``remasking='random'``)."""

from __future__ import annotations

import torch

from pipeline.sampling.base import CACHE_OPTION, Generation
from pipeline.sampling.low_confidence import semi_ar_decode
from pipeline.sampling.spec import Decoding

OPTIONS = {"cache": CACHE_OPTION}


def random_order(
    model,
    prompt: torch.Tensor,
    spec: Decoding,
    *,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    cache: str = "none",
) -> Generation:
    return semi_ar_decode(model, prompt, spec, attention_mask, generator, "random", cache)
