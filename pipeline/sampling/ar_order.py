"""Autoregressive-order decoding of a masked diffusion LM (JustGRPO's rollout, arXiv 2601.15165).

One token per forward pass, strictly left to right: step t runs the same bidirectional forward
as the other samplers on [prompt, tokens < t, masks from t on] (no KV cache: later masks are
attended) and samples position t. This is LLaDA ``generate`` with ``block_length=1`` and
``steps=gen_length``, so ``spec.block_length`` and ``spec.steps`` are ignored; NFE is always ``gen_length``.

``extras["token_logprobs"]`` [B, L] is log p(sampled token) under the distribution it was drawn
from (softmax(logits / T); T = 1 when greedy): exactly the policy log-prob JustGRPO needs as
its old log-prob, recorded here so training needs no extra forward for it.

``cache`` (prefix | dual) is the AR analogue of the block samplers' KV cache: every ``cache_block``
tokens a full pass records all keys and values; until the next one, each step runs from the
last refresh point on (prefix: to the end; dual: to the end of that stretch), so the tokens
committed before it are reused from the record. The log-probs are then those of the cached
forward: a cached rollout is slightly off the policy that a full pass defines.
"""

from __future__ import annotations

import torch

from pipeline.core.numerics import entropy, gumbel_argmax, token_logprobs
from pipeline.sampling.base import CACHE_OPTION, BlockForward, Generation, refuse_stop, start_canvas
from pipeline.sampling.spec import Decoding

OPTIONS = {
    "cache": CACHE_OPTION,
    "cache_block": {
        "type": "integer",
        "minimum": 1,
        "default": 32,
        "description": "with a cache: tokens decoded between two full passes that refresh it",
    },
}


def ar_order(
    model,
    prompt: torch.Tensor,
    spec: Decoding,
    *,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    cache: str = "none",
    cache_block: int = 32,
) -> Generation:
    refuse_stop(spec, "ar_order")
    B, P = prompt.shape
    mask_id, gen_length, temperature = spec.mask_id, spec.gen_length, spec.temperature
    x, fwd = start_canvas(model, prompt, attention_mask, mask_id, gen_length)
    # position t is committed at forward t: the commit step is the position index
    commit_step = torch.arange(gen_length, device=x.device).expand(B, gen_length).clone()  # [B, L]
    commit_ent = torch.zeros(B, gen_length, dtype=torch.float64, device=x.device) if spec.track_entropy else None
    logps = []
    block_fwd = BlockForward(fwd, cache, P + gen_length)
    for t in range(gen_length):
        if t % cache_block == 0:
            block_fwd.start_block(P + t, P + t + cache_block)
        at = torch.full((B, 1), P + t, device=x.device)  # only position t is decoded this step ...
        logits = block_fwd(x, at)[:, 0]  # [B, V] ... so only its logits are computed
        tok = gumbel_argmax(logits, temperature, generator)  # [B]
        x[:, P + t] = tok
        logps.append(token_logprobs(logits / temperature if temperature > 0 else logits, tok))  # [B]
        if commit_ent is not None:
            commit_ent[:, t] = entropy(logits.to(torch.float64))
    return Generation(
        sequences=x,
        nfe=fwd.calls,
        commit_step=commit_step,
        commit_entropy=commit_ent,
        extras={"token_logprobs": torch.stack(logps, 1)},  # [B, L]
        positions=fwd.positions,
    )
