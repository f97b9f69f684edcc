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

from pipeline.registry import resolve

METHODS: dict[str, str] = {
    "diffu_grpo": "pipeline.rl.diffu_grpo:DiffuGRPO",
    "just_grpo": "pipeline.rl.just_grpo:JustGRPO",
}


def _resolve(rl_params: dict, name: str):
    """The method's class (an unknown name lists the known ones), once its params section is there."""
    method = resolve(METHODS, name, "RL method")
    if not isinstance(rl_params.get(name), dict):
        raise KeyError(f"params rl.{name} is missing: each RL method reads its own section")
    return method


def method_config(rl_params: dict, name: str) -> dict:
    """The ``rl`` section as method ``name`` runs: the shared keys with ``rl.<name>.overrides`` on top."""
    _resolve(rl_params, name)
    return {**rl_params, **rl_params[name].get("overrides", {})}


def get_method(name: str, rl_params: dict, mask_id: int, eos_id: int):
    return _resolve(rl_params, name)(rl_params, mask_id, eos_id)
