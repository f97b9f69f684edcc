"""The weights' moving average (``ema_decay``): its update against a plain loop, and the trainer's output and
checks being the average, not the last step."""

import json

import torch

from pipeline.core.tracking import NullRun
from pipeline.model import io
from pipeline.tasks import get_task
from pipeline.training.batches import EncodedExamples
from pipeline.training.distributed import Processes
from pipeline.training.trainer import train_masked_diffusion
from pipeline.training.weight_average import WeightAverage
from tests.helpers import CPU
from tests.training.test_selection import SELECT, SFT, _scripted_selection


def test_update_is_the_warmed_up_moving_average_and_swap_is_its_own_inverse():
    w = torch.nn.Parameter(torch.tensor([0.0, 10.0]))
    model = torch.nn.Module()
    model.w = w
    avg = WeightAverage(model, decay=0.5)
    expected = torch.tensor([0.0, 10.0])
    for n, value in enumerate([1.0, 2.0, 4.0, 8.0], start=1):
        with torch.no_grad():
            w.fill_(value)
        avg.update()
        d = min(0.5, (1 + n) / (10 + n))  # 2/11, 3/12, 0.5, 0.5
        expected = d * expected + (1 - d) * value
        assert torch.allclose(avg.shadow[0], expected)
    avg.swap()
    assert torch.allclose(w, expected) and torch.equal(avg.shadow[0], torch.tensor([8.0, 8.0]))
    avg.swap()
    assert torch.equal(w.detach(), torch.tensor([8.0, 8.0])) and torch.allclose(avg.shadow[0], expected)


def _train(steps: int, **cfg):
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    task = get_task("tiny_arithmetic", seed=0)
    enc = EncodedExamples(tok, {"t": task}, {"t": task.load("train", 16)}, target_format="answer")
    train_masked_diffusion(model, enc, {**SFT, "steps": steps, **cfg}, NullRun(), "sft", Processes(CPU))
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_the_output_is_the_average_of_the_raw_steps_weights():
    decay = 0.9
    raw = [_train(k) for k in range(4)]  # constant rate: the weights after 0, 1, 2, 3 steps of one run
    expected = dict(raw[0])
    for k in (1, 2, 3):
        d = min(decay, (1 + k) / (10 + k))
        expected = {n: d * expected[n] + (1 - d) * raw[k][n] for n in expected}
    out = _train(3, ema_decay=decay)
    assert all(torch.allclose(out[n], expected[n], atol=1e-6) for n in out)
    assert not all(torch.allclose(out[n], raw[3][n]) for n in out)


def test_checks_score_the_average_training_goes_on_from_the_raw_weights_and_a_stop_keeps_the_average(tmp_path):
    select, decay = {**SELECT, "stop_at": {"t": 25.0}}, 0.9
    runs = {}
    for name, extra in (("raw", {}), ("averaged", {"ema_decay": decay})):
        model, enc, selection, snapshots = _scripted_selection(tmp_path / name, select, [10.0, 30.0])
        init = {n: p.detach().clone() for n, p in model.named_parameters()}
        cfg = {**SFT, "steps": 10, **extra}
        out = train_masked_diffusion(model, enc, cfg, NullRun(), "pretrain", Processes(CPU), selection)
        assert out["steps"] == 2  # 30 at the second check reaches the target
        assert all(torch.equal(p, snapshots[1][n]) for n, p in model.named_parameters())  # output = scored
        runs[name] = snapshots
    expected = init  # the average over the raw run's weights after 1 and 2 steps (checks at both)
    for k, weights in enumerate(runs["raw"], start=1):
        d = min(decay, (1 + k) / (10 + k))
        expected = {n: d * expected[n] + (1 - d) * weights[n] for n in expected}
    assert all(torch.allclose(runs["averaged"][1][n], expected[n], atol=1e-6) for n in expected)
    assert json.loads((tmp_path / "averaged" / "selection.json").read_text())["chosen_step"] == 2
