"""The optimizer never steps bf16 weights: with runtime.dtype bfloat16 the weights stay float32 and
the forward runs under bf16 autocast, so a 3e-6 step at LLaDA's weight scale is not rounded away."""

import copy

import torch

from pipeline.core.tracking import NullRun
from pipeline.model import io
from pipeline.tasks import get_task
from pipeline.training.batches import EncodedExamples
from pipeline.training.distributed import Processes
from pipeline.training.trainer import train_masked_diffusion
from tests.helpers import CPU

STEP = {
    "steps": 1,
    "batch_size": 8,
    "micro_batch": 8,
    "lr": 3e-6,
    "lr_schedule": "constant",
    "warmup_steps": 0,
    "weight_decay": 0.0,
    "grad_clip": 1e9,
    "eps": 1e-3,
    "train_lengths": [16],
    "seed": 0,
}


def _llada_scale_model():
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 64, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 128})
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)  # LLaDA-8B's weight scale
    return model, tok


def _one_step(model, tok, dtype: str):
    task = get_task("tiny_arithmetic", seed=0)
    enc = EncodedExamples(tok, {"t": task}, {"t": task.load("train", 16)}, target_format="answer")
    before = [p.detach().clone() for p in model.parameters()]
    train_masked_diffusion(model, enc, STEP, NullRun(), "step", Processes({**CPU, "dtype": dtype}))
    return [p.detach() - b for p, b in zip(model.parameters(), before)]


def test_bf16_compute_step_moves_the_weights_as_the_float32_step():
    model, tok = _llada_scale_model()
    fp32 = _one_step(copy.deepcopy(model), tok, "float32")
    bf16_model = copy.deepcopy(model)
    bf16 = _one_step(bf16_model, tok, "bfloat16")
    assert all(p.dtype == torch.float32 for p in bf16_model.parameters())  # the master copy stays float32

    def moved(deltas):  # embedding rows of tokens absent from the batch get no gradient in either run
        return sum(int((d != 0).sum()) for d in deltas) / sum(d.numel() for d in deltas)

    agree = sum(int((torch.sign(a) == torch.sign(b)).sum()) for a, b in zip(bf16, fp32)) / sum(d.numel() for d in fp32)
    size = torch.cat([d.abs().reshape(-1) for d in bf16]).mean() / torch.cat([d.abs().reshape(-1) for d in fp32]).mean()
    assert moved(fp32) > 0.9 and abs(moved(bf16) - moved(fp32)) < 1e-3, (moved(bf16), moved(fp32))
    assert agree > 0.99 and abs(float(size) - 1) < 0.01, (agree, float(size))


def test_stepping_bf16_weights_directly_loses_most_of_the_step():
    """What the master copy prevents: the same AdamW step applied to bf16 weights rounds away."""
    model, _ = _llada_scale_model()
    weights = [p.detach().to(torch.bfloat16) for p in model.parameters()]
    stepped = [(w.float() + 3e-6).to(torch.bfloat16) for w in weights]  # Adam's first step is ~lr per weight
    moved = sum(int((a != b).sum()) for a, b in zip(stepped, weights)) / sum(w.numel() for w in weights)
    assert moved < 0.2
