"""JustGRPO: AR-order rollouts, exact per-position log-probs, the stacked gradient against the
reference's one-position-at-a-time loop, and a few RL steps end to end."""

import math

import pytest
import torch

from pipeline.core.numerics import entropy
from pipeline.model import io
from pipeline.rl import Rollout
from pipeline.rl.just_grpo import JustGRPO, position_logprobs, serial_gradient
from pipeline.sampling import Decoding, get_sampler
from tests.helpers import Recorder, run_few_rl_steps, tiny_rl_config

RL = tiny_rl_config({"mu": 2, "clip_eps": 0.2, "positions_per_pass": 3, "temperature": 1.0})


def test_ar_order_commits_left_to_right_and_records_exact_logprobs(tiny):
    model, tok = tiny
    mask, B, P, L, T = tok.mask_token_id, 3, 5, 6, 0.7
    prompt = torch.randint(5, len(tok), (B, P))
    rec = Recorder(model)
    spec = Decoding(mask, L, block_length=2, steps=3, temperature=T, track_entropy=True)  # block and steps ignored
    out = get_sampler("ar_order")(rec, prompt, spec, generator=torch.Generator().manual_seed(0))
    completion = out.sequences[:, P:]
    assert out.nfe == L == len(rec.inputs)
    assert torch.equal(out.commit_step, torch.arange(L).expand(B, L))
    assert torch.equal(out.sequences[:, :P], prompt)
    for t, x in enumerate(rec.inputs):  # step t sees the tokens before t and masks from t on
        assert torch.equal(x[:, P : P + t], completion[:, :t]) and (x[:, P + t :] == mask).all()
    with torch.no_grad():
        logits = [model(x).logits[:, P + t].double() for t, x in enumerate(rec.inputs)]
        exact = position_logprobs(model, prompt, completion, torch.arange(L), mask, T)  # [B, L]
    assert torch.allclose(out.commit_entropy, torch.stack([entropy(lg) for lg in logits], 1), atol=1e-5)
    recorded = out.extras["token_logprobs"]
    assert recorded.shape == (B, L) and (recorded < 0).all()
    assert torch.allclose(recorded, exact, atol=1e-5)
    # the temperature is part of the policy: the same tokens at T = 1 have other log-probs
    with torch.no_grad():
        at_one = position_logprobs(model, prompt, completion, torch.arange(L), mask, 1.0)
    assert not torch.allclose(recorded, at_one, atol=1e-3)


def test_stacked_gradient_equals_one_position_at_a_time():
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    model = model.double()
    mask, G, P, L = tok.mask_token_id, 3, 5, 7
    prompt = torch.randint(5, len(tok), (2, P)).repeat_interleave(G, 0)  # 2 groups of 3
    completion = torch.randint(5, len(tok), (2 * G, L))
    completion[1] = completion[0]  # a duplicate rollout and a shared prefix: their inputs run once
    completion[2, :3] = completion[0, :3]
    method = JustGRPO({**RL, "gen_length": L}, mask, tok.eos_token_id)
    adv = method.advantages(torch.tensor([[1.0, 0.0, 0.5], [2.0, 2.0, 2.0]])).double()  # 2nd group: all zero
    batch = method.prepare(model, None, prompt, None, Rollout(completion), adv, None)
    # move pi_old away from pi_theta so that some ratios leave [0.8, 1.2] and get clipped
    batch["old"] = batch["old"] + 0.3 * torch.randn(batch["old"].shape, dtype=torch.float64)

    # the reference's schedule: one forward + backward per position over one prompt's G rollouts
    value, slow = serial_gradient(model, prompt, completion, batch["old"], adv, mask, 1.0, 0.2, chunk=G)
    _, all_rows = serial_gradient(model, prompt, completion, batch["old"], adv, mask, 1.0, 0.2)
    assert max((a - b).abs().max().item() for a, b in zip(all_rows, slow)) <= 1e-12
    model.zero_grad()
    calls = []
    loss, stats = method.backward(model, batch, 0, lambda part: (calls.append(1), part.backward()))
    assert len(calls) == 3  # positions_per_pass 3: passes of 3, 3 and 1 positions, one backward each
    fast = [p.grad for p in model.parameters()]
    assert math.isclose(loss, value, rel_tol=1e-9)
    with torch.no_grad():  # (3) by hand: summed over samples and positions / (L * 2 non-zero advantages)
        ratio = torch.exp(position_logprobs(model, prompt, completion, torch.arange(L), mask, 1.0) - batch["old"])
        surrogate = torch.min(ratio * adv[:, None], ratio.clamp(0.8, 1.2) * adv[:, None])
    assert math.isclose(value, -surrogate.sum().item() / (L * 2), rel_tol=1e-5)
    assert max((a - b).abs().max().item() for a, b in zip(fast, slow)) <= 1e-5
    assert min(g.abs().max().item() for g in slow) > 1e-4  # every parameter gets a gradient
    # valid: 1.0 and 0.0 of group 1 (0.5 is its mean, so A = 0 there too)
    assert math.isclose(stats["valid_frac"], 2 / 6, rel_tol=1e-6) and 0 < stats["clip_frac"] < 1


def test_advantages_by_hand():
    adv = JustGRPO.advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0], [0.1, 0.1, 0.1, 0.1]]))
    std = math.sqrt(4 * 0.25 / 3)  # unbiased std of [1, 0, 0, 1]
    a = 0.5 / (std + 1e-4)
    assert torch.allclose(adv, torch.tensor([a, -a, -a, a] + [0.0] * 8))
    assert (adv[4:] == 0).all()  # equal rewards: exactly zero, the sample is skipped and not 'valid'


def test_few_just_grpo_steps_change_parameters(tiny):
    method, before, model = run_few_rl_steps(tiny, "just_grpo", RL)
    assert not method.needs_reference
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed == len(before)


def test_just_grpo_rejects_greedy_rollouts(tiny):
    with pytest.raises(ValueError):
        JustGRPO({**RL, "options": {**RL["options"], "temperature": 0.0}}, tiny[1].mask_token_id, tiny[1].eos_token_id)
