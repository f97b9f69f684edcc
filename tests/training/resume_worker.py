"""A few resumable training steps in a subprocess, killed with SIGKILL at a chosen moment.

    python tests/training/resume_worker.py <loop> <checkpoint dir> [--kill-at STEP] [--kill-in-save N]

<loop>: sft (the masked-diffusion trainer), diffu_grpo or just_grpo (the RL loop). ``--kill-at``: SIGKILL
right after step STEP's metrics (before its checkpoint); ``--kill-in-save``: SIGKILL halfway through
writing the N-th checkpoint. ``train`` runs the same in-process (the uninterrupted reference and
the completing rerun).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.model import io
from pipeline.rl import get_method
from pipeline.rl.loop import run_rl
from pipeline.tasks import get_task
from pipeline.training import checkpoint
from pipeline.training.batches import EncodedExamples
from pipeline.training.distributed import Processes
from pipeline.training.trainer import train_masked_diffusion
from tests.helpers import CPU, tiny_rl_config

STEPS = 7
MODEL = {"d_model": 32, "n_layers": 1, "n_heads": 2, "mlp_hidden_size": 64}
SFT = {
    "steps": STEPS,
    "batch_size": 8,
    "micro_batch": 4,
    "lr": 3e-3,
    "lr_schedule": "cosine",
    "warmup_steps": 2,
    "weight_decay": 0.01,
    "grad_clip": 1.0,
    "eps": 1e-3,
    "train_lengths": [8, 12],
    "seed": 0,
}
RL_OPTIONS = {
    "diffu_grpo": {"mu": 2, "beta": 0.04, "clip_eps": 0.5, "p_mask_prompt": 0.15, "temperature": 0.9},
    "just_grpo": {"mu": 1, "clip_eps": 0.2, "positions_per_pass": 4, "temperature": 1.0},
}


class Recording:
    """Keeps every logged point; SIGKILLs the process after step ``kill_at``'s metrics."""

    def __init__(self, kill_at: int | None):
        self.points, self.kill_at = [], kill_at

    def log_metrics(self, metrics, step=0):
        self.points.append((step, dict(metrics)))
        if step == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def log_table(self, rows, artifact_file):
        pass


def kill_while_saving(n: int) -> None:
    """SIGKILL while the n-th checkpoint is half written."""
    real, calls = torch.save, [0]

    def save(obj, f, *a, **k):
        calls[0] += 1
        if calls[0] == n:
            f.write(b"\0" * 1000)  # the head of a file that never gets its tail
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(obj, f, *a, **k)

    checkpoint.torch.save = save


def train(loop: str, ckpt: str | Path, kill_at: int | None = None, kill_in_save: int | None = None) -> dict:
    """Run ``loop`` resumably from ``ckpt``; the final trainable tensors and every logged point."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, tok = io.build_scratch(MODEL)
    task = get_task("tiny_arithmetic", seed=0)
    mode = "sft" if loop == "sft" else "rl"
    enc = EncodedExamples(
        tok,
        {"tiny_arithmetic": task},
        {"tiny_arithmetic": task.load("train", 40)},
        target_format="answer" if mode == "sft" else None,
        mode=mode,
    )
    resume = checkpoint.Resume(ckpt, key="worker", every=2)
    if kill_in_save:
        kill_while_saving(kill_in_save)
    run = Recording(kill_at)
    if loop == "sft":
        train_masked_diffusion(model, enc, SFT, run, "sft", Processes(CPU), resume=resume)
    else:
        cfg = {**tiny_rl_config(RL_OPTIONS[loop]), "steps": STEPS}
        method = get_method(loop, cfg, tok.mask_token_id, tok.eos_token_id)
        task.reward = lambda completion, ex: float(len(completion) % 3)  # spread in every group
        run_rl(model, tok, method, enc, cfg, run, Processes(CPU), resume=resume)
    return {"params": checkpoint.trainable_state(model), "points": run.points}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("loop", choices=["sft", *RL_OPTIONS])
    ap.add_argument("ckpt")
    ap.add_argument("--kill-at", type=int, default=None)
    ap.add_argument("--kill-in-save", type=int, default=None)
    args = ap.parse_args()
    train(args.loop, args.ckpt, args.kill_at, args.kill_in_save)
    sys.exit("the worker was not killed")


if __name__ == "__main__":
    main()
