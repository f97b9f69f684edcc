"""A straightforward LLaDA forward from a raw state dict, to check the model class against.

Written from LLaDA's published architecture (GSAI-ML/LLaDA-8B-Instruct, block_type llama): pre-norm
RMSNorm blocks, RoPE (rotate-half), full bidirectional attention, SwiGLU MLP, no biases, untied
output head. The casts follow LLaDA's code: RMSNorm in float32, then back to the compute dtype before
the weight; RoPE in float32 when ``rope_full_precision``; everything else in the weights' dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    y = x.float()
    y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + eps)
    return weight * y.to(x.dtype)


def rope(x: torch.Tensor, theta: float, full_precision: bool) -> torch.Tensor:
    """x [B, H, L, hd] rotated by position 0..L-1."""
    dtype, hd, n = x.dtype, x.shape[-1], x.shape[-2]
    if full_precision:
        x = x.float()
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    angle = torch.outer(torch.arange(n, dtype=torch.float32), inv_freq)
    angle = torch.cat((angle, angle), dim=-1)  # [L, hd]
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    half = torch.cat((-x[..., hd // 2 :], x[..., : hd // 2]), dim=-1)
    return (x * cos + half * sin).to(dtype)


def llada_forward(
    sd: dict[str, torch.Tensor],
    cfg: dict,
    ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    rope_full_precision: bool = True,
) -> torch.Tensor:
    """Logits [B, L, embedding_size] of ids [B, L]; ``sd`` holds LLaDA's tensor names (model.transformer.*)."""
    w = lambda name: sd[f"model.transformer.{name}.weight"]
    B, L = ids.shape
    H, Hkv = cfg["n_heads"], cfg["n_kv_heads"]
    hd, eps = cfg["d_model"] // H, cfg["rms_norm_eps"]
    bias = None
    if attention_mask is not None:  # padded keys get no weight; every query still attends to all the rest
        bias = torch.zeros(attention_mask.shape, dtype=w("wte").dtype)
        bias = bias.masked_fill(attention_mask == 0, float("-inf"))[:, None, None, :]
    x = w("wte")[ids]
    for i in range(cfg["n_layers"]):
        b = lambda name, i=i: w(f"blocks.{i}.{name}")
        h = rms_norm(x, b("attn_norm"), eps)
        q = (h @ b("q_proj").T).view(B, L, H, hd).transpose(1, 2)
        k = (h @ b("k_proj").T).view(B, L, Hkv, hd).transpose(1, 2).repeat_interleave(H // Hkv, dim=1)
        v = (h @ b("v_proj").T).view(B, L, Hkv, hd).transpose(1, 2).repeat_interleave(H // Hkv, dim=1)
        q = rope(q, cfg["rope_theta"], rope_full_precision)
        k = rope(k, cfg["rope_theta"], rope_full_precision)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # no causal mask
        x = x + att.transpose(1, 2).reshape(B, L, -1) @ b("attn_out").T
        h = rms_norm(x, b("ff_norm"), eps)
        x = x + (F.silu(h @ b("ff_proj").T) * (h @ b("up_proj").T)) @ b("ff_out").T
    return rms_norm(x, w("ln_f"), eps) @ w("ff_out").T
