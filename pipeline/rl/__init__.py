"""RL method registry: name -> "module:Class". A method is one module, one line here and one
params section under ``rl`` (e.g. ``rl.diffu_grpo``). Methods share the loop in ``pipeline.rl.loop``.
A section's optional ``overrides`` sets shared ``rl`` keys (batch, schedule, lengths) for that method
only, so each paper's own settings can live side by side (see ``method_config``).

A method provides: ``mu`` (inner updates per batch), ``needs_reference``, ``rollout(model, prompt,
attn, generator) -> completion [B, L]``, ``advantages(rewards [P, G]) -> [P*G]``,
``prepare(model, ref_model, prompt, attn, completion, advantages, generator) -> batch`` and
``loss(model, batch, k) -> (loss, stats)``.
"""
from __future__ import annotations

from pipeline.registry import check, resolve

METHODS: dict[str, str] = {
    "diffu_grpo": "pipeline.rl.diffu_grpo:DiffuGRPO",
    "just_grpo": "pipeline.rl.just_grpo:JustGRPO",
}


def _check_section(rl_params: dict, name: str) -> None:
    """An unknown name lists the known ones; a known one needs its params section. Imports nothing,
    so params validation (run by Snakemake when it reads the workflow) does not load torch."""
    check(METHODS, name, "RL method")
    if not isinstance(rl_params.get(name), dict):
        raise KeyError(f"params rl.{name} is missing: each RL method reads its own section")


def method_config(rl_params: dict, name: str) -> dict:
    """The ``rl`` section as method ``name`` runs: the shared keys with ``rl.<name>.overrides`` on top."""
    _check_section(rl_params, name)
    return {**rl_params, **rl_params[name].get("overrides", {})}


def get_method(name: str, rl_params: dict, mask_id: int, eos_id: int):
    _check_section(rl_params, name)
    return resolve(METHODS, name, "RL method")(rl_params, mask_id, eos_id)
