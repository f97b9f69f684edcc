"""Gradient clipping over a task-expert model: one norm over all networks, or each network by its own."""

import pytest
import torch

from pipeline.model import io
from pipeline.training.distributed import Processes
from tests.helpers import CPU


def _experts_with_gradients(each: bool):
    """Two expert networks whose gradients have norms 10 and 0.5."""
    torch.manual_seed(0)
    dims = {"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64, "experts": ["compute", "target"]}
    model, _ = io.build_scratch({**dims, "clip_each_expert": each})
    for net, norm in zip(model.networks(), (10.0, 0.5), strict=True):
        params = list(net.parameters())
        for p in params:
            p.grad = torch.ones_like(p)
        scale = norm / torch.cat([p.grad.flatten() for p in params]).norm()
        for p in params:
            p.grad *= scale
    return model


def _norm(net) -> float:
    return float(torch.cat([p.grad.flatten() for p in net.parameters()]).norm())


@pytest.mark.parametrize("each", [False, True])
def test_each_expert_is_clipped_by_its_own_norm_or_all_by_one(each):
    model = _experts_with_gradients(each)
    total = Processes(CPU).clip_gradients(model, 1.0)
    assert total == pytest.approx((10.0**2 + 0.5**2) ** 0.5, rel=1e-4)  # the norm before clipping, over all
    big, small = (_norm(net) for net in model.networks())
    if each:  # the small network's step is its own: untouched
        assert big == pytest.approx(1.0, rel=1e-4) and small == pytest.approx(0.5, rel=1e-4)
    else:  # one factor for both: the big gradient shrinks the small one too
        assert big == pytest.approx(10.0 / total, rel=1e-4) and small == pytest.approx(0.5 / total, rel=1e-4)


def test_clip_each_expert_needs_experts():
    from pipeline.core.config import ParamsError, load_params, validate_params

    params = load_params("params.yaml")
    params["model"] |= {"experts": None, "clip_each_expert": True}
    params["pretrain"]["select"]["stop_each"] = False
    with pytest.raises(ParamsError, match="model.clip_each_expert = true needs model.experts"):
        validate_params(params, "test")
