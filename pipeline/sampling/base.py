"""What every sampler returns, and the helpers they share (forward pass counting, commit bookkeeping)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Generation:
    """Result of decoding a batch.

    ``sequences``  [B, P+L] prompt and completion token ids
    ``nfe``        forward passes run (each over the whole batch)
    ``commit_step`` [B, L] the step (0-based forward index) at which each completion position was committed
    ``commit_entropy`` [B, L] entropy (nats) of the predictive distribution at that step, if tracked
    """

    sequences: torch.Tensor
    nfe: int
    commit_step: torch.Tensor
    commit_entropy: torch.Tensor | None = None
    extras: dict = field(default_factory=dict)

    @property
    def tokens_per_step(self) -> float:
        """Mean completion tokens committed per forward pass."""
        return self.commit_step.shape[1] / max(self.nfe, 1)


class CountingModel:
    """Wraps a model so every forward pass is counted: NFE is measured, not computed from settings."""

    def __init__(self, model, attention_mask: torch.Tensor | None):
        self.model, self.attention_mask, self.calls = model, attention_mask, 0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.model(x, attention_mask=self.attention_mask).logits


def quota_per_step(n_masked: torch.Tensor, steps: int) -> torch.Tensor:
    """LLaDA's even schedule: split each row's masked count over ``steps``, remainder to the first steps.

    [B] -> [B, steps], rows sum to ``n_masked``.
    """
    base = n_masked // steps
    rem = n_masked % steps
    quota = base[:, None].repeat(1, steps)
    quota += (torch.arange(steps, device=n_masked.device)[None, :] < rem[:, None]).long()
    return quota
