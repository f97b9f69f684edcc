"""RL method registry and the contract every method meets.

A method is one module (its class and an ``OPTIONS`` literal documenting its params section),
one line in ``METHODS`` and one params section ``rl.methods.<name>``; the schema, Snakemake and
DVC pick it up from there. Methods share the loop in :mod:`pipeline.rl.loop`. A section's optional
``overrides`` sets shared ``rl`` keys (batch, schedule, lengths) for that method only, so each
paper's own settings can live side by side (see :func:`method_config`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pipeline.core.registry import check, resolve

if TYPE_CHECKING:
    import torch

METHODS: dict[str, str] = {
    "diffu_grpo": "pipeline.rl.diffu_grpo:DiffuGRPO",
    "just_grpo": "pipeline.rl.just_grpo:JustGRPO",
}


@dataclass
class Rollout:
    """What a method's rollout hands to its ``prepare``: the completions and anything measured while
    sampling them (e.g. JustGRPO's per-step log-probs), so no state is kept on the method."""

    completion: torch.Tensor  # [B, L] completion token ids
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. "token_logprobs" [B, L]
    rows: torch.Tensor | None = None  # [B] global row index of each completion (keys per-row randomness)


class RLMethod(Protocol):
    """The contract of a GRPO-family method (constructed as ``Method(rl, mask_id, eos_id)`` where
    ``rl`` is :func:`method_config`'s dict: shared keys, overrides applied, own options in ``options``)."""

    name: str
    mu: int  # inner gradient updates per batch of rollouts
    needs_reference: bool  # whether the loop keeps a frozen copy of the initial model

    def rollout(self, model, prompt: torch.Tensor, attn: torch.Tensor, generator: torch.Generator) -> Rollout:
        """Sample completions for prompt [B, P] (attn [B, P], 0 = left padding)."""

    def advantages(self, rewards: torch.Tensor) -> torch.Tensor:
        """rewards [P, G] (G rollouts per prompt) -> advantages [P*G]."""

    def prepare(
        self,
        model,
        ref_model,
        prompt: torch.Tensor,
        attn: torch.Tensor,
        rollout: Rollout,
        advantages: torch.Tensor,
        generator: torch.Generator,
    ) -> dict:
        """Everything the ``mu`` updates need that does not change between them (old / reference log-probs)."""

    def backward(
        self, model, batch: dict, k: int, backward: Callable[[torch.Tensor], None]
    ) -> tuple[float, dict[str, float]]:
        """Inner update ``k`` on one micro-batch: call ``backward`` on its loss (once, or once per piece
        for a method that builds its gradient piecewise, e.g. JustGRPO per pass); return the loss value
        and stats. ``backward`` scales and runs accelerate's backward, so gradients accumulate in
        ``.grad`` the way DDP and FSDP expect; every process must make the same number of calls."""

    def micro_scales(self, valid: torch.Tensor) -> torch.Tensor:
        """valid [n_micro] (rows with A != 0 per micro-batch of the step) -> c [n_micro]: the step's
        gradient is sum_m c_m grad(loss_m), which fixes how the paper combines micro-batches."""


#: the run that trains on all of rl.tasks at once (rl.runs); any other run trains on one task
ALL_TASKS = "all"


def run_for_task(rl_params: dict, task: str) -> str | None:
    """The entry of ``rl.runs`` whose model answers eval task ``task``: the task's own run, else the
    run ``rl.run_for_eval`` names for it (JustGRPO: HumanEval and MBPP by the AceCode-Hard run), else
    ``all``; None when no run answers it. Snakemake, the stages and validation all ask this."""
    runs = rl_params["runs"]
    for run in (task, rl_params.get("run_for_eval", {}).get(task), ALL_TASKS):
        if run in runs:
            return run
    return None


def method_config(rl_params: dict, name: str, run: str = ALL_TASKS) -> dict:
    """The ``rl`` section as method ``name`` runs it for one ``run`` (an entry of ``rl.runs``): the shared
    keys, then ``rl.methods.<name>.overrides``, then that run's ``per_task.<run>`` entry (shared keys or
    the method's options). The method's own options end up under ``options`` and ``tasks`` is the run's.
    Imports nothing (params validation uses it)."""
    check(METHODS, name, "RL method")
    if name not in rl_params["methods"]:
        raise KeyError(
            f"rl.methods.{name} is missing: each RL method reads its own section "
            f"(configured: {', '.join(rl_params['methods'])})"
        )
    section = dict(rl_params["methods"][name])
    overrides = section.pop("overrides", {})
    per_task = section.pop("per_task", {}).get(run, {})
    shared = {k: v for k, v in rl_params.items() if k not in ("methods", "runs", "run_for_eval")}
    own = {k: v for k, v in per_task.items() if k not in shared}
    schedule = {k: v for k, v in per_task.items() if k in shared}
    tasks = shared["tasks"] if run == ALL_TASKS else [run]
    return {**shared, **overrides, **schedule, "tasks": tasks, "options": {**section, **own}}


def get_method(name: str, rl: dict, mask_id: int, eos_id: int) -> RLMethod:
    """Method ``name`` built from ``rl`` = ``method_config(params["rl"], name)``."""
    return resolve(METHODS, name, "RL method")(rl, mask_id, eos_id)
