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


def write(out_dir: str | Path, token_rows: int) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / FILE).write_text(json.dumps({"train_token_rows": int(token_rows)}) + "\n")


def read(model_dir: str | Path) -> int:
    path = Path(model_dir) / FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the RL stage writes it (rerun that RL model)")
    return json.loads(path.read_text())["train_token_rows"]
