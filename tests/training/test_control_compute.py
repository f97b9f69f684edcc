"""The equal-compute control's record and optimizer (pipeline/training/compute.py)."""

import json

import pytest
import torch

from pipeline.training import compute
from pipeline.training.trainer import LRSchedule, make_optimizer

SFT = {
    "lr": 2e-3,
    "lr_schedule": "cosine",
    "warmup_steps": 50,
    "weight_decay": 0.01,
    "grad_clip": 1.0,
    "steps": 600,
    "select": {"every": 100, "stop_at": {"tiny_sudoku": 45}},
}
RL = {"lr": 2e-4, "weight_decay": 0.0, "grad_clip": 0.5, "adam_beta2": 0.99, "group_size": 8}


def test_rl_row_records_compute_and_optimizer(tmp_path):
    compute.write(tmp_path, 1234, RL)
    record = json.loads((tmp_path / compute.FILE).read_text())
    assert record == {
        "train_token_rows": 1234,
        "optimizer": {"lr": 2e-4, "weight_decay": 0.0, "grad_clip": 0.5, "adam_beta2": 0.99},
    }
    assert compute.read(tmp_path) == 1234


def test_control_takes_the_rl_rows_optimizer(tmp_path):
    compute.write(tmp_path, 10, RL)
    cfg = compute.control_config(SFT, tmp_path, "rl")
    assert (cfg["lr"], cfg["weight_decay"], cfg["grad_clip"], cfg["adam_beta2"]) == (2e-4, 0.0, 0.5, 0.99)
    assert (cfg["lr_schedule"], cfg["warmup_steps"]) == ("constant", 0)
    assert cfg["select"] is None  # a quality target would end it before it spent the RL row's compute
    assert LRSchedule(cfg["lr_schedule"], cfg["warmup_steps"], cfg["steps"])(0) == 1.0  # full rate at once
    opt, _ = make_optimizer(
        torch.nn.Linear(2, 2), cfg["lr"], cfg["weight_decay"], LRSchedule("constant", 0, 1), cfg["adam_beta2"]
    )
    assert opt.param_groups[0]["betas"] == (0.9, 0.99)


def test_control_with_its_own_recipe_keeps_it(tmp_path):
    compute.write(tmp_path, 10, RL)
    cfg = compute.control_config(SFT, tmp_path, "own")
    assert cfg == {**SFT, "select": None}
    plain = {**SFT, "select": {"every": 100}}  # selection without a target stays
    assert compute.control_config(plain, tmp_path, "own") == plain


def test_a_record_without_optimizer_says_to_rerun(tmp_path):
    (tmp_path / compute.FILE).write_text(json.dumps({"train_token_rows": 5}))
    with pytest.raises(ValueError, match="rerun that RL model"):
        compute.control_config(SFT, tmp_path, "rl")
    with pytest.raises(FileNotFoundError, match="rerun that RL model"):
        compute.read(tmp_path / "missing")
