"""LLaDA configuration, field names as in GSAI-ML/LLaDA-8B-Instruct's config.json.

Keeping LLaDA's names (d_model, n_layers, mlp_hidden_size, ...) is what lets the paper
profile load the released 8B checkpoint into the same class the tiny profile trains.

This file and modeling_llada.py import nothing from ``pipeline``: ``io.save`` copies both beside
the weights so a saved model loads with ``trust_remote_code=True`` where the project is absent.
"""

from __future__ import annotations

from transformers import PretrainedConfig


class LLaDAConfig(PretrainedConfig):
    model_type = "llada"

    def __init__(
        self,
        d_model: int = 128,
        n_heads: int = 4,
        n_kv_heads: int | None = None,
        n_layers: int = 4,
        mlp_hidden_size: int = 352,  # SwiGLU width; LLaDA-8B: 12288 (x2 projections)
        vocab_size: int = 64,
        embedding_size: int | None = None,  # rows of wte / ff_out; LLaDA pads to 126464
        max_sequence_length: int = 4096,
        rope_theta: float = 500000.0,
        rope_full_precision: bool = True,  # rotate q/k in float32 under bf16/fp16, as LLaDA-8B's config asks
        rms_norm_eps: float = 1e-5,
        include_bias: bool = False,
        include_qkv_bias: bool = False,
        weight_tying: bool = False,
        init_std: float = 0.02,
        mask_token_id: int = 126336,
        eos_token_id: int = 126081,
        pad_token_id: int = 126081,
        block_type: str = "llama",
        layer_norm_type: str = "rms",
        activation_type: str = "silu",
        prompt_width: int = 0,
        expert_tokens: list[list[int]] | None = None,
        clip_each_expert: bool = False,
        **kwargs,
    ):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads if n_kv_heads is not None else n_heads
        self.n_layers = n_layers
        self.mlp_hidden_size = mlp_hidden_size
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size or vocab_size
        self.max_sequence_length = max_sequence_length
        self.rope_theta = rope_theta
        self.rope_full_precision = rope_full_precision
        self.rms_norm_eps = rms_norm_eps
        self.include_bias = include_bias
        self.include_qkv_bias = include_qkv_bias
        self.weight_tying = weight_tying
        self.init_std = init_std
        self.mask_token_id = mask_token_id
        self.block_type = block_type
        self.layer_norm_type = layer_norm_type
        self.activation_type = activation_type
        # Prompts are left-padded with attended EOS tokens (LLaDA), so the pad count is part of the
        # input: a model trained on a mix of tasks sees its short prompts padded to the batch's
        # longest, and evaluated one task at a time it would see them unpadded. A model built with
        # prompt_width > 0 has every prompt padded to at least that many tokens, in training,
        # rollouts and evaluation alike (pipeline.training.batches.left_pad). 0: to the batch's
        # longest prompt, as LLaDA-8B and the papers' code.
        self.prompt_width = prompt_width
        # Task experts (tiny profile): one whole network per entry, a list of token ids (task keywords);
        # each row of a batch runs the network owning the first such token its input holds. No
        # parameter is shared between networks, so training one cannot move another's accuracy (a
        # small model trained on the mix learned Sudoku at the other tasks' expense, at times that were
        # the seed's). None: one network (LLaDA-8B).
        self.expert_tokens = [list(group) for group in expert_tokens] if expert_tokens else None
        # training clips each expert network's gradient by its own norm (Processes.clip_gradients)
        self.clip_each_expert = bool(clip_each_expert and expert_tokens)
        # Generic names transformers utilities look for.
        self.hidden_size = d_model
        self.num_attention_heads = n_heads
        self.num_hidden_layers = n_layers
        super().__init__(eos_token_id=eos_token_id, pad_token_id=pad_token_id, **kwargs)
        for unsupported, value, supported in (
            ("block_type", block_type, "llama"),
            ("layer_norm_type", layer_norm_type, "rms"),
            ("activation_type", activation_type, "silu"),
            # LLaDA/OLMo switches that change the computation without changing any tensor name (those
            # that add or drop tensors, e.g. attention_layer_norm, fail the strict load in io.load)
            ("alibi", kwargs.get("alibi", False), False),
            ("rope", kwargs.get("rope", True), True),
            ("scale_logits", kwargs.get("scale_logits", False), False),
            ("clip_qkv", kwargs.get("clip_qkv"), None),
        ):
            if value != supported:
                raise ValueError(f"LLaDAConfig.{unsupported}={value!r}: only {supported!r} is implemented")
        if d_model % n_heads or n_heads % self.n_kv_heads:
            raise ValueError("LLaDAConfig: d_model must divide by n_heads, n_heads by n_kv_heads")

    def expert_keywords(self) -> list[tuple[int, int]]:
        """(keyword token id, its expert) for every keyword, in the order routing tries them."""
        return [(t, e) for e, group in enumerate(self.expert_tokens or []) for t in group]
