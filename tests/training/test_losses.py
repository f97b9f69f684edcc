"""The SFT and GRPO losses against values worked out by hand."""

import math

import torch

from pipeline.rl.objectives import clipped_grpo_loss, completion_mask
from pipeline.training.losses import forward_process, masked_diffusion_loss

LN3 = math.log(3)


def test_masked_diffusion_loss_by_hand():
    # V = 2. logits [0, 0] -> p = (1/2, 1/2); [0, ln3] -> (1/4, 3/4); [ln3, 0] -> (3/4, 1/4).
    logits = torch.tensor(
        [
            [[0.0, 0.0], [5.0, 5.0], [0.0, LN3]],  # row 0
            [[0.0, 0.0], [LN3, 0.0], [0.0, 0.0]],  # row 1
        ]
    )
    x = torch.tensor([[0, 1, 1], [0, 1, 0]])
    masked = torch.tensor([[True, False, True], [False, True, False]])
    p_mask = torch.tensor([0.5, 0.25])
    length = torch.tensor([3, 3])
    # row 0: masked CE = ln2 (pos 0) + ln(4/3) (pos 2), weight 1/0.5, / length 3
    row0 = 2 * (math.log(2) + math.log(4 / 3)) / 3
    # row 1: masked CE = ln4 (pos 1, p = 1/4), weight 1/0.25, / 3
    row1 = 4 * math.log(4) / 3
    got = masked_diffusion_loss(logits, x, masked, p_mask, length)
    assert math.isclose(got.item(), (row0 + row1) / 2, rel_tol=1e-6)


def test_forward_process_masks_only_completion_at_rate_t():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(4000, 20, dtype=torch.long)
    maskable = torch.zeros_like(x, dtype=torch.bool)
    maskable[:, 5:] = True
    noisy, masked, p = forward_process(x, maskable, mask_id=9, eps=1e-3, generator=g)
    assert not masked[:, :5].any() and (noisy[masked] == 9).all() and (noisy[~masked] == 0).all()
    assert ((p >= 1e-3) & (p <= 1)).all()
    # per-row masked fraction tracks p_mask: E[frac] = p
    frac = masked[:, 5:].float().mean(1)
    assert abs((frac - p).mean().item()) < 0.01


def test_clipped_grpo_loss_by_hand():
    ln = math.log
    logp = torch.tensor([[ln(0.5), ln(0.2)], [ln(0.3), ln(0.6)]])
    old = torch.tensor([[ln(0.4), ln(0.2)], [ln(0.6), ln(0.6)]])
    ref = torch.tensor([[ln(0.5), ln(0.1)], [ln(0.3), ln(0.3)]])
    adv = torch.tensor([1.0, -1.0])
    mask = torch.tensor([[1, 1], [1, 0]])
    # row 0, A = +1: ratios 1.25 -> clipped to 1.2; 1.0. k3 KL: delta = (0, ln .5) -> (0, .5 - ln .5 - 1)
    k3 = 0.5 - ln(0.5) - 1
    row0 = [-1.2, -1.0 + 0.1 * k3]
    # row 1, A = -1: ratio 0.5 -> min(-0.5, -0.8) = -0.8 -> loss +0.8 (pos 1 is masked out)
    row1 = [0.8]
    expected = (sum(row0) + sum(row1)) / 3
    loss, stats = clipped_grpo_loss(logp, old, ref, adv, mask, clip_eps=0.2, beta=0.1)
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)
    assert math.isclose(stats["clip_frac"], 2 / 3, rel_tol=1e-6)  # 1.25 and 0.5 are outside [0.8, 1.2]


def test_grpo_gradient_is_advantage_weighted_score_function_at_ratio_one():
    logp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    loss, _ = clipped_grpo_loss(logp, logp.detach(), None, torch.tensor([0.5]), torch.ones(1, 2), 0.2, 0.0)
    loss.backward()
    assert torch.allclose(logp.grad, torch.tensor([[-0.25, -0.25]]))  # -A / n_tokens


def test_completion_mask_keeps_first_eos():
    comp = torch.tensor([[5, 0, 0], [5, 6, 7], [0, 5, 0]])
    assert completion_mask(comp, eos_id=0).tolist() == [[True, True, False], [True, True, True], [True, False, False]]
