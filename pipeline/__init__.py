"""RL post-training of masked diffusion language models: d1 (diffu-GRPO) and JustGRPO.

Each stage is a CLI: ``python -m pipeline.<stage> --params params.yaml ...``.
"""
