"""``rope_full_precision``: in bf16, q and k are rotated in float32 (as LLaDA does); float32 is untouched."""

import copy

import pytest
import torch

from pipeline.model import LLaDAConfig, LLaDAModelLM
from tests.model.reference import llada_forward

# n_kv_heads < n_heads: the grouped-query path too; init_std large enough for bf16 rotation error to show
SIZES = dict(d_model=64, n_heads=4, n_kv_heads=2, n_layers=2, mlp_hidden_size=96, vocab_size=50, init_std=0.1)
IDS = dict(mask_token_id=49, eos_token_id=48, pad_token_id=48)


@pytest.fixture(scope="module")
def models() -> dict[bool, LLaDAModelLM]:
    """The same weights with the flag on and off."""
    torch.manual_seed(0)
    on = LLaDAModelLM(LLaDAConfig(**SIZES, **IDS)).eval()
    off = LLaDAModelLM(LLaDAConfig(**SIZES, **IDS, rope_full_precision=False)).eval()
    off.load_state_dict(on.state_dict())
    return {True: on, False: off}


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, 48, (2, 64), generator=torch.Generator().manual_seed(1))
    attn = torch.ones_like(ids)
    attn[0, :5] = 0
    return ids, attn


def test_config_carries_the_flag_with_llada_default():
    assert LLaDAConfig().rope_full_precision is True
    assert LLaDAConfig.from_dict(LLaDAConfig(rope_full_precision=False).to_dict()).rope_full_precision is False


def test_float32_results_do_not_depend_on_the_flag(models):
    ids, attn = _inputs()
    with torch.no_grad():
        assert torch.equal(models[True](ids, attn).logits, models[False](ids, attn).logits)


def test_bf16_rotation_follows_the_flag(models):
    """Each model equals (to bf16 rounding; on CPU exactly) the reference that rotates in its precision,
    and the two precisions differ by far more than that."""
    ids, attn = _inputs()
    logits, refs = {}, {}
    with torch.no_grad():
        for flag, model in models.items():
            model = copy.deepcopy(model).to(torch.bfloat16)
            logits[flag] = model(ids, attn).logits.float()
            sd = model.state_dict()
            refs[flag] = llada_forward(sd, model.config.to_dict(), ids, attn, rope_full_precision=flag).float()
    gap = (refs[True] - refs[False]).abs().max()
    assert gap > 2**-8 * refs[True].abs().max()  # rotating in bf16 moves logits by more than an ulp
    for flag in (True, False):
        assert (logits[flag] - refs[flag]).abs().max() <= gap / 8
