"""LLaDA mask predictor: a Llama-style transformer with full bidirectional attention.

Module names follow LLaDA's OLMo-derived modeling code (``model.transformer.wte``,
``blocks.{i}.q_proj/k_proj/v_proj/attn_out/ff_proj/up_proj/ff_out``, ``attn_norm``,
``ff_norm``, ``ln_f``, ``transformer.ff_out``) so an LLaDA-8B-Instruct state dict loads
with ``LLaDAModelLM.from_pretrained(path)`` without renaming.

Imports are relative or third-party only: ``io.save`` copies this file and configuration_llada.py
into every saved model directory, where transformers loads them as remote code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput

from .configuration_llada import LLaDAConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in float32: bf16 variance underflows for the 8B model's activations.
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class RotaryEmbedding(nn.Module):
    """Rotate-half RoPE as in Llama/LLaDA.

    Frequencies are recomputed per call instead of kept in a buffer: transformers builds
    models on the meta device when loading, which leaves non-persistent buffers garbage.
    """

    def __init__(self, head_dim: int, theta: float, full_precision: bool = True):
        super().__init__()
        self.head_dim, self.theta, self.full_precision = head_dim, theta, full_precision

    def forward(self, q: torch.Tensor, k: torch.Tensor, q_pos: torch.Tensor | None = None, offset: int = 0):
        """q [B, H, Q, hd], k [B, H, L, hd]: key j sits at position offset + j; query i at q_pos[b, i]
        ([B, Q]; None: at its key's position). offset > 0: a window of a longer sequence (KV cache)."""
        # rope_full_precision (LLaDA-8B sets it): LLaDA rotates bf16/fp16 q, k in float32 and casts back;
        # rotating in bf16 instead moves the logits away from LLaDA's. float32 and float64 are left as they are.
        upcast = self.full_precision and k.dtype in (torch.float16, torch.bfloat16)
        if upcast:
            dtype, q, k = k.dtype, q.float(), k.float()
        seq_len = k.shape[-2]
        exponent = torch.arange(0, self.head_dim, 2, device=k.device, dtype=torch.float32) / self.head_dim
        inv_freq = 1.0 / (self.theta**exponent)
        pos = torch.arange(offset, offset + seq_len, device=k.device, dtype=torch.float32)
        freqs = torch.outer(pos, inv_freq)  # [L, hd/2]
        emb = torch.cat((freqs, freqs), dim=-1)  # [L, hd]
        cos, sin = emb.cos().to(k.dtype), emb.sin().to(k.dtype)

        def rotate(x, cos, sin):
            x1, x2 = x.chunk(2, dim=-1)
            return x * cos + torch.cat((-x2, x1), dim=-1) * sin

        q_cos, q_sin = (cos, sin) if q_pos is None else (cos[q_pos][:, None], sin[q_pos][:, None])  # [B, 1, Q, hd]
        q, k = rotate(q, q_cos, q_sin), rotate(k, cos, sin)
        return (q.to(dtype), k.to(dtype)) if upcast else (q, k)


class KVCache:
    """Keys and values of every position and layer, for Fast-dLLM's prefix and dual caches
    (Wu et al. 2025, arXiv 2505.22618, Sec. 3.1-3.2).

    A forward with an empty cache (``window`` None) is a full pass that records each layer's keys and
    values [B, Hkv, T, hd] (rotated). A forward with ``window = (lo, hi)`` runs positions lo..hi-1
    only: their keys and values are computed afresh and spliced in place of the recorded ones for
    that call (the record is not changed), so the attention sees T keys in sequence order and the
    padding bias applies unchanged. Outside the window every key and value is the recorded one: exact
    while those positions' tokens, and everything their hidden states attended to, are as they were
    when recorded; after a commit inside the window they are approximations, which is why the
    caller refreshes (records again) at every block boundary.
    """

    def __init__(self):
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.window: tuple[int, int] | None = None
        self.experts: dict[int, KVCache] = {}  # a task-expert model's record: one cache per expert's rows

    @property
    def recording(self) -> bool:
        return self.window is None

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.recording:
            self.keys.append(k)
            self.values.append(v)
            return k, v
        lo, hi = self.window
        keys, values = self.keys[layer], self.values[layer]
        k = torch.cat([keys[:, :, :lo], k, keys[:, :, hi:]], 2)  # [B, Hkv, T, hd]
        v = torch.cat([values[:, :, :lo], v, values[:, :, hi:]], 2)
        return k, v


class LLaDALlamaBlock(nn.Module):
    def __init__(self, config: LLaDAConfig):
        super().__init__()
        self.n_heads, self.n_kv_heads = config.n_heads, config.n_kv_heads
        self.head_dim = config.d_model // config.n_heads
        d, kv = config.d_model, config.n_kv_heads * self.head_dim
        qkv_bias = config.include_bias or config.include_qkv_bias
        self.attn_norm = RMSNorm(d, config.rms_norm_eps)
        self.ff_norm = RMSNorm(d, config.rms_norm_eps)
        self.q_proj = nn.Linear(d, d, bias=qkv_bias)
        self.k_proj = nn.Linear(d, kv, bias=qkv_bias)
        self.v_proj = nn.Linear(d, kv, bias=qkv_bias)
        self.attn_out = nn.Linear(d, d, bias=config.include_bias)
        self.ff_proj = nn.Linear(d, config.mlp_hidden_size, bias=config.include_bias)  # SwiGLU gate
        self.up_proj = nn.Linear(d, config.mlp_hidden_size, bias=config.include_bias)
        self.ff_out = nn.Linear(config.mlp_hidden_size, d, bias=config.include_bias)
        self.rotary_emb = RotaryEmbedding(self.head_dim, config.rope_theta, config.rope_full_precision)

    def forward(
        self,
        x: torch.Tensor,
        attention_bias: torch.Tensor | None,
        query_index: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """x [B, L, D] -> [B, L, D], or [B, Q, D] at the positions ``query_index`` [B, Q] only.

        Keys and values always come from all L positions, so a query's output is exactly the one
        a full pass gives it; the queries, output projection and MLP run for Q positions instead
        of L (what the last block needs when only a few positions' logits are wanted).

        ``cache`` (see KVCache): recording, this block's keys and values are stored as ``layer``;
        with a window, ``x`` [B, W, D] holds the window's positions only, their keys and values are
        computed here and every other position's are the cached ones.
        """
        B, L, D = x.shape
        h = hq = self.attn_norm(x)
        if query_index is not None:
            gather = query_index[..., None].expand(-1, -1, D)  # [B, Q, D]
            x, hq = x.gather(1, gather), h.gather(1, gather)  # [B, Q, D]
        Q = x.shape[1]
        # q, k, v in this order: autograd sums their gradients into h in reverse creation order, and
        # another order changes trained weights by rounding (tiny-profile results then move by points)
        q = self.q_proj(hq).view(B, Q, self.n_heads, self.head_dim).transpose(1, 2)  # [B, H, Q, hd]
        k = self.k_proj(h).view(B, L, self.n_kv_heads, self.head_dim).transpose(1, 2)  # [B, Hkv, L, hd]
        v = self.v_proj(h).view(B, L, self.n_kv_heads, self.head_dim).transpose(1, 2)
        lo = cache.window[0] if cache is not None and cache.window is not None else 0
        q, k = self.rotary_emb(q, k, query_index, offset=lo)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # [B, Hkv, T, hd]: the whole sequence's keys and values
        # Full bidirectional attention: no causal mask, only optional key padding bias.
        att = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attention_bias,
            is_causal=False,
            enable_gqa=self.n_kv_heads != self.n_heads,
        )
        x = x + self.attn_out(att.transpose(1, 2).reshape(B, Q, D))
        h = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(h)) * self.up_proj(h))


class LLaDAModel(nn.Module):
    def __init__(self, config: LLaDAConfig):
        super().__init__()
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.embedding_size, config.d_model),
                blocks=nn.ModuleList(LLaDALlamaBlock(config) for _ in range(config.n_layers)),
                ln_f=RMSNorm(config.d_model, config.rms_norm_eps),
            )
        )
        if not config.weight_tying:
            self.transformer["ff_out"] = nn.Linear(config.d_model, config.embedding_size, bias=False)
        self.weight_tying = config.weight_tying
        self.gradient_checkpointing = False  # recompute each block's activations in the backward (memory)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        logits_at: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        if cache is not None and cache.window is not None:
            lo, hi = cache.window
            input_ids = input_ids[:, lo:hi]  # the window's positions run; the rest are cached
            logits_at = None if logits_at is None else logits_at - lo
        x = self.transformer.wte(input_ids)  # [B, L, D]
        bias = None
        if attention_mask is not None:
            # [B, 1, 1, L] additive bias so padded keys get no attention weight.
            bias = torch.zeros_like(attention_mask, dtype=x.dtype).masked_fill(attention_mask == 0, float("-inf"))
            bias = bias[:, None, None, :]
        *body, last = self.transformer.blocks
        for i, block in enumerate(body):
            if self.gradient_checkpointing and torch.is_grad_enabled():
                x = torch.utils.checkpoint.checkpoint(block, x, bias, use_reentrant=False)
            elif cache is not None:
                x = block(x, bias, cache=cache, layer=i)
            else:
                x = block(x, bias)
        x = last(x, bias, logits_at, cache, len(body)) if cache is not None else last(x, bias, logits_at)
        x = self.transformer.ln_f(x)  # [B, L or Q, D]
        head = self.transformer.wte.weight if self.weight_tying else self.transformer.ff_out.weight
        return F.linear(x, head)  # [B, L or Q, V]


class LLaDAModelLM(PreTrainedModel):
    config_class = LLaDAConfig
    base_model_prefix = "model"
    _no_split_modules = ["LLaDALlamaBlock"]  # noqa: RUF012 -- transformers reads this class attribute
    _supports_sdpa = True
    supports_gradient_checkpointing = True

    def __init__(self, config: LLaDAConfig):
        super().__init__(config)
        if config.expert_tokens:  # one network per task (LLaDAConfig.expert_tokens)
            self.experts = nn.ModuleList(LLaDAModel(config) for _ in config.expert_tokens)
        else:
            self.model = LLaDAModel(config)
        self.post_init()

    def networks(self) -> list[LLaDAModel]:
        return list(self.experts) if self.config.expert_tokens else [self.model]

    def expert_of(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [B, T] -> [B]: the expert each row runs, by the first expert token it holds."""
        tokens, owner = torch.tensor(self.config.expert_keywords(), device=input_ids.device).T  # [K], [K]
        hits = (input_ids[:, :, None] == tokens).any(1)  # [B, K]
        if not bool(hits.any(1).all()):
            raise ValueError(f"a row holds none of the expert tokens {self.config.expert_tokens}: no network to run")
        return owner[hits.int().argmax(1)]  # [B]: the owner of the first listed token the row holds

    def _routed(self, input_ids, attention_mask, logits_at, cache) -> torch.Tensor:
        """Each row through its own expert; logits back in the batch's row order."""
        route = self.expert_of(input_ids)  # [B]
        if cache is not None and cache.recording:
            cache.experts = {}
        parts, order = [], []
        for e, expert in enumerate(self.experts):
            rows = (route == e).nonzero().squeeze(1)  # [B_e]
            if not len(rows):
                continue
            sub = None
            if cache is not None:
                sub = cache.experts.setdefault(e, KVCache())
                sub.window = cache.window
            mask = None if attention_mask is None else attention_mask[rows]
            at = None if logits_at is None else logits_at[rows]
            parts.append(expert(input_ids[rows], mask, at, sub))
            order.append(rows)
        if len(parts) == 1:  # every row in one expert, in order
            return parts[0]
        return torch.cat(parts)[torch.argsort(torch.cat(order))]  # [B, L or Q, V]

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.init_std
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, RMSNorm):
            nn.init.ones_(module.weight)

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs=None) -> None:
        """Recompute block activations in the backward instead of keeping them (training.gradient_checkpointing)."""
        for net in self.networks():
            net.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        for net in self.networks():
            net.gradient_checkpointing = False

    def get_input_embeddings(self) -> nn.Embedding:
        return self.networks()[0].transformer.wte

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        logits_at: torch.Tensor | None = None,
        cache: KVCache | None = None,
        **kwargs,
    ) -> MaskedLMOutput:
        """Logits over the vocabulary at every position: ``model(input_ids).logits`` is [B, L, V].

        ``logits_at`` [B, Q] (positions) -> logits [B, Q, V] at those positions only, the same values
        as the full pass's: the last block then runs its queries and MLP for Q positions instead of
        L (a 1/n_layers cut in compute when Q << L, e.g. JustGRPO's one position per input).

        ``cache`` (KVCache, inference only): an empty one records every layer's keys and values; one
        with a ``window`` runs only the window's positions (``input_ids`` is still the whole [B, T]
        sequence, ``logits_at`` still in sequence positions) and returns logits for the window
        (or at ``logits_at``).
        """
        if self.config.expert_tokens:
            logits = self._routed(input_ids, attention_mask, logits_at, cache)
        else:
            logits = self.model(input_ids, attention_mask, logits_at, cache)
        if logits.shape[-1] != self.config.vocab_size:
            logits = logits[..., : self.config.vocab_size]  # drop LLaDA's padded embedding rows
        return MaskedLMOutput(logits=logits)
