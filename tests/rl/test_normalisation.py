"""How each method combines micro-batch losses into one optimizer step, against plain loops written
the way each paper's released code runs (see /shared/recipes.md): d1's trainer and JustGRPO's grpo.py."""

import torch

from pipeline.model import io
from pipeline.rl.diffu_grpo import DiffuGRPO
from pipeline.rl.just_grpo import JustGRPO, serial_gradient
from pipeline.rl.objectives import clipped_grpo_loss
from tests.helpers import tiny_rl_config


def _model():
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    return model.double(), tok


def test_justgrpo_step_is_the_references_sum_over_accumulation_of_the_rank_mean():
    """Reference: R ranks x A accumulation steps, one prompt's G rollouts per micro-batch; each micro-batch's
    loss is normalised by L * (mean over the R ranks of their valid counts + 1e-5), DDP averages the R
    ranks and the A micro-steps are summed (a plain Accelerator does not divide)."""
    model, tok = _model()
    R, A, G, P, L = 2, 2, 3, 4, 5
    method = JustGRPO(
        tiny_rl_config({"mu": 1, "clip_eps": 0.2, "positions_per_pass": 2, "temperature": 1.0, "reference_ranks": R}),
        tok.mask_token_id,
        tok.eos_token_id,
    )
    g = torch.Generator().manual_seed(1)
    micro = []
    for m in range(R * A):
        prompt = torch.randint(5, len(tok), (1, P), generator=g).repeat(G, 1)
        completion = torch.randint(5, len(tok), (G, L), generator=g)
        rewards = torch.tensor([[1.0, 0.0, 0.0]]) if m != 1 else torch.tensor([[1.0, 1.0, 0.0]])
        old = 0.1 * torch.randn(G, L, generator=g, dtype=torch.float64) - 3.0
        micro.append((prompt, completion, old, method.advantages(rewards).double()))
    params = [p for p in model.parameters()]

    # the reference, as a plain loop
    expected = [torch.zeros_like(p) for p in params]
    for a in range(A):
        ranks = micro[a * R : (a + 1) * R]
        mean_valid = sum(float((adv != 0).sum()) for *_, adv in ranks) / R
        for prompt, completion, old, adv in ranks:
            _, grads = serial_gradient(model, prompt, completion, old, adv, tok.mask_token_id, 1.0, 0.2)
            own = L * (float((adv != 0).sum()) + 1e-5)  # serial_gradient normalises by its own count ...
            for e, gr in zip(expected, grads):
                e += gr * own / (L * (mean_valid + 1e-5)) / R  # ... the reference by the rank mean; DDP: / R

    # the loop's combination: sum_m c_m grad(loss_m)
    valid = torch.tensor([float((adv != 0).sum()) for *_, adv in micro], dtype=torch.float64)
    scales = method.micro_scales(valid)
    got = [torch.zeros_like(p) for p in params]
    for (prompt, completion, old, adv), c in zip(micro, scales):
        _, grads = serial_gradient(model, prompt, completion, old, adv, tok.mask_token_id, 1.0, 0.2)
        for acc, gr in zip(got, grads):
            acc += c * gr
    for e, g_ in zip(expected, got):
        assert torch.allclose(e, g_, rtol=1e-10, atol=1e-14)
    assert not torch.allclose(scales, torch.full_like(scales, 1 / len(scales)))  # not a plain mean


def test_d1_step_is_the_token_mean_per_micro_batch_averaged_over_micro_batches():
    """d1's trainer (TRL GRPO): each micro-batch's loss is its token mean; accumulation and DDP average."""
    g = torch.Generator().manual_seed(0)
    n_micro, B, L = 4, 3, 6
    logp = [(-torch.rand(B, L, generator=g, dtype=torch.float64)).requires_grad_() for _ in range(n_micro)]
    old = [lp.detach() + 0.05 * torch.randn(B, L, generator=g, dtype=torch.float64) for lp in logp]
    adv = [torch.randn(B, generator=g, dtype=torch.float64) for _ in range(n_micro)]
    mask = [torch.rand(B, L, generator=g) < 0.7 for _ in range(n_micro)]  # micro-batches with different token counts

    plain = 0.0
    for m in range(n_micro):
        ratio = torch.exp(logp[m] - old[m])
        surrogate = torch.min(ratio * adv[m][:, None], torch.clamp(ratio, 0.5, 1.5) * adv[m][:, None])
        plain = plain + (-surrogate * mask[m]).sum() / mask[m].sum() / n_micro
    expected = torch.autograd.grad(plain, logp)

    scales = DiffuGRPO.micro_scales(torch.zeros(n_micro, dtype=torch.float64))
    total = sum(
        c * clipped_grpo_loss(lp, o, None, a, mk, 0.5, 0.0)[0] for lp, o, a, mk, c in zip(logp, old, adv, mask, scales)
    )
    got = torch.autograd.grad(total, logp)
    for e, g_ in zip(expected, got):
        assert torch.allclose(e, g_, rtol=1e-12)
