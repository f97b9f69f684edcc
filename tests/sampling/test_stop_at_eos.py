"""``Decoding.stop_id``: rows whose finished blocks hold the stop token decode no later block, and the text
read up to the first EOS is what decoding every block gives."""

import pytest
import torch

from pipeline.core.data import decode_completions
from pipeline.sampling import Decoding, get_sampler
from tests.helpers import Recorder

MARK = 7  # rows whose prompt starts with this token are pushed to answer EOS at once


class EagerEOS:
    """The tiny model, with the EOS logit raised by a lot in the rows whose prompt starts with MARK."""

    def __init__(self, model, eos: int):
        self.model, self.eos, self.config = model, eos, model.config

    def __call__(self, x, attention_mask=None, **kwargs):
        out = self.model(x, attention_mask=attention_mask, **kwargs)
        out.logits[x[:, 0] == MARK, :, self.eos] += 50.0
        return out


def _decode(tiny, stop: bool, name="low_confidence", mask=None, cache="none", marks=(0, 2), temperature=0.0):
    model, tok = tiny
    prompt = torch.randint(8, len(tok) - 1, (4, 5), generator=torch.Generator().manual_seed(3))
    prompt[list(marks), 0] = MARK
    rec = Recorder(EagerEOS(model, tok.eos_token_id))
    spec = Decoding(tok.mask_token_id, 12, 4, 6, temperature, stop_id=tok.eos_token_id if stop else None)
    options = {} if name != "low_confidence" else {"cache": cache}
    out = get_sampler(name, options)(rec, prompt, spec, attention_mask=mask, generator=torch.Generator().manual_seed(0))
    return out, rec, tok


@pytest.mark.parametrize("cache", ["none", "prefix", "dual"])
def test_stopped_rows_skip_later_blocks_and_every_text_is_unchanged(tiny, cache):
    full, _, tok = _decode(tiny, stop=False, cache=cache)
    early, rec, _ = _decode(tiny, stop=True, cache=cache)
    comp = slice(5, None)
    assert decode_completions(tok, early.sequences[:, comp]) == decode_completions(tok, full.sequences[:, comp])
    # the marked rows hold EOS in block 0, so blocks 1 and 2 ran the other two rows only, and left the
    # marked rows' later positions masked and never committed
    assert [len(x) for x in rec.inputs] == [4] * 2 + [2] * 4
    assert (early.sequences[[0, 2], 9:] == tok.mask_token_id).all() and (early.commit_step[[0, 2], 4:] == -1).all()
    assert torch.equal(early.sequences[[1, 3]], full.sequences[[1, 3]])
    assert torch.equal(early.commit_step[[1, 3]], full.commit_step[[1, 3]])
    assert early.nfe == full.nfe == 6
    if cache == "none":  # two full-width passes of 4 rows, four of 2 rows: half the positions of each
        assert early.positions == 17 * (2 + 4 / 2) and full.positions == 17 * 6


def test_the_attention_mask_follows_the_live_rows(tiny):
    mask = torch.ones(4, 5, dtype=torch.long)
    mask[3, :2] = 0  # a live row with masked-out pads: its mask must reach the later blocks
    full, _, _ = _decode(tiny, stop=False, mask=mask)
    early, _, _ = _decode(tiny, stop=True, mask=mask)
    assert torch.equal(early.sequences[[1, 3]], full.sequences[[1, 3]])


def test_when_every_row_has_stopped_no_forward_runs(tiny):
    early, rec, tok = _decode(tiny, stop=True, marks=(0, 1, 2, 3), name="random")
    assert early.nfe == len(rec.inputs) == 2  # block 0 only
    assert (early.sequences[:, 9:] == tok.mask_token_id).all()


@pytest.mark.parametrize("name", ["ar_order", "threshold", "entropy_bounded"])
def test_samplers_that_decode_every_position_refuse_a_stop(tiny, name):
    with pytest.raises(ValueError, match="stop_id is for low_confidence, random"):
        _decode(tiny, stop=True, name=name)
