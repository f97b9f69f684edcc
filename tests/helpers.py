"""Helpers shared by the tests: a recording model wrapper and a few-steps RL run."""

from __future__ import annotations


class Recorder:
    """Wraps a model and keeps every input it was called with (to count and inspect forwards)."""

    def __init__(self, model):
        self.model, self.inputs = model, []
        self.config = model.config

    def __call__(self, x, attention_mask=None, **kwargs):
        self.inputs.append(x.clone())
        return self.model(x, attention_mask=attention_mask, **kwargs)


#: runtime params of in-process test runs: one CPU process, float32
CPU = {"threads": 1, "adapt_threads": False, "device": "cpu", "dtype": "float32", "launch": "python -m"}


def tiny_rl_config(options: dict) -> dict:
    """A ``method_config``-shaped rl dict for a few quick steps: shared keys plus the method's ``options``."""
    shared = {
        "steps": 2,
        "prompts_per_step": 2,
        "prompts_per_micro": 2,
        "group_size": 4,
        "lr": 1e-2,
        "weight_decay": 0.0,
        "grad_clip": 1.0,
        "adam_beta2": 0.99,
        "gen_length": 8,
        "block_length": 4,
        "diffusion_steps": 4,
        "seed": 0,
    }
    return {**shared, "options": options}


def run_few_rl_steps(tiny, method_name: str, rl: dict):
    """A few ``run_rl`` steps of ``method_name`` on a copy of the tiny model, tiny_arithmetic prompts.

    The reward depends on completion length so groups have reward spread (non-zero advantages).
    Returns (method, parameters before, model after).
    """
    import copy

    from pipeline.core.tracking import NullRun
    from pipeline.rl import get_method
    from pipeline.rl.loop import run_rl
    from pipeline.tasks import get_task
    from pipeline.training.batches import EncodedExamples
    from pipeline.training.distributed import Processes

    model, tok = copy.deepcopy(tiny[0]), tiny[1]
    task = get_task("tiny_arithmetic", seed=0)
    enc = EncodedExamples(
        tok, {"tiny_arithmetic": task}, {"tiny_arithmetic": task.load("train", 20)}, target_format=None, mode="rl"
    )
    method = get_method(method_name, rl, tok.mask_token_id, tok.eos_token_id)
    before = [p.detach().clone() for p in model.parameters()]
    task.reward = lambda completion, ex: float(len(completion) % 3)
    run_rl(model, tok, method, enc, rl, NullRun(), Processes(CPU))
    return method, before, model
