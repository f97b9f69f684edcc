"""Training compute as token-rows: tokens of every forward pass run with gradients (each one also runs a
backward). The equal-compute control ("more SFT", ``<results>/models/more_sft_for_<method>_from_<init>``)
trains SFT until it has spent the token-rows its RL row spent, so an RL gain is never credited that
more SFT would have given. Rollouts and other no-grad forwards are not counted (stated in the tables).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

FILE = "compute.json"


def control_objective(init_model: str | Path) -> str:
    """The params section whose objective the equal-compute control of an RL row trains with: the
    objective of the model the row started from, so the control is the best use of the row's compute
    without RL. From ``base``, base's own training (pretrain: its tasks and answer format; SFT traces
    would turn it into the sft row instead); from ``sft``, SFT."""
    return "pretrain" if Path(init_model).name == "base" else "sft"


class TokenRows:
    """Counts the tokens of the model's forwards that run with gradients, while installed."""

    def __init__(self, model):
        self.count = 0
        self._hook = model.register_forward_pre_hook(self._add)

    def _add(self, module, args, kwargs=None):
        if torch.is_grad_enabled() and args and isinstance(args[0], torch.Tensor):
            self.count += args[0].numel()

    def close(self) -> None:
        self._hook.remove()


#: the RL run's optimizer settings a control can take over (``rl.control_optimizer: rl``)
OPTIMIZER_KEYS = ("lr", "weight_decay", "grad_clip", "adam_beta2")


def write(out_dir: str | Path, token_rows: int, optimizer: dict) -> None:
    """Record an RL run's training compute and its optimizer settings (``optimizer``: at least
    OPTIMIZER_KEYS) in its model directory."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    record = {"train_token_rows": int(token_rows), "optimizer": {k: optimizer[k] for k in OPTIMIZER_KEYS}}
    (Path(out_dir) / FILE).write_text(json.dumps(record) + "\n")


def _record(model_dir: str | Path) -> dict:
    path = Path(model_dir) / FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the RL stage writes it (rerun that RL model)")
    return json.loads(path.read_text())


def read(model_dir: str | Path) -> int:
    return _record(model_dir)["train_token_rows"]


def control_config(cfg: dict, rl_model_dir: str | Path, optimizer: str) -> dict:
    """The training section ``cfg`` (pretrain's or sft's) as the control of the RL model in
    ``rl_model_dir`` runs it. ``optimizer``: ``own`` keeps ``cfg``'s recipe (its peak rate, warmup
    and schedule, restarted from step 0); ``rl`` takes the RL run's AdamW settings (rate, constant,
    no warmup, weight decay, clipping, beta2), so the control differs from its RL row in the
    objective only. Either way no quality target (``select.stop_at``) ends it early: it spends its RL
    row's compute."""
    if (cfg["select"] or {}).get("stop_at"):
        cfg = {**cfg, "select": None}
    if optimizer == "own":
        return cfg
    rl = _record(rl_model_dir).get("optimizer")
    if rl is None:
        raise ValueError(f"{Path(rl_model_dir) / FILE} has no optimizer settings: rerun that RL model")
    return {**cfg, **rl, "lr_schedule": "constant", "warmup_steps": 0}
