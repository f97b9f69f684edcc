"""The clipped GRPO objective shared by the RL methods, as a pure function of per-token tensors.

Notation follows d1 (Zhao et al. 2025, Eq. 1-3), which follows GRPO (Shao et al. 2024):
    rho = pi_theta / pi_old,  L = -mean_tokens[ min(rho A, clip(rho, 1-eps, 1+eps) A) - beta KL ]
with the k3 estimator  KL = pi_ref/pi_theta - log(pi_ref/pi_theta) - 1.
"""

from __future__ import annotations

import torch


def clipped_grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float,
    beta: float,
    normaliser: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, dict]:
    """logp, old_logp, ref_logp [B, L]; advantages [B]; mask [B, L] (1 = counted token).

    ``normaliser``: the loss is sum(per-token loss * mask) / normaliser; default the number of
    counted tokens (d1's token-level mean). Returns (scalar loss, stats).
    """
    adv = advantages[:, None]  # [B, 1]
    ratio = torch.exp(logp - old_logp)  # (1) [B, L]
    unclipped = ratio * adv  # [B, L]
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv  # [B, L]
    surrogate = torch.min(unclipped, clipped)  # (2) [B, L]
    per_token = -surrogate
    kl = torch.zeros_like(logp)
    if ref_logp is not None and beta > 0:
        delta = ref_logp - logp
        kl = torch.exp(delta) - delta - 1  # (3) k3, [B, L]
        per_token = per_token + beta * kl  # (4)
    mask = mask.to(per_token.dtype)
    denom = mask.sum().clamp_min(1) if normaliser is None else normaliser
    loss = (per_token * mask).sum() / denom  # (5)
    with torch.no_grad():
        n = mask.sum().clamp_min(1)
        stats = {
            "kl": float((kl * mask).sum() / n),
            "clip_frac": float((((ratio < 1 - clip_eps) | (ratio > 1 + clip_eps)).to(mask.dtype) * mask).sum() / n),
            "ratio_mean": float((ratio * mask).sum() / n),
        }
    return loss, stats


def completion_mask(completion: torch.Tensor, eos_id: int) -> torch.Tensor:
    """[B, L] -> [B, L] bool: tokens up to and including the first EOS (TRL/d1 convention)."""
    is_eos = completion == eos_id
    first = torch.where(
        is_eos.any(1), is_eos.float().argmax(1), torch.full_like(is_eos[:, 0], completion.shape[1], dtype=torch.long)
    )
    return torch.arange(completion.shape[1], device=completion.device)[None, :] <= first[:, None]
