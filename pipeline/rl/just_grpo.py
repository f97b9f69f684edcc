"""JustGRPO ("The Flexibility Trap", arXiv 2601.15165): plain GRPO on a masked diffusion LM used as
an autoregressive policy.

Policy: pi(o_t | q, o_<t) = softmax(f(x_t)[P + t] / T) with x_t = [q, o_<t, MASK from t on] -- the
bidirectional model reads the prompt, the tokens already sampled and masks for the future, so
each position's log-prob is exact (no one-step / ELBO estimator), at the cost of one input per
position.
Rollouts: the ``ar_order`` sampler at ``rl.methods.just_grpo.temperature`` (paper 1.0; ``rollout_cache``: its
KV cache, refreshed every ``rl.block_length`` tokens), the full ``gen_length`` kept:
positions after the first EOS (LLaDA's EOS padding) are actions too and enter the loss, as in the
reference. Its per-step log-probs are the old log-probs, so no forward is spent on them.
Advantages: A_i = (r_i - mean_G) / (std_G + 1e-4) (unbiased std, as ``torch.std``).
Objective (no KL, no reference model), numbered as in the code below (standard GRPO, as the paper
uses it; the numbers are this module's):
    (1) rho_{i,t} = pi_theta(o_{i,t}) / pi_old(o_{i,t})
    (2) s_{i,t}   = min(rho A_i, clip(rho, 1 - eps, 1 + eps) A_i)
    (3) J         = -sum_{i,t} s_{i,t} / (L * (N_valid + 1e-5)),  N_valid = #{i : A_i != 0} in the batch

Normalisation, checked against LeapLabTHU/JustGRPO ``grpo.py::logprob_loss``: each rank scales its
summed per-token losses by ``1 / gen_length / (valid + 1e-5)`` where ``valid`` is the mean over
ranks of each rank's count of non-zero-advantage samples, with no EOS mask. DDP then averages
gradients over the W ranks, so one micro-batch's gradient is sum_{all ranks, i, t} / (L * total
count) -- (3) over our single batch. The reference sums 8 such micro-batches per optimiser step
(``utils/distributed``'s accelerator setup is not in the public repo, so whether it also divides
by 8 is unknown); that constant factor only matters through grad-norm clipping under Adam. Its
ratio is ``exp(lp - lp.detach())`` (on-policy, mu = 1, exactly 1); ours uses the rollout's recorded
log-prob, so rho = 1 up to float rounding at mu = 1 and is a true PPO ratio for mu > 1.

Speed: the reference runs one forward + backward per position, serially, over one prompt's 8
rollouts at a time (``serial_gradient(chunk=8)`` here, used by the tests and the benchmark).
``stacked_gradient`` gives the same gradient with (a) ``positions_per_pass`` positions stacked
along the batch axis per forward + backward, (b) samples with A_i = 0 dropped: their surrogate is
min(rho * 0, clip(rho) * 0) = 0 for every rho, so their gradient is exactly zero (N_valid still
counts over the whole batch), (c) identical inputs within a pass run once (shared prefixes and
duplicate rollouts of a prompt), and (d) only the read position's logits computed
(``logits_at``): the last block runs one query and one MLP row per input instead of P + L.
(a) pays off where one position's batch underfills the device; on a CPU the time is about
proportional to the rows run, so there the gain is (b), (c) and (d) -- see
benchmarks/just_grpo_speed.py. Each pass's gradient is taken at once, so only one pass's
activations are alive, as with the reference's per-position backward.
"""

from __future__ import annotations

import torch

from pipeline.core.numerics import token_logprobs
from pipeline.core.registry import with_defaults
from pipeline.rl import Rollout
from pipeline.rl.objectives import clipped_grpo_loss
from pipeline.sampling.ar_order import ar_order
from pipeline.sampling.base import CACHE_OPTION
from pipeline.sampling.spec import Decoding

#: params section rl.methods.just_grpo
OPTIONS = {
    "mu": {
        "type": "integer",
        "minimum": 1,
        "description": "inner gradient updates per batch of rollouts (JustGRPO: 1)",
    },
    "clip_eps": {"type": "number", "exclusiveMinimum": 0, "description": "PPO clip range of the ratio"},
    "positions_per_pass": {
        "type": "integer",
        "minimum": 1,
        "description": "AR positions stacked along the batch per forward+backward (speed and memory only)",
    },
    "temperature": {
        "type": "number",
        "exclusiveMinimum": 0,
        "description": "AR rollout sampling temperature (JustGRPO: 1.0)",
    },
    "reference_ranks": {
        "type": "integer",
        "minimum": 1,
        "default": 1,
        "description": "processes the reference ran concurrently (8): sets how micro-batch losses combine",
    },
    "rollout_cache": CACHE_OPTION,  # refreshed every rl.block_length tokens
}


# ----------------------------------------------------------------------------------------- log-probs


def position_inputs(
    prompt: torch.Tensor, completion: torch.Tensor, positions: torch.Tensor, mask_id: int
) -> torch.Tensor:
    """prompt [B, P], completion [B, L], positions [K] -> inputs [K*B, P+L].

    Row k*B + b is [prompt_b, completion_b[:t_k], MASK * (L - t_k)]: exactly the rollout's input at step t_k.
    """
    K, L = len(positions), completion.shape[1]
    seen = torch.arange(L, device=completion.device)[None, :] < positions[:, None]  # [K, L]
    comp = torch.where(seen[:, None, :], completion[None], mask_id)  # [K, B, L]
    return torch.cat([prompt[None].expand(K, -1, -1), comp], 2).reshape(K * prompt.shape[0], -1)  # [K*B, P+L]


def position_logprobs(
    model, prompt: torch.Tensor, completion: torch.Tensor, positions: torch.Tensor, mask_id: int, temperature: float
) -> torch.Tensor:
    """log pi(o_t | q, o_<t) for t in ``positions``, all in ONE forward over the K*B inputs -> [B, K].

    Identical inputs -- every rollout of a prompt at t = 0, rollouts sharing a prefix, duplicate
    rollouts -- are run once: indexing the unique rows back sums their gradients, so the result
    is the same as running every row. Only the read position's logits are computed
    (``logits_at``): the last block runs one query per row instead of P + L.
    """
    K, (B, P) = len(positions), prompt.shape
    x = position_inputs(prompt, completion, positions, mask_id)  # [K*B, P+L]
    cols = (P + positions).repeat_interleave(B)  # [K*B]: row k*B + b reads position P + t_k
    keyed = torch.cat([x, cols[:, None]], 1)  # the read position is part of what makes a row unique
    unique, inverse = torch.unique(keyed, dim=0, return_inverse=True)  # [U, P+L+1], [K*B]
    logits = model(unique[:, :-1], logits_at=unique[:, -1:]).logits[:, 0]  # [U, V]
    tokens = completion[:, positions].T.reshape(-1)  # [K*B]
    return token_logprobs(logits[inverse] / temperature, tokens).view(K, B).T  # [B, K]


# ----------------------------------------------------------------------------------------- gradients


def _params(model) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def _accumulate(grads: list[torch.Tensor], loss: torch.Tensor, params: list[torch.Tensor]) -> None:
    for g, d in zip(grads, torch.autograd.grad(loss, params, allow_unused=True)):
        if d is not None:
            g += d


def _normaliser(advantages: torch.Tensor, L: int) -> float:
    return L * (float((advantages != 0).sum()) + 1e-5)  # (3), counted over the whole batch


def serial_gradient(
    model,
    prompt,
    completion,
    old_logp,
    advantages,
    mask_id: int,
    temperature: float,
    clip_eps: float,
    chunk: int | None = None,
) -> tuple[float, list[torch.Tensor]]:
    """The reference's loop: for each position t, one forward + backward over the samples.

    prompt [B, P], completion [B, L], old_logp [B, L], advantages [B] -> (loss value, grads like params).
    ``chunk``: rows per pass. The reference calls its loop once per ``num_generations`` (8) rollouts
    of one prompt -- its micro-batch -- so ``chunk=8`` is its exact schedule; None runs all B rows
    in every pass (a stronger baseline on hardware that a bigger batch helps).
    """
    B, P = prompt.shape
    L = completion.shape[1]
    params, norm = _params(model), _normaliser(advantages, L)  # N_valid over the whole batch, as the reference
    grads = [torch.zeros_like(p) for p in params]
    total = 0.0
    for rows in torch.arange(B, device=completion.device).split(chunk or B):
        for t in range(L):
            at = torch.tensor([t], device=completion.device)
            x = position_inputs(prompt[rows], completion[rows], at, mask_id)  # [b, P+L]
            logp = token_logprobs(model(x).logits[:, P + t] / temperature, completion[rows, t])  # [b]
            ratio = torch.exp(logp - old_logp[rows, t])  # (1)
            adv = advantages[rows]
            surrogate = torch.min(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv)  # (2)
            loss = -surrogate.sum() / norm  # (3), this position's share
            _accumulate(grads, loss, params)
            total += loss.item()
    return total, grads


def stacked_passes(
    model,
    prompt,
    completion,
    old_logp,
    advantages,
    mask_id: int,
    temperature: float,
    clip_eps: float,
    positions_per_pass: int,
    backward,
) -> tuple[float, dict]:
    """``serial_gradient``'s loss with ``positions_per_pass`` positions per forward and zero-advantage
    samples skipped; ``backward(loss)`` is called on each pass's share, so only one pass's activations
    are alive. Returns (loss value, stats).

    Every call runs the same ceil(L / positions_per_pass) passes: when no sample of the micro-batch
    has A != 0, one is kept (its surrogate, and so its gradient, is exactly 0), because the processes
    of a multi-process run must run the same forwards and backwards (DDP, FSDP collectives).
    """
    L = completion.shape[1]
    norm = _normaliser(advantages, L)
    keep = advantages != 0  # [B]; dropped rows contribute exactly 0 (module docstring)
    valid_frac = float(keep.float().mean())
    if not keep.any():
        keep[0] = True
    prompt, completion, old_logp, advantages = prompt[keep], completion[keep], old_logp[keep], advantages[keep]
    total, n_tok, clipped, ratio_sum = 0.0, 0, 0.0, 0.0
    for t0 in range(0, L, positions_per_pass):
        positions = torch.arange(t0, min(t0 + positions_per_pass, L), device=completion.device)  # [K]
        logp = position_logprobs(model, prompt, completion, positions, mask_id, temperature)  # [B', K]
        counted = torch.ones_like(logp, dtype=torch.bool)  # every position counts, EOS padding included
        loss, st = clipped_grpo_loss(
            logp, old_logp[:, positions], None, advantages, counted, clip_eps, 0.0, normaliser=norm
        )  # (1)-(3) on this pass's share
        backward(loss)
        total += loss.item()
        n_tok += logp.numel()
        clipped += st["clip_frac"] * logp.numel()
        ratio_sum += st["ratio_mean"] * logp.numel()
    stats = {"valid_frac": valid_frac, "clip_frac": clipped / n_tok, "ratio_mean": ratio_sum / n_tok}
    return total, stats


def stacked_gradient(model, *args, **kwargs) -> tuple[float, list[torch.Tensor], dict]:
    """``stacked_passes`` (same arguments, without ``backward``) with the gradient returned instead of
    accumulated in ``.grad``: (loss value, grads like the trainable params, stats)."""
    params = _params(model)
    grads = [torch.zeros_like(p) for p in params]
    total, stats = stacked_passes(model, *args, **kwargs, backward=lambda loss: _accumulate(grads, loss, params))
    return total, grads, stats


# ----------------------------------------------------------------------------------------- method


class JustGRPO:
    name = "just_grpo"
    needs_reference = False  # no KL term

    def __init__(self, rl: dict, mask_id: int, eos_id: int):
        self.rl, self.cfg = rl, with_defaults(OPTIONS, rl["options"])
        self.mask_id, self.eos_id = mask_id, eos_id
        self.mu = self.cfg["mu"]
        if self.cfg["temperature"] <= 0:
            raise ValueError("just_grpo needs sampled rollouts: rl.methods.just_grpo.temperature must be > 0")

    @torch.no_grad()
    def rollout(self, model, prompt: torch.Tensor, attn: torch.Tensor, generator: torch.Generator) -> Rollout:
        # attn is not passed: pads are attended, as everywhere in the project (batches.left_pad)
        L = self.rl["gen_length"]
        out = ar_order(
            model,
            prompt,
            Decoding(self.mask_id, L, 1, L, temperature=self.cfg["temperature"]),
            generator=generator,
            cache=self.cfg["rollout_cache"],
            cache_block=self.rl["block_length"],
        )
        # the rollout's own per-step log-probs are pi_old: prepare needs no forward for them (with a
        # cache they are the cached forward's, so rho at the first update measures the cache's error)
        return Rollout(out.sequences[:, prompt.shape[1] :], {"token_logprobs": out.extras["token_logprobs"]})

    @staticmethod
    def advantages(rewards: torch.Tensor) -> torch.Tensor:
        """rewards [P, G] -> [P*G]: (r - group mean) / (group std + 1e-4).

        Groups whose rewards are all equal get exactly 0: the float mean of equal non-dyadic rewards
        (e.g. 0.1) can miss them by ~1e-17, which / 1e-4 would count the group as 'valid' in (3).
        """
        adv = (rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + 1e-4)
        flat = (rewards == rewards[:, :1]).all(1, keepdim=True)
        return adv.masked_fill(flat, 0.0).reshape(-1)

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
        old = rollout.extras.get("token_logprobs")  # [B, L] pi_old at every step of the rollout
        if old is None:  # completions from elsewhere: one no-grad stacked pass over all positions
            positions = torch.arange(completion.shape[1], device=completion.device)
            old = position_logprobs(model, prompt, completion, positions, self.mask_id, self.cfg["temperature"])
        return dict(prompt=prompt, completion=completion, advantages=advantages, old=old)

    def _pass_args(self, batch: dict) -> tuple:
        return (
            batch["prompt"],
            batch["completion"],
            batch["old"],
            batch["advantages"],
            self.mask_id,
            self.cfg["temperature"],
            self.cfg["clip_eps"],
            self.cfg["positions_per_pass"],
        )

    def gradient(self, model, batch: dict) -> tuple[float, list[torch.Tensor], dict]:
        """(loss value, gradient like the trainable params, stats) of one micro-batch, ``.grad`` untouched."""
        return stacked_gradient(model, *self._pass_args(batch))

    def micro_scales(self, valid: torch.Tensor) -> torch.Tensor:
        """The reference's combination (``grpo.py`` under a plain Accelerator and DDP): each of R =
        ``reference_ranks`` concurrent micro-batches is normalised by L * (mean valid count over those R
        + 1e-5), DDP averages the R, and the accumulation steps are summed. Our loss_m is normalised by
        its own L * (valid_m + 1e-5), so c_m = (valid_m + 1e-5) / (mean_R valid + 1e-5) / R."""
        R = self.cfg["reference_ranks"]
        if len(valid) % R:
            raise ValueError(f"{len(valid)} micro-batches per step are not a multiple of reference_ranks = {R}")
        group_mean = valid.view(-1, R).mean(1, keepdim=True).expand(-1, R).reshape(-1)  # [n_micro]
        return (valid + 1e-5) / (group_mean + 1e-5) / R

    def backward(self, model, batch: dict, k: int, backward) -> tuple[float, dict[str, float]]:
        # one backward per pass (as the reference's per-position backward): one pass's activations alive
        return stacked_passes(model, *self._pass_args(batch), backward=backward)
