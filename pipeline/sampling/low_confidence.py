"""LLaDA's sampler: semi-autoregressive blocks, an even quota of tokens per step, low-confidence
remasking (commit the most probable predictions, never revisit a committed token).

``semi_ar_decode`` is shared with the ``random`` sampler (:mod:`pipeline.sampling.random_order`),
which commits a random subset of the masked positions instead.
"""

from __future__ import annotations

import torch

from pipeline.core.numerics import entropy, gumbel_argmax
from pipeline.sampling.base import CACHE_OPTION, BlockForward, Generation, quota_per_step, start_canvas
from pipeline.sampling.spec import Decoding

OPTIONS = {"cache": CACHE_OPTION}  # LLaDA's schedule itself is set by the Decoding spec


def semi_ar_decode(
    model,
    prompt: torch.Tensor,
    spec: Decoding,
    attention_mask: torch.Tensor | None,
    generator: torch.Generator | None,
    remasking: str,
    cache: str = "none",
) -> Generation:
    """LLaDA ``generate``: ``remasking`` is "low_confidence" or "random"; ``cache`` see BlockForward."""
    mask_id, gen_length, block_length, steps = spec.mask_id, spec.gen_length, spec.block_length, spec.steps
    temperature = spec.temperature
    n_blocks = gen_length // block_length
    if steps % n_blocks:
        raise ValueError(f"steps {steps} must be a multiple of the number of blocks {n_blocks}")
    steps_per_block = steps // n_blocks
    B, P = prompt.shape
    x, fwd = start_canvas(model, prompt, attention_mask, mask_id, gen_length)
    commit_step = torch.full((B, gen_length), -1, dtype=torch.long, device=x.device)
    commit_ent = torch.zeros(B, gen_length, dtype=torch.float64, device=x.device) if spec.track_entropy else None
    block_fwd = BlockForward(fwd, cache, P + gen_length)
    rows = None  # every row decodes; with spec.stop_id, the indices [B'] of the rows not yet stopped

    for b in range(n_blocks):
        lo, hi = P + b * block_length, P + (b + 1) * block_length
        blk, out = slice(lo, hi), slice(lo - P, hi - P)  # the block in sequence and completion coordinates
        if spec.stop_id is not None and b:
            rows = torch.arange(B, device=x.device) if rows is None else rows
            rows = rows[~(x[rows, P:lo] == spec.stop_id).any(1)]  # rows whose finished blocks hold no stop
            if len(rows) == 0:
                break
            fwd.rows = rows
        # the rows that decode this block: x itself, or a copy of the live rows written back after it
        xb, cs = (x, commit_step) if rows is None else (x[rows], commit_step[rows])
        ce = commit_ent if rows is None or commit_ent is None else commit_ent[rows]
        n = xb.shape[0]
        quota = quota_per_step((xb[:, blk] == mask_id).sum(1), steps_per_block)  # [n, S]
        at = torch.arange(lo, hi, device=x.device).expand(n, -1)  # [n, N]
        block_fwd.start_block(lo, hi)
        for s in range(steps_per_block):
            # Only the current block can be committed (earlier blocks are done, later ones wait: semi-AR),
            # so logits, sampling, confidences and entropies are taken at its N positions: O(B N V), not
            # O(B (P+L) V); the last layer and the LM head run for N positions (logits_at). In float32
            # the tokens equal a whole-sequence LLaDA generate's (tests/sampling/test_sampling.py).
            logits = block_fwd(xb, at)  # [n, N, V]
            x0 = gumbel_argmax(logits, temperature, generator)  # [n, N]
            masked = xb[:, blk] == mask_id  # [n, N]
            if remasking == "low_confidence":
                probs = torch.softmax(logits.to(torch.float64), dim=-1)  # float64 as LLaDA's generate
                score = probs.gather(-1, x0.unsqueeze(-1)).squeeze(-1)  # [n, N]
            else:  # random
                score = torch.rand(masked.shape, dtype=torch.float64, device=x.device, generator=generator)
            score = torch.where(masked, score, torch.tensor(-float("inf"), dtype=score.dtype))
            k_max = int(quota[:, s].max())
            if k_max == 0:
                continue
            top = score.topk(k_max, dim=1).indices  # [n, k_max]
            take = torch.arange(k_max, device=x.device)[None, :] < quota[:, s : s + 1]  # [n, k_max]
            commit = torch.zeros_like(masked)
            commit.scatter_(1, top, take)
            commit &= masked
            xb[:, blk] = torch.where(commit, x0, xb[:, blk])
            cs[:, out][commit] = fwd.calls - 1
            if ce is not None:
                ce[:, out] = torch.where(commit, entropy(logits.to(torch.float64)), ce[:, out])
        if rows is not None:
            x[rows], commit_step[rows] = xb, cs
            if ce is not None:
                commit_ent[rows] = ce
    return Generation(
        sequences=x, nfe=fwd.calls, commit_step=commit_step, commit_entropy=commit_ent, positions=fwd.positions
    )


def low_confidence(
    model,
    prompt: torch.Tensor,
    spec: Decoding,
    *,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    cache: str = "none",
) -> Generation:
    """Semi-AR low-confidence remasking (LLaDA ``generate``, ``remasking='low_confidence'``);
    ``cache``: none (LLaDA's), prefix or dual (Fast-dLLM), see BlockForward."""
    return semi_ar_decode(model, prompt, spec, attention_mask, generator, "low_confidence", cache)
