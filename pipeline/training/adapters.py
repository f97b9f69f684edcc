"""What a training stage trains: the whole model (full fine-tuning), or LoRA adapters on a frozen base
(peft), with optional gradient checkpointing. Params: ``<stage>.lora`` (null = full fine-tuning) and
``<stage>.gradient_checkpointing``.

With LoRA the adapters are float32 whatever the base's dtype (the optimizer never steps bf16), the
KL reference of diffu-GRPO is the same model with its adapters disabled (no second copy of 8B
weights), and a saved run holds both the adapter (``adapter/``) and the merged weights the next stage
loads, as d1 merges its SFT adapter before RL.
"""

from __future__ import annotations

from pathlib import Path

import torch


def load_trainable(model_dir, cfg: dict, device, runtime: dict):
    """The starting model of a training stage, then LoRA-wrapped if ``cfg["lora"]`` is set.

    Full fine-tuning: float32 master weights (bf16 is the compute dtype, under autocast). LoRA: the
    frozen base in the compute dtype (``runtime.dtype``): it takes no optimizer step, so it needs no
    float32 master, and autocast would round it to bf16 in every forward anyway (8B: 16 GB, not 32;
    d1 loads its LoRA base in bf16 too). ``lora.quantize_base``: d1's 4-bit NF4 base (CUDA only)."""
    from pipeline.core.runtime import dtype_of
    from pipeline.model import io

    lora = cfg.get("lora") or {}
    quantize = bool(lora.get("quantize_base"))
    if quantize:
        dtype = torch.bfloat16
    elif lora:
        dtype = dtype_of(runtime)
    else:
        dtype = torch.float32
    model, tok = io.load_stage_model(model_dir, dtype, device, quantize)
    if quantize:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=bool(cfg.get("gradient_checkpointing"))
        )
    return prepare_trainable(model, cfg), tok


def prepare_trainable(model, cfg: dict):
    """The model as a stage trains it: LoRA-wrapped when ``cfg["lora"]`` is set, checkpointed if asked."""
    if cfg.get("gradient_checkpointing"):
        model.gradient_checkpointing_enable()
    lora = cfg.get("lora")
    if not lora:
        return model
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=list(lora["targets"]),
        bias="none",
    )
    missing = [t for t in lora["targets"] if not any(n.endswith("." + t) for n, _ in model.named_modules())]
    if missing:
        raise ValueError(
            f"lora.targets {missing} name no module of the model (LLaDA's: q_proj, k_proj, v_proj, "
            "attn_out, ff_proj, up_proj, ff_out)"
        )
    peft_model = get_peft_model(model, config)
    for name, p in peft_model.named_parameters():
        if "lora_" in name:
            p.data = p.data.float()  # float32 adapters on a base of any dtype
    return peft_model


def is_lora(model) -> bool:
    return hasattr(model, "disable_adapter") and hasattr(model, "merge_and_unload")


class AdapterDisabled(torch.nn.Module):
    """The base model inside a LoRA model: calls run with the adapters off (diffu-GRPO's KL reference)."""

    def __init__(self, peft_model):
        super().__init__()
        self.peft_model = peft_model

    def forward(self, *args, **kwargs):
        with self.peft_model.disable_adapter():
            return self.peft_model(*args, **kwargs)


def reference_of(model):
    """A frozen copy of the starting policy for a KL term: the adapter-disabled model under LoRA, else a copy."""
    if is_lora(model):
        return AdapterDisabled(model)
    import copy

    ref = copy.deepcopy(model).eval()
    ref.requires_grad_(False)
    return ref


def for_saving(model, out_dir: str | Path):
    """The plain model to save (merged weights under LoRA; the adapter itself goes to ``<out>/adapter``)."""
    if not is_lora(model):
        return model
    model.save_pretrained(str(Path(out_dir) / "adapter"))
    return model.merge_and_unload()
