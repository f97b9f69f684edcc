"""The samplers' KV cache (Fast-dLLM prefix and dual caches; the AR analogue): exact where the
record is exact, refreshed at every block start, and never read at a position changed since."""

import pytest
import torch

from pipeline.model import io
from pipeline.model.modeling_llada import KVCache
from pipeline.sampling import Decoding, get_sampler

BLOCK_SAMPLERS = ["low_confidence", "random", "threshold", "entropy_bounded"]


def _model(n_layers: int, seed: int = 0):
    torch.manual_seed(seed)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": n_layers, "n_heads": 4, "mlp_hidden_size": 64})
    return model.double().eval(), tok


class CacheSpy:
    """Wraps a model; on every cached forward checks what the cache may be trusted with, and poisons
    the record inside the window (NaN) so that reading it there would show in the output."""

    def __init__(self, model):
        self.model, self.config = model, model.config
        self.recorded_at, self.windows, self.refreshes = {}, [], 0

    def __call__(self, x, attention_mask=None, cache=None, **kwargs):
        if cache is not None and cache.window is None:
            self.refreshes += 1
            out = self.model(x, attention_mask=attention_mask, cache=cache, **kwargs)
            self.recorded_at[id(cache)] = x.clone()
            return out
        if cache is not None:
            lo, hi = cache.window
            self.windows.append((lo, hi))
            before = self.recorded_at[id(cache)]
            outside = torch.ones(x.shape[1], dtype=torch.bool)
            outside[lo:hi] = False
            # a position whose keys come from the record holds the token it held when recorded
            assert torch.equal(x[:, outside], before[:, outside]), "a record was used after a commit there"
            for keys, values in zip(cache.keys, cache.values):
                keys[:, :, lo:hi] = float("nan")
                values[:, :, lo:hi] = float("nan")
        return self.model(x, attention_mask=attention_mask, cache=cache, **kwargs)


def _decode(model, tok, name, cache, L=16, block=8, steps=16, temperature=0.0, **options):
    torch.manual_seed(1)
    prompt = torch.randint(6, len(tok), (3, 5))
    spec = Decoding(tok.mask_token_id, L, block, steps, temperature)
    sampler = get_sampler(name, {"cache": cache, **options})
    return sampler(model, prompt, spec, generator=torch.Generator().manual_seed(0))


def test_a_window_against_a_fresh_record_is_the_full_pass():
    model, _ = _model(3)
    x = torch.randint(0, 40, (2, 20))
    mask = torch.ones_like(x)
    mask[0, :3] = 0  # left padding: the key bias applies to cached keys as to fresh ones
    with torch.no_grad():
        full = model(x, attention_mask=mask).logits
        cache = KVCache()
        assert torch.equal(model(x, attention_mask=mask, cache=cache).logits, full)
        cache.window = (8, 12)
        window = model(x, attention_mask=mask, cache=cache).logits
        at = model(x, attention_mask=mask, cache=cache, logits_at=torch.tensor([[9, 10]] * 2)).logits
    assert window.shape[1] == 4 and torch.allclose(window, full[:, 8:12], atol=1e-12, rtol=0)
    assert torch.allclose(at, full[:, 9:11], atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", [*BLOCK_SAMPLERS, "ar_order"])
@pytest.mark.parametrize("cache", ["prefix", "dual"])
def test_with_one_layer_the_cache_is_exact_and_the_tokens_equal_none(name, cache):
    # one layer: a position's keys and values depend on its own token only, so a record stays
    # exact while the position's token is unchanged -- the whole decode must equal the uncached one.
    # (With more layers keys also depend on other positions: that is the approximation.)
    model, tok = _model(1)
    options = {"cache_block": 8} if name == "ar_order" else {}
    ref = _decode(model, tok, name, "none", temperature=0.7, **options)
    out = _decode(model, tok, name, cache, temperature=0.7, **options)
    assert torch.equal(out.sequences, ref.sequences)
    assert torch.equal(out.commit_step, ref.commit_step)
    assert out.positions < ref.positions


def test_one_block_over_the_whole_completion_one_token_per_step_equals_none_with_one_layer():
    model, tok = _model(1)
    ref = _decode(model, tok, "low_confidence", "none", L=16, block=16, steps=16)
    out = _decode(model, tok, "low_confidence", "dual", L=16, block=16, steps=16)
    assert torch.equal(out.sequences, ref.sequences)
    assert ref.positions == 16 * (5 + 16) and out.positions == (5 + 16) + 15 * 16


@pytest.mark.parametrize("name", BLOCK_SAMPLERS)
@pytest.mark.parametrize("cache", ["prefix", "dual"])
def test_refreshed_at_every_block_start_and_no_stale_record_is_read(name, cache):
    model, tok = _model(2)
    spy = CacheSpy(model)
    out = _decode(spy, tok, name, cache, L=24, block=8, steps=12)  # 3 blocks
    assert spy.refreshes == 3
    P, T = 5, 5 + 24
    blocks = [(P + 8 * b, P + 8 * b + 8) for b in range(3)]
    expect = {lo: (lo, hi if cache == "dual" else T) for lo, hi in blocks}
    assert spy.windows and all(w == expect[w[0]] for w in spy.windows)
    assert not torch.isnan(out.sequences.double()).any() and not (out.sequences == tok.mask_token_id).any()
    # the poisoned window entries were never read: the output is the unpoisoned cached decode's
    assert torch.equal(out.sequences, _decode(model, tok, name, cache, L=24, block=8, steps=12).sequences)


def test_ar_order_cache_refreshes_every_cache_block_tokens():
    model, tok = _model(2)
    spy = CacheSpy(model)
    out = _decode(spy, tok, "ar_order", "prefix", L=16, cache_block=4)
    assert spy.refreshes == 4 and out.nfe == 16
    assert {w[0] for w in spy.windows} == {5, 9, 13, 17} and {w[1] for w in spy.windows} == {21}


def test_positions_counted_per_forward():
    model, tok = _model(2)
    none = _decode(model, tok, "low_confidence", "none", L=16, block=8, steps=16)
    dual = _decode(model, tok, "low_confidence", "dual", L=16, block=8, steps=16)
    prefix = _decode(model, tok, "low_confidence", "prefix", L=16, block=8, steps=16)
    assert none.positions == 16 * 21 and none.positions_per_token == 21.0
    assert dual.positions == 2 * 21 + 14 * 8  # a full pass per block, then the block's 8 positions
    assert prefix.positions == (21 + 7 * 16) + (21 + 7 * 8)  # then from the block to the end


def test_an_unknown_cache_is_refused_with_the_known_ones():
    model, tok = _model(1)
    with pytest.raises(ValueError, match="none, prefix, dual"):
        _decode(model, tok, "low_confidence", "full")


@pytest.mark.parametrize(
    "kind, options",
    [
        ("diffu_grpo", {"mu": 1, "beta": 0.0, "clip_eps": 0.5, "p_mask_prompt": 0.15, "temperature": 1.0}),
        ("just_grpo", {"mu": 1, "clip_eps": 0.2, "positions_per_pass": 3, "temperature": 1.0}),
    ],
)
def test_rl_rollouts_take_the_cache_option(kind, options):
    from pipeline.rl import get_method
    from tests.helpers import tiny_rl_config

    model, tok = _model(1)  # exact cache: cached rollouts equal uncached ones, with fewer positions run
    prompt = torch.randint(6, len(tok), (4, 5))
    rollouts, spy = {}, {}
    for cache in ("none", "dual"):
        method = get_method(kind, tiny_rl_config({**options, "rollout_cache": cache}), tok.mask_token_id, 0)
        spy[cache] = CacheSpy(model)
        rollouts[cache] = method.rollout(spy[cache], prompt, torch.ones_like(prompt), torch.Generator().manual_seed(0))
    assert torch.equal(rollouts["dual"].completion, rollouts["none"].completion)
    assert spy["none"].refreshes == 0 and spy["dual"].refreshes == 2  # gen_length 8, block_length 4
    if kind == "just_grpo":  # the recorded old log-probs are the cached forward's
        lp = rollouts["dual"].extras["token_logprobs"]
        assert torch.allclose(lp, rollouts["none"].extras["token_logprobs"], atol=1e-10)
