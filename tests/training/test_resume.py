"""Kill a training loop with SIGKILL at a random step (and once in the middle of writing a checkpoint),
rerun it, and get bit for bit the parameters and metrics of an uninterrupted run."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.training import resume_worker

WORKER = Path(resume_worker.__file__)
TIMING = {"rollout_s", "step_s"}  # wall-clock metrics: the only ones a rerun may change


def _killed(loop: str, ckpt: Path, *flags: str) -> None:
    proc = subprocess.run([sys.executable, str(WORKER), loop, str(ckpt), *flags], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr[-2000:]  # died by SIGKILL, not by an error


def _same_points(a: list, b: list) -> bool:
    strip = [(s, {k: v for k, v in m.items() if k not in TIMING}) for s, m in a]
    return strip == [(s, {k: v for k, v in m.items() if k not in TIMING}) for s, m in b]


@pytest.mark.parametrize(
    "loop, kills",
    [
        # dies writing its first checkpoint (had the rerun loaded the half-written file, it would have
        # failed instead of being killed), then at a random step
        ("sft", ["--kill-in-save 1", "--kill-at {step}"]),
        ("diffu_grpo", ["--kill-at {step}"]),
        ("just_grpo", ["--kill-at {step}"]),
    ],
)
def test_killed_run_resumes_to_the_same_parameters_and_metrics(loop, kills, tmp_path):
    reference = resume_worker.train(loop, tmp_path / "uninterrupted")
    step = random.randrange(3, resume_worker.STEPS - 1)  # after the first checkpoint (every 2 steps)
    ckpt = tmp_path / "ckpt"
    for flags in kills:
        _killed(loop, ckpt, *flags.format(step=step).split())
    resumed = resume_worker.train(loop, ckpt)
    for name, value in reference["params"].items():
        assert torch.equal(value, resumed["params"][name]), f"{loop} killed at step {step}: {name} differs"
    first = resumed["points"][0][0]  # the resumed attempt logs from its last checkpoint on
    assert first == 2 * (step // 2), f"killed at step {step}, resumed at {first}"
    assert _same_points(resumed["points"], [p for p in reference["points"] if p[0] >= first])
