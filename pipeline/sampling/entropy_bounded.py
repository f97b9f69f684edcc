"""Entropy-bounded (EB) sampler (Ben-Hamu et al. 2025, "Accelerated Sampling from Masked Diffusion
Models via Entropy Bounded Unmasking", arXiv 2505.24857).

Unmasking a set U in one step samples its tokens independently; the KL to the model's joint is bounded
by sum_{l in U} H(p_l) - max_{l in U} H(p_l). Each step therefore sorts the masked positions of the
current semi-AR block by entropy (ascending) and commits the largest prefix whose summed entropy minus
its largest entropy is <= ``gamma`` (nats), at least one position. gamma = 0 commits one token per step
(unless several are exactly deterministic); a huge gamma commits a whole block per step.
"""

from __future__ import annotations

import torch

from pipeline.core.numerics import entropy
from pipeline.sampling.base import CACHE_OPTION, Generation, decode_adaptive
from pipeline.sampling.spec import Decoding


def select_entropy_bounded(logits: torch.Tensor, masked: torch.Tensor, gamma: float) -> torch.Tensor:
    """[B,N,V], [B,N] -> [B,N] bool: the maximal low-entropy prefix within the EB bound, per row."""
    ent = entropy(logits).masked_fill(~masked, float("inf"))  # [B, N]; unmasked sort last
    ent_sorted, order = ent.sort(dim=1, stable=True)  # [B, N]
    in_play = masked.gather(1, order)  # [B, N] masked positions come first
    ent_sorted = ent_sorted.masked_fill(~in_play, 0.0)
    # in an ascending prefix of length k the max is its last entry, so sum - max = sum of the first k-1;
    # that is non-decreasing in k, hence the admissible prefixes are exactly those with this sum <= gamma
    before = torch.cumsum(ent_sorted, 1).roll(1, 1)  # [B, N] summed entropy strictly before each rank
    before[:, 0] = 0.0
    take = in_play & (before <= gamma)  # rank 0 has before = 0: at least one per unfinished row
    return torch.zeros_like(masked).scatter(1, order, take)


OPTIONS = {
    "cache": CACHE_OPTION,
    "gamma": {
        "type": "number",
        "minimum": 0,
        "default": 0.1,
        "description": "entropy budget per step in nats: 0 commits one token per step, large a whole block",
    },
}


def entropy_bounded(
    model,
    prompt: torch.Tensor,
    spec: Decoding,
    *,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    gamma: float = 0.1,
    cache: str = "none",
) -> Generation:
    """EB sampler over semi-AR blocks. ``steps`` is ignored: the entropy budget ``gamma`` (nats) decides
    how many tokens each forward pass commits; the passes actually run are ``Generation.nfe``. Entropies
    are those of the untempered model distribution; tokens are sampled at ``temperature``.

    ``cache``: none | prefix | dual (see :class:`pipeline.sampling.base.BlockForward`).
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0 nats, got {gamma}")
    return decode_adaptive(
        model,
        prompt,
        spec,
        attention_mask,
        generator,
        lambda logits, x0, masked: select_entropy_bounded(logits, masked, gamma),
        cache,
    )
