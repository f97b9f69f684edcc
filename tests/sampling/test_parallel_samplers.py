"""Parallel samplers with a data-dependent number of tokens per step: Fast-dLLM confidence threshold and
the entropy-bounded (EB) sampler. Exact commit sets are checked step by step against crafted logits."""

import itertools
from types import SimpleNamespace

import pytest
import torch

from pipeline.sampling import Decoding, get_sampler
from pipeline.sampling.entropy_bounded import entropy_bounded
from pipeline.sampling.threshold import confidence_threshold
from tests.helpers import Recorder

MASK, V, P, L, BLOCK = 3, 16, 3, 12, 4


class FakeLM:
    """Seeded random logits whose sharpness varies per position (some near-certain, some near-uniform);
    keeps every (input, logits) pair so each step can be re-derived independently."""

    def __init__(self, seed=0, mask_logit=-30.0):
        self.g, self.mask_logit, self.calls = torch.Generator().manual_seed(seed), mask_logit, []

    def __call__(self, x, attention_mask=None, logits_at=None):
        assert len(self.calls) < 4 * L, "sampler is not making progress"  # fail fast instead of hanging
        B, T = x.shape
        sharp = torch.tensor([0.3, 2.0, 6.0, 12.0])[torch.randint(0, 4, (B, T), generator=self.g)]
        logits = torch.randn(B, T, V, generator=self.g) * sharp[..., None]  # [B, T, V]
        logits[..., MASK] = self.mask_logit
        self.calls.append((x.clone(), logits.clone()))
        if logits_at is not None:  # as LLaDAModelLM: the logits at those positions only
            logits = logits.gather(1, logits_at[..., None].expand(-1, -1, V))
        return SimpleNamespace(logits=logits)


def _fake_run(sampler, seed=0, B=4, temperature=0.0, **options):
    fake = FakeLM(seed)
    prompt = torch.randint(4, V, (B, P), generator=torch.Generator().manual_seed(seed))
    spec = Decoding(MASK, L, BLOCK, steps=1, temperature=temperature, track_entropy=True)
    out = sampler(fake, prompt, spec, generator=torch.Generator().manual_seed(seed), **options)
    return out, fake, prompt


def _steps(fake, out):
    """(input, logits, next input, start of the current block) for every forward pass."""
    seen = [x for x, _ in fake.calls] + [out.sequences]
    for (before, logits), after in zip(fake.calls, seen[1:]):
        first = int((before[:, P:] == MASK).any(0).nonzero()[0]) // BLOCK  # earliest unfinished block
        yield before, logits.double(), after, P + first * BLOCK


def _check_step_is_local(before, after, lo):
    new = (before == MASK) & (after != MASK)  # [B, T]
    changed = before != after
    assert torch.equal(new, changed), "only masked positions may change"
    assert not new[:, :lo].any() and not new[:, lo + BLOCK :].any(), "commits outside the current block"
    return new


@pytest.mark.parametrize("seed", [0, 1])
def test_threshold_commits_exactly_the_confident_positions_or_the_best_one(seed):
    thr = 0.9
    out, fake, _ = _fake_run(confidence_threshold, seed, threshold=thr)
    multi = fallback = waiting = 0
    for before, logits, after, lo in _steps(fake, out):
        new = _check_step_is_local(before, after, lo)
        probs = torch.softmax(logits, -1)  # [B, T, V]
        for b in range(before.shape[0]):
            pos = [j for j in range(lo, lo + BLOCK) if before[b, j] == MASK]
            conf = {j: probs[b, j].max().item() for j in pos}  # greedy: sampled token is the argmax
            expected = {j for j in pos if conf[j] > thr}
            if pos and not expected:
                expected, fallback = {max(pos, key=conf.get)}, fallback + 1
            multi += len(expected) >= 2
            waiting += not pos
            assert set(new[b].nonzero().flatten().tolist()) == expected
            assert all(after[b, j] == probs[b, j].argmax() for j in expected)
    assert multi and fallback and waiting, "crafted logits should exercise every branch"


@pytest.mark.parametrize("seed", [0, 1])
def test_eb_commits_the_maximal_low_entropy_prefix_within_the_bound(seed):
    gamma = 0.5
    out, fake, _ = _fake_run(entropy_bounded, seed, gamma=gamma)
    multi = stopped_by_bound = 0
    for before, logits, after, lo in _steps(fake, out):
        new = _check_step_is_local(before, after, lo)
        p = torch.softmax(logits, -1)
        ent = -(p * p.clamp_min(1e-300).log()).sum(-1)  # [B, T] nats, computed independently
        for b in range(before.shape[0]):
            pos = [j for j in range(lo, lo + BLOCK) if before[b, j] == MASK]
            chosen = set(new[b].nonzero().flatten().tolist())
            if not pos:
                assert not chosen
                continue
            e = [ent[b, j].item() for j in chosen]
            assert e and sum(e) - max(e) <= gamma + 1e-12  # the EB bound, at least one token
            rest = [ent[b, j].item() for j in pos if j not in chosen]
            if rest:  # maximal: it is a prefix, and the next-lowest entropy would break the bound
                nxt = min(rest)
                assert nxt >= max(e)
                assert sum(e) + nxt - max(max(e), nxt) > gamma
                stopped_by_bound += 1
            multi += len(chosen) >= 2
    assert multi and stopped_by_bound, "crafted logits should exercise every branch"


@pytest.mark.parametrize(
    "sampler,options", [(confidence_threshold, {"threshold": 0.9}), (entropy_bounded, {"gamma": 0.5})]
)
def test_nfe_is_the_forward_passes_run_and_bookkeeping_matches(sampler, options):
    out, fake, prompt = _fake_run(sampler, 2, temperature=1.0, **options)
    assert out.nfe == len(fake.calls)
    assert L / BLOCK <= out.nfe < L  # parallel but at least one pass per block
    # per-row tokens per forward: each row counted by the passes it needed, not the batch's slowest
    per_row = [L / (out.commit_step[b].unique().numel()) for b in range(out.commit_step.shape[0])]
    assert out.tokens_per_step == pytest.approx(sum(per_row) / len(per_row))
    assert out.tokens_per_step >= L / out.nfe
    # every pass committed something in some row, and steps are forward indices
    assert set(out.commit_step.flatten().tolist()) == set(range(out.nfe))
    assert (out.extras["row_steps"] <= out.nfe).all()
    assert torch.equal(out.sequences[:, :P], prompt) and not (out.sequences == MASK).any()
    for b in range(prompt.shape[0]):
        for j in range(L):
            logits = fake.calls[out.commit_step[b, j]][1][b, P + j].double()
            p = torch.softmax(logits, -1)
            assert torch.isclose(out.commit_entropy[b, j], -(p * p.log()).sum(), atol=1e-9)


@pytest.mark.parametrize("sampler", [confidence_threshold, entropy_bounded])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_the_mask_token_is_never_committed(sampler, temperature):
    fake = FakeLM(mask_logit=50.0)  # a model that insists on predicting [MASK]
    prompt = torch.randint(4, V, (2, P))
    out = sampler(fake, prompt, Decoding(MASK, L, BLOCK, 1, temperature), generator=torch.Generator().manual_seed(0))
    assert not (out.sequences == MASK).any() and out.nfe == len(fake.calls) <= L


def _tiny_run(tiny, name, temperature=0.0, L_=12, block=4, **options):
    model, tok = tiny
    prompt = torch.randint(5, len(tok), (3, 5), generator=torch.Generator().manual_seed(1))
    rec = Recorder(model)
    spec = Decoding(tok.mask_token_id, L_, block, 4, temperature)
    out = get_sampler(name, options)(
        rec, prompt, spec, attention_mask=torch.ones_like(prompt), generator=torch.Generator().manual_seed(0)
    )
    return out, rec, prompt, tok.mask_token_id


@pytest.mark.parametrize("name,options", [("threshold", {"threshold": 0.02}), ("entropy_bounded", {"gamma": 4.0})])
def test_tiny_llada_prompt_and_committed_tokens_never_change_blocks_in_order(tiny, name, options):
    out, rec, prompt, mask = _tiny_run(tiny, name, temperature=1.0, **options)
    assert torch.equal(out.sequences[:, :5], prompt) and not (out.sequences == mask).any()
    assert out.nfe == len(rec.inputs) < 12  # options chosen so the near-uniform tiny model goes parallel
    seen = rec.inputs + [out.sequences]
    for before, after in itertools.pairwise(seen):
        fixed = before != mask
        assert torch.equal(before[fixed], after[fixed])
    cs = out.commit_step  # [B, L]
    for b in range(2):  # every position of block b is committed before any of block b+1, in every row
        assert cs[:, 4 * b : 4 * b + 4].max() < cs[:, 4 * b + 4 : 4 * b + 8].min()


def test_threshold_above_one_degrades_to_one_token_per_step(tiny):
    out, rec, _, _ = _tiny_run(tiny, "threshold", threshold=1.01)
    assert out.nfe == len(rec.inputs) == 12 and out.tokens_per_step == 1.0
    for row in out.commit_step:
        assert torch.bincount(row, minlength=12).tolist() == [1] * 12


def test_huge_gamma_commits_a_whole_block_per_step(tiny):
    out, rec, _, _ = _tiny_run(tiny, "entropy_bounded", gamma=1e9)
    assert out.nfe == len(rec.inputs) == 3
    assert torch.equal(out.commit_step, torch.arange(12).div(4, rounding_mode="floor").expand(3, 12))


def test_registry_binds_options_and_bad_gamma():
    assert get_sampler("threshold") is confidence_threshold
    bound = get_sampler("entropy_bounded", {"gamma": 0.5})
    assert bound.func is entropy_bounded and bound.keywords == {"gamma": 0.5}
    with pytest.raises(ValueError, match="gamma"):
        _fake_run(entropy_bounded, gamma=-0.1)
