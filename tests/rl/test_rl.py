"""diffu-GRPO: the one-step estimator and a few RL steps end to end on a tiny model."""

import torch

from pipeline.rl.diffu_grpo import one_step_logprobs
from tests.helpers import Recorder, run_few_rl_steps, tiny_rl_config

RL = tiny_rl_config({"mu": 2, "beta": 0.04, "clip_eps": 0.5, "p_mask_prompt": 0.15, "temperature": 1.0})


def test_one_step_estimator_masks_completion_and_some_prompt(tiny):
    model, tok = tiny
    mask = tok.mask_token_id
    prompt = torch.randint(5, len(tok), (64, 20))
    attn = torch.ones(64, 20, dtype=torch.long)
    attn[:, :3] = 0  # left padding is never masked
    completion = torch.randint(5, len(tok), (64, 8))
    rec = Recorder(model)
    with torch.no_grad():
        lp = one_step_logprobs(rec, prompt, attn, completion, mask, 0.15, seed=7)
        lp2 = one_step_logprobs(rec, prompt, attn, completion, mask, 0.15, seed=7)
    assert len(rec.inputs) == 2 and torch.equal(lp, lp2)  # one forward each, same seed -> same mask
    x = rec.inputs[0]
    assert (x[:, 20:] == mask).all()
    assert not (x[:, :3] == mask).any()
    frac = (x[:, 3:20] == mask).float().mean().item()
    assert 0.10 < frac < 0.20
    assert lp.shape == (64, 8) and (lp <= 0).all()


def test_few_diffu_grpo_steps_change_parameters(tiny):
    _, before, model = run_few_rl_steps(tiny, "diffu_grpo", RL)
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed == len(before)


def test_advantage_is_reward_minus_group_mean():
    from pipeline.rl.diffu_grpo import DiffuGRPO

    adv = DiffuGRPO.advantages(torch.tensor([[1.0, 0.0, 0.5], [2.0, 2.0, 2.0]]))
    assert torch.allclose(adv, torch.tensor([0.5, -0.5, 0.0, 0.0, 0.0, 0.0]))


def test_each_eval_task_is_answered_by_its_own_run_or_the_named_one():
    from pipeline.rl import run_for_task

    rl = {"runs": ["gsm8k", "acecode_hard"], "run_for_eval": {"humaneval": "acecode_hard"}}
    assert run_for_task(rl, "gsm8k") == "gsm8k"
    assert run_for_task(rl, "humaneval") == "acecode_hard"
    assert run_for_task(rl, "mbpp") is None
    assert run_for_task({"runs": ["all"], "run_for_eval": {}}, "mbpp") == "all"


def test_the_one_step_estimator_never_masks_a_task_experts_keyword():
    from pipeline.model import io

    torch.manual_seed(0)
    dims = {"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64, "experts": ["sudoku", "compute"]}
    model, tok = io.build_scratch(dims)
    prompt = torch.randint(20, 40, (2, 6))
    prompt[0, 2], prompt[1, 4] = tok.convert_tokens_to_ids("sudoku"), tok.convert_tokens_to_ids("compute")
    completion = torch.randint(20, 40, (2, 4))
    # every other prompt token masked: the keyword still routes each row to its network
    lp = one_step_logprobs(model, prompt, torch.ones_like(prompt), completion, tok.mask_token_id, 1.0, seed=0)
    assert lp.shape == (2, 4) and torch.isfinite(lp).all()
