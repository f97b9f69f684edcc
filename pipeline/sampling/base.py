"""What every sampler returns, and the helpers they share (forward pass counting, commit bookkeeping)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pipeline.core.numerics import entropy, gumbel_argmax
from pipeline.sampling.spec import STOPPING_SAMPLERS, Decoding


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
    positions: int = 0  # sequence positions run through the model per row, summed over forwards

    @property
    def positions_per_token(self) -> float:
        """Positions computed per committed completion token: (P+L) x NFE / L without a cache."""
        return self.positions / max(self.commit_step.shape[1], 1)

    @property
    def tokens_per_step(self) -> float:
        """Mean completion tokens committed per forward pass.

        Adaptive samplers record how many forwards each row needed (``extras["row_steps"]``): a
        batch runs until its slowest row is done, so the per-row mean is what one sequence decoded
        alone would see. Fixed-schedule samplers: gen_length / NFE.
        """
        L = self.commit_step.shape[1]
        if "row_steps" in self.extras:
            return float((L / self.extras["row_steps"].clamp_min(1).double()).mean())
        return L / max(self.nfe, 1)


class CountingModel:
    """Wraps a model so every forward pass is counted: NFE and the positions each pass ran
    (``positions``, per row of the batch) are measured, not computed from settings. ``rows``: the
    batch rows a forward runs when a sampler drops stopped rows (``Decoding.stop_id``); a pass over
    fewer rows counts that fraction of its positions."""

    def __init__(self, model, attention_mask: torch.Tensor | None, batch_size: int):
        self.model, self.attention_mask, self.batch_size = model, attention_mask, batch_size
        self.calls, self.positions, self.rows = 0, 0, None

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, logits_at: torch.Tensor | None = None, cache=None) -> torch.Tensor:
        """Logits [B, L, V], or [B, Q, V] at the positions ``logits_at`` [B, Q] (see LLaDAModelLM);
        ``cache`` a KVCache to record into or run a window of."""
        self.calls += 1
        window = None if cache is None else cache.window
        width = x.shape[1] if window is None else window[1] - window[0]
        self.positions += width if x.shape[0] == self.batch_size else width * x.shape[0] / self.batch_size
        extra = {} if logits_at is None else {"logits_at": logits_at}
        if cache is not None:
            extra["cache"] = cache
        mask = self.attention_mask
        if mask is not None and self.rows is not None:
            mask = mask[self.rows]
        return self.model(x, attention_mask=mask, **extra).logits


#: the ``cache`` option of the block samplers (their OPTIONS share this entry)
CACHE_OPTION = {
    "type": "string",
    "enum": ["none", "prefix", "dual"],
    "default": "none",
    "description": "KV cache (Fast-dLLM): none recomputes every position each step (the papers' protocols); "
    "prefix reuses the keys/values before the block, dual also those after it; refreshed at each block start",
}


class BlockForward:
    """Logits at the current block's positions under a KV cache policy (Fast-dLLM, arXiv 2505.22618).

    ``none``: every step is a full pass. ``prefix``: the block's first step is a full pass that records
    every position's keys and values; the later steps of the block run positions lo..T-1 (the block
    and the masked suffix) against the recorded prefix. ``dual``: the later steps run the block's
    positions only, against the recorded prefix and suffix. Committed tokens live in the block or
    before it, and the record is renewed at every block start, so no position's recorded keys are
    used after a token was committed there: only the block, recomputed each step, sees commits.
    """

    def __init__(self, fwd: CountingModel, cache: str, total_length: int):
        if cache not in CACHE_OPTION["enum"]:
            raise ValueError(f"cache must be one of {', '.join(CACHE_OPTION['enum'])}, got {cache!r}")
        self.fwd, self.cache, self.total = fwd, cache, total_length
        self.kv = None
        self.block = (0, 0)

    def start_block(self, lo: int, hi: int) -> None:
        """The next call refreshes the cache (a full pass) for the block lo..hi-1."""
        self.kv, self.block = None, (lo, min(hi, self.total))

    def __call__(self, x: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
        """x [B, T], at [B, N] (the block's positions) -> logits [B, N, V]."""
        if self.cache == "none":
            return self.fwd(x, logits_at=at)
        if self.kv is None:
            from pipeline.model.modeling_llada import KVCache  # the model module is heavy: only when used

            self.kv = KVCache()
            logits = self.fwd(x, logits_at=at, cache=self.kv)  # records every layer's keys and values
            lo, hi = self.block
            self.kv.window = (lo, hi if self.cache == "dual" else self.total)
            return logits
        return self.fwd(x, logits_at=at, cache=self.kv)


def refuse_stop(spec: Decoding, sampler: str) -> None:
    if spec.stop_id is not None:
        raise ValueError(f"{sampler} decodes every position: stop_id is for {', '.join(STOPPING_SAMPLERS)}")


def start_canvas(
    model, prompt: torch.Tensor, attention_mask: torch.Tensor | None, mask_id: int, gen_length: int
) -> tuple[torch.Tensor, CountingModel]:
    """[prompt, MASK * gen_length] [B, P+L] and the forward-counting model every sampler decodes with."""
    B = prompt.shape[0]
    x = torch.cat([prompt, torch.full((B, gen_length), mask_id, dtype=prompt.dtype, device=prompt.device)], 1)
    if attention_mask is not None:
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(B, gen_length)], 1)
    return x, CountingModel(model, attention_mask, B)


def quota_per_step(n_masked: torch.Tensor, steps: int) -> torch.Tensor:
    """LLaDA's even schedule: split each row's masked count over ``steps``, remainder to the first steps.

    [B] -> [B, steps], rows sum to ``n_masked``.
    """
    base = n_masked // steps
    rem = n_masked % steps
    quota = base[:, None].repeat(1, steps)
    quota += (torch.arange(steps, device=n_masked.device)[None, :] < rem[:, None]).long()
    return quota


def decode_adaptive(
    model,
    prompt: torch.Tensor,
    spec: Decoding,
    attention_mask: torch.Tensor | None,
    generator: torch.Generator | None,
    select,
    cache: str = "none",
) -> Generation:
    """Semi-AR block loop whose steps commit a *data-dependent* number of tokens (threshold, EB samplers).

    ``select(logits [B,N,V] float64, x0 [B,N], masked [B,N]) -> [B,N] bool`` picks, for the current block
    of N positions, which masked positions to commit; it must pick at least one in every row that still
    has one. A block repeats forward passes until all its rows are done (rows that finish early wait:
    one NFE is one forward of the whole batch); ``extras["row_steps"]`` [B] counts the forwards each
    row actually needed. The mask token is never sampled: committing it would leave the position masked.
    """
    refuse_stop(spec, "an adaptive sampler")
    mask_id, gen_length, block_length, temperature = spec.mask_id, spec.gen_length, spec.block_length, spec.temperature
    B, P = prompt.shape
    x, fwd = start_canvas(model, prompt, attention_mask, mask_id, gen_length)
    commit_step = torch.full((B, gen_length), -1, dtype=torch.long, device=x.device)
    commit_ent = torch.zeros(B, gen_length, dtype=torch.float64, device=x.device) if spec.track_entropy else None
    row_steps = torch.zeros(B, dtype=torch.long, device=x.device)
    block_fwd = BlockForward(fwd, cache, P + gen_length)

    for lo in range(P, P + gen_length, block_length):
        blk = slice(lo, lo + block_length)
        out = slice(lo - P, lo - P + block_length)  # the same block in completion coordinates
        at = torch.arange(lo, lo + block_length, device=x.device).expand(B, -1)  # [B, N]
        block_fwd.start_block(lo, lo + block_length)
        while (masked := x[:, blk] == mask_id).any():  # [B, N]
            # only this block can be committed: logits at its N positions (the last layer and LM head too)
            logits = block_fwd(x, at).to(torch.float64)  # [B, N, V]
            x0 = gumbel_argmax(
                logits.index_fill(-1, torch.tensor([mask_id], device=x.device), -float("inf")), temperature, generator
            )  # [B, N]
            commit = select(logits, x0, masked) & masked  # [B, N]
            if (masked.any(1) & ~commit.any(1)).any():
                raise RuntimeError("sampler selected nothing in a row with masked positions: it would never end")
            x[:, blk] = torch.where(commit, x0, x[:, blk])
            commit_step[:, out][commit] = fwd.calls - 1
            if commit_ent is not None:
                commit_ent[:, out] = torch.where(commit, entropy(logits), commit_ent[:, out])
            row_steps += masked.any(1)
    return Generation(
        sequences=x,
        nfe=fwd.calls,
        commit_step=commit_step,
        commit_entropy=commit_ent,
        extras={"row_steps": row_steps},
        positions=fwd.positions,
    )
