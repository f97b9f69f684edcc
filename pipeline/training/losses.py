"""The masked-diffusion (LLaDA / d1 SFT) loss.

LLaDA (Nie et al. 2025, Eq. 3 pre-training, Eq. 5 SFT): sample t ~ U(0, 1] per sequence, mask each
completion token independently with probability t, and minimise
    -E[ 1/t * sum_{i masked} log p(x_i | x_t) ]
normalised by the completion length (LLaDA's SFT code divides each token's loss by the number
of completion tokens of its sequence, EOS padding included, then averages over the batch).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def forward_process(
    x: torch.Tensor, maskable: torch.Tensor, mask_id: int, eps: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask ``x`` [B, L] where ``maskable`` [B, L]; returns (noisy x, masked [B, L], p_mask [B]).

    p_mask = (1 - eps) t + eps keeps the 1/t weight finite (LLaDA's ``forward_process``).
    """
    B = x.shape[0]
    t = torch.rand(B, device=x.device, generator=generator)  # [B]
    p_mask = (1 - eps) * t + eps  # [B]
    u = torch.rand(x.shape, device=x.device, generator=generator)  # [B, L]
    masked = (u < p_mask[:, None]) & maskable  # [B, L]
    return torch.where(masked, torch.full_like(x, mask_id), x), masked, p_mask


def masked_diffusion_loss(
    logits: torch.Tensor, x: torch.Tensor, masked: torch.Tensor, p_mask: torch.Tensor, completion_len: torch.Tensor
) -> torch.Tensor:
    """logits [B, L, V], x [B, L] clean tokens, masked [B, L], p_mask [B], completion_len [B] -> scalar.

    (1) token CE on masked positions;  (2) importance weight 1/p_mask (the 1/t of Eq. 3);
    (3) divide by the sequence's completion length;  (4) mean over the batch.
    """
    ce = F.cross_entropy(logits.float().transpose(1, 2), x, reduction="none")  # (1) [B, L]
    w = masked.float() / p_mask[:, None]  # (2) [B, L]
    per_seq = (ce * w).sum(1) / completion_len.float()  # (3) [B]
    return per_seq.mean()  # (4)
