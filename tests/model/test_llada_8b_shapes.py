"""LLaDA-8B-Instruct's dimensions in the project's model class, on the meta device (no memory allocated)."""

import torch

from pipeline.model import LLaDAConfig, LLaDAModelLM

LLADA_8B = dict(
    d_model=4096, n_layers=32, n_heads=32, mlp_hidden_size=12288, vocab_size=126464, max_sequence_length=4096
)


def test_llada_8b_parameter_count_on_meta():
    with torch.device("meta"):
        model = LLaDAModelLM(LLaDAConfig(**LLADA_8B))
    params = list(model.parameters())
    assert all(p.is_meta for p in params)  # shapes only: nothing was allocated
    n = sum(p.numel() for p in params)
    assert abs(n - 8.0e9) / 8.0e9 < 0.01  # LLaDA-8B-Instruct: ~8.02B
    assert n == 2 * 126464 * 4096 + 32 * (4 * 4096**2 + 3 * 4096 * 12288 + 2 * 4096) + 4096  # 8,015,581,184
