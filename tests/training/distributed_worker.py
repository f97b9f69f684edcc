"""A few training steps of each given kind (sft, diffu_grpo, just_grpo) on a tiny float64 model, run by
tests/training/test_distributed.py as one process (``python``) or N (``accelerate launch``); all kinds
in one launch, since starting the processes costs more than the steps. The main process saves each
kind's final parameters to OUT_DIR/<kind>.pt."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from pipeline.core.tracking import NullRun
from pipeline.model import io
from pipeline.rl import get_method
from pipeline.rl.loop import run_rl
from pipeline.tasks import get_task
from pipeline.training.batches import EncodedExamples
from pipeline.training.distributed import Processes
from pipeline.training.trainer import train_masked_diffusion
from tests.helpers import CPU, tiny_rl_config

SFT = {
    "steps": 3,
    "batch_size": 8,
    "micro_batch": 2,
    "lr": 1e-2,
    "lr_schedule": "constant",
    "warmup_steps": 1,
    "weight_decay": 0.01,
    "grad_clip": 1.0,
    "eps": 1e-3,
    "train_lengths": [16, 24],
    "seed": 0,
}
OPTIONS = {
    "diffu_grpo": {"mu": 2, "beta": 0.04, "clip_eps": 0.5, "p_mask_prompt": 0.15, "temperature": 1.0},
    "just_grpo": {"mu": 1, "clip_eps": 0.2, "positions_per_pass": 3, "temperature": 1.0, "reference_ranks": 2},
}


def train(kind: str, out: Path) -> None:
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    model = model.double()
    procs = Processes(CPU)
    task = get_task("tiny_arithmetic", seed=0)
    examples = {"tiny_arithmetic": task.load("train", 40)}
    if kind == "sft":
        enc = EncodedExamples(tok, {"tiny_arithmetic": task}, examples, target_format="reasoning")
        train_masked_diffusion(model, enc, SFT, NullRun(), "sft", procs)
    else:
        task.reward = lambda completion, ex: float(len(completion) % 3)  # reward spread: non-zero advantages
        enc = EncodedExamples(tok, {"tiny_arithmetic": task}, examples, target_format=None, mode="rl")
        rl = {**tiny_rl_config(OPTIONS[kind]), "prompts_per_step": 4, "prompts_per_micro": 1, "group_size": 3}
        method = get_method(kind, rl, tok.mask_token_id, tok.eos_token_id)
        run_rl(model, tok, method, enc, rl, NullRun(), procs)
    if procs.is_main:
        torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, out)
    procs.wait()


if __name__ == "__main__":
    out_dir, *kinds = sys.argv[1:]
    for kind in kinds:
        train(kind, Path(out_dir) / f"{kind}.pt")
