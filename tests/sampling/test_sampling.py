"""Invariants of the LLaDA low-confidence sampler (and the random-order variant)."""

import itertools

import pytest
import torch

from pipeline.core.numerics import gumbel_argmax
from pipeline.sampling import Decoding, get_sampler
from pipeline.sampling.base import quota_per_step
from tests.helpers import Recorder


def _run(tiny, name="low_confidence", L=8, block=4, steps=4, temperature=0.0, seed=0):
    model, tok = tiny
    torch.manual_seed(1)
    prompt = torch.randint(5, len(tok), (3, 5))
    rec = Recorder(model)
    spec = Decoding(tok.mask_token_id, L, block, steps, temperature)
    out = get_sampler(name)(
        rec, prompt, spec, attention_mask=torch.ones_like(prompt), generator=torch.Generator().manual_seed(seed)
    )
    return out, rec, prompt, tok.mask_token_id


@pytest.mark.parametrize("name", ["low_confidence", "random"])
def test_prompt_untouched_no_mask_left_and_nfe_counted(tiny, name):
    out, rec, prompt, mask = _run(tiny, name)
    assert torch.equal(out.sequences[:, :5], prompt)
    assert not (out.sequences == mask).any()
    assert out.nfe == len(rec.inputs) == 4
    assert out.tokens_per_step == 8 / 4


@pytest.mark.parametrize("name", ["low_confidence", "random"])
def test_committed_tokens_never_change(tiny, name):
    out, rec, _, mask = _run(tiny, name, temperature=1.0)
    seen = rec.inputs + [out.sequences]
    for before, after in itertools.pairwise(seen):
        fixed = before != mask
        assert torch.equal(before[fixed], after[fixed])


def test_blocks_are_decoded_in_order_with_even_quota(tiny):
    out, _, _, _ = _run(tiny, L=12, block=4, steps=6)  # 3 blocks, 2 steps each, 2 tokens per step
    cs = out.commit_step  # [B, L]
    for b in range(2):
        assert (cs[:, 4 * b : 4 * b + 4].max(1).values < cs[:, 4 * b + 4 : 4 * b + 8].min(1).values).all()
    for row in cs:
        assert torch.bincount(row, minlength=6).tolist() == [2] * 6


def test_quota_schedule_matches_llada():
    q = quota_per_step(torch.tensor([7, 4]), 3)
    assert q.tolist() == [[3, 2, 2], [2, 1, 1]]


def test_greedy_is_deterministic_and_low_confidence_takes_the_most_confident(tiny):
    a, _, _, _ = _run(tiny, seed=0)
    b, _, _, _ = _run(tiny, seed=123)
    assert torch.equal(a.sequences, b.sequences)
    # first step: the committed positions are the two most confident ones of block 0
    out, rec, _, _ = _run(tiny, L=8, block=8, steps=4)
    with torch.no_grad():
        probs = torch.softmax(rec.model(rec.inputs[0]).logits[:, 5:].double(), -1).max(-1).values
    first = out.commit_step == 0
    assert torch.equal(first, torch.zeros_like(first).scatter(1, probs.topk(2, dim=1).indices, True))


def test_gumbel_argmax_samples_softmax_in_float64():
    logits = torch.log(torch.tensor([0.7, 0.2, 0.1], dtype=torch.float32)).expand(20000, 3)
    draws = gumbel_argmax(logits, 1.0, torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=3).double() / 20000
    assert torch.allclose(freq, torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64), atol=0.015)
    assert torch.equal(gumbel_argmax(logits[:2], 0.0), torch.zeros(2, dtype=torch.long))


def test_unknown_sampler_lists_known_ones():
    with pytest.raises(KeyError, match="low_confidence"):
        get_sampler("nope")


@pytest.mark.parametrize("vocab", [48, 512])
def test_low_confidence_greedy_equals_a_plain_llada_generate(vocab):
    """Block-local sampling changes no token: the same output as LLaDA's whole-sequence generate."""
    from benchmarks.llada_generate import llada_generate
    from pipeline.model.configuration_llada import LLaDAConfig
    from pipeline.model.modeling_llada import LLaDAModelLM

    torch.manual_seed(0)
    cfg = LLaDAConfig(d_model=32, n_layers=2, n_heads=4, mlp_hidden_size=64, vocab_size=vocab, mask_token_id=vocab - 1)
    model = LLaDAModelLM(cfg).eval()
    prompt = torch.randint(0, vocab - 1, (6, 10), generator=torch.Generator().manual_seed(1))
    ours = get_sampler("low_confidence")(model, prompt, Decoding(vocab - 1, 24, 8, steps=12)).sequences
    assert torch.equal(ours, llada_generate(model, prompt, steps=12, gen_length=24, block_length=8, mask_id=vocab - 1))
