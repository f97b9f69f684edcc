"""RL post-training of masked diffusion language models: d1 (diffu-GRPO) and JustGRPO.

Stages: ``python -m pipeline <stage> --params params.yaml ...`` (see :mod:`pipeline.stages`);
the layers and which may import which are in docs/architecture.md.
"""
