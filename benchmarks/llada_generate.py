"""A plain re-implementation of LLaDA's ``generate`` (low-confidence remasking, greedy), written from
the algorithm as the LLaDA repository runs it, for benchmarks/sampler_speed.py (and a test) to compare
the project's sampler against: every step takes logits over the whole sequence, the float64 softmax
over all of them, masks the confidences beyond the current block, and commits each row's top-k."""

from __future__ import annotations

import torch


def transfer_counts(mask_index: torch.Tensor, steps: int) -> torch.Tensor:
    """Tokens to commit per step: the block's masked count split evenly, the remainder first. [B, steps]"""
    n = mask_index.sum(dim=1, keepdim=True)
    base, rem = n // steps, n % steps
    counts = base.repeat(1, steps)
    for i in range(counts.shape[0]):
        counts[i, : int(rem[i])] += 1
    return counts


@torch.no_grad()
def llada_generate(model, prompt, steps: int, gen_length: int, block_length: int, mask_id: int) -> torch.Tensor:
    x = torch.full((prompt.shape[0], prompt.shape[1] + gen_length), mask_id, dtype=torch.long)
    x[:, : prompt.shape[1]] = prompt
    n_blocks = gen_length // block_length
    steps_per_block = steps // n_blocks
    for b in range(n_blocks):
        start, end = prompt.shape[1] + b * block_length, prompt.shape[1] + (b + 1) * block_length
        counts = transfer_counts(x[:, start:end] == mask_id, steps_per_block)
        for i in range(steps_per_block):
            mask_index = x == mask_id
            logits = model(x).logits
            x0 = torch.argmax(logits, dim=-1)
            p = torch.softmax(logits.to(torch.float64), dim=-1)
            x0_p = torch.gather(p, dim=-1, index=x0.unsqueeze(-1)).squeeze(-1)
            x0_p[:, end:] = -float("inf")
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, torch.tensor(-float("inf"), dtype=x0_p.dtype))
            transfer = torch.zeros_like(x0, dtype=torch.bool)
            for j in range(confidence.shape[0]):
                _, select = torch.topk(confidence[j], k=int(counts[j, i]))
                transfer[j, select] = True
            x[transfer] = x0[transfer]
    return x
