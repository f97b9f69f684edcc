"""diffu-GRPO (d1, Zhao et al. 2025, Sec. 3.2).

Rollouts: LLaDA's low-confidence semi-AR sampler at temperature > 0.
Log-probs: the *one-step estimator* -- mask every completion token and each prompt token
independently with p = ``p_mask_prompt``, run ONE forward pass and read log p(o_k) at every
completion position (Eq. 4-5). The random prompt mask acts as a regulariser and changes per
inner update: update k uses mask seed s_k, and old / reference / current log-probs of update k
all use that same s_k, so the ratio compares like with like.
Objective: the clipped GRPO loss with k3 KL (beta) and advantage = reward - group mean.
"""

from __future__ import annotations

import torch

from pipeline.core.numerics import token_logprobs
from pipeline.core.registry import with_defaults
from pipeline.core.rng import RowGenerators, row_seed, uniform
from pipeline.rl import Rollout
from pipeline.rl.objectives import clipped_grpo_loss, completion_mask
from pipeline.sampling.base import CACHE_OPTION
from pipeline.sampling.low_confidence import low_confidence
from pipeline.sampling.spec import Decoding

#: params section rl.methods.diffu_grpo
OPTIONS = {
    "mu": {
        "type": "integer",
        "minimum": 1,
        "description": "inner gradient updates per batch of rollouts (d1: 12 math, 8 planning)",
    },
    "beta": {
        "type": "number",
        "minimum": 0,
        "description": "weight of the k3 KL to the frozen reference (0: no reference model)",
    },
    "clip_eps": {"type": "number", "exclusiveMinimum": 0, "description": "PPO clip range of the ratio"},
    "p_mask_prompt": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "description": "probability of masking each prompt token in the one-step estimator",
    },
    "temperature": {"type": "number", "exclusiveMinimum": 0, "description": "rollout sampling temperature (d1: 0.9)"},
    "mask_prompt_pads": {
        "type": "boolean",
        "default": False,
        "description": "true: left-padding positions are masked like prompt tokens, as d1's code does",
    },
    "rollout_cache": CACHE_OPTION,
}


def one_step_logprobs(
    model,
    prompt: torch.Tensor,
    prompt_valid: torch.Tensor,
    completion: torch.Tensor,
    mask_id: int,
    p_mask_prompt: float,
    seed: int,
    rows: torch.Tensor | None = None,
    mask_pads: bool = False,
) -> torch.Tensor:
    """prompt [B, P], prompt_valid [B, P] (0 = padding), completion [B, L] -> log-probs [B, L] (d1 Eq. 4-5).

    The prompt mask of row b is drawn from its own stream keyed by (seed, rows[b]) -- its global row --
    so it does not depend on which process or micro-batch the row lands in. ``mask_pads``: d1's code
    masks left-padding positions too; by default they stay unmasked (pads are context, not prompt).
    """
    rows = torch.arange(len(prompt)) if rows is None else rows
    gens = RowGenerators([row_seed(seed, int(r)) for r in rows])
    u = uniform(prompt.shape, torch.float32, prompt.device, gens)  # [B, P]
    prompt_masked = (u < p_mask_prompt) & (prompt_valid.bool() | mask_pads)
    config = getattr(getattr(model, "module", model), "config", None)
    if getattr(config, "expert_tokens", None):  # a task-expert model routes each row by its keyword: kept visible
        keywords = torch.tensor([t for t, _ in config.expert_keywords()], device=prompt.device)
        prompt_masked &= ~torch.isin(prompt, keywords)
    x = torch.cat([prompt.masked_fill(prompt_masked, mask_id), torch.full_like(completion, mask_id)], 1)
    logits = model(x).logits[:, prompt.shape[1] :]  # [B, L, V]; pads attended, as in LLaDA
    return token_logprobs(logits, completion)  # [B, L]


class DiffuGRPO:
    name = "diffu_grpo"

    def __init__(self, rl: dict, mask_id: int, eos_id: int):
        self.rl, self.cfg = rl, with_defaults(OPTIONS, rl["options"])
        self.mask_id, self.eos_id = mask_id, eos_id
        self.mu = self.cfg["mu"]
        self.needs_reference = self.cfg["beta"] > 0

    @torch.no_grad()
    def rollout(self, model, prompt: torch.Tensor, attn: torch.Tensor, generator: torch.Generator) -> Rollout:
        rl = self.rl
        spec = Decoding(
            self.mask_id,
            rl["gen_length"],
            rl["block_length"],
            rl["diffusion_steps"],
            temperature=self.cfg["temperature"],
        )
        # pads attended, as in d1; a cached rollout is slightly off the policy (pipeline.sampling.base.BlockForward)
        out = low_confidence(model, prompt, spec, generator=generator, cache=self.cfg["rollout_cache"])
        return Rollout(out.sequences[:, prompt.shape[1] :])

    @staticmethod
    def advantages(rewards: torch.Tensor) -> torch.Tensor:
        """rewards [P, G] -> [P*G]: reward minus its group's mean (d1 does not divide by the std)."""
        return (rewards - rewards.mean(1, keepdim=True)).reshape(-1)

    @torch.no_grad()
    def prepare(
        self,
        model,
        ref_model,
        prompt: torch.Tensor,
        attn: torch.Tensor,
        rollout: Rollout,
        advantages: torch.Tensor,
        generator: torch.Generator,
    ) -> dict:
        completion = rollout.completion
        seeds = torch.randint(0, 2**31 - 1, (self.mu,), generator=generator).tolist()
        batch = dict(
            prompt=prompt,
            prompt_valid=attn,
            completion=completion,
            advantages=advantages,
            seeds=seeds,
            mask=completion_mask(completion, self.eos_id),
        )

        rows = rollout.rows if rollout.rows is not None else torch.arange(len(completion))
        batch["rows"] = rows

        def logps(m, seed):
            return one_step_logprobs(
                m,
                prompt,
                attn,
                completion,
                self.mask_id,
                self.cfg["p_mask_prompt"],
                seed,
                rows,
                self.cfg["mask_prompt_pads"],
            )

        # With mu = 1 the old policy is the current one: ratio = 1 exactly, no extra forward needed.
        batch["old"] = [logps(model, s) for s in seeds] if self.mu > 1 else None
        batch["ref"] = [logps(ref_model, s) for s in seeds] if self.needs_reference else None
        return batch

    @staticmethod
    def micro_scales(valid: torch.Tensor) -> torch.Tensor:
        """d1's trainer (TRL): token mean per micro-batch, averaged over micro-batches and processes."""
        return torch.full_like(valid, 1.0 / len(valid))

    def backward(self, model, batch: dict, k: int, backward) -> tuple[float, dict[str, float]]:
        loss, stats = self.loss(model, batch, k)
        backward(loss)
        return loss.item(), stats

    def loss(self, model, batch: dict, k: int) -> tuple[torch.Tensor, dict[str, float]]:
        """The scalar loss of inner update ``k`` on one micro-batch, and its stats."""
        logp = one_step_logprobs(
            model,
            batch["prompt"],
            batch["prompt_valid"],
            batch["completion"],
            self.mask_id,
            self.cfg["p_mask_prompt"],
            batch["seeds"][k],
            batch["rows"],
            self.cfg["mask_prompt_pads"],
        )
        old = batch["old"][k] if batch["old"] is not None else logp.detach()
        ref = batch["ref"][k] if batch["ref"] is not None else None
        return clipped_grpo_loss(
            logp, old, ref, batch["advantages"], batch["mask"], self.cfg["clip_eps"], self.cfg["beta"]
        )
