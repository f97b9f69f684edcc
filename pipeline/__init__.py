"""RL post-training of masked diffusion language models: d1 (diffu-GRPO) and JustGRPO.

Stages: ``python -m pipeline <stage> --params params.yaml ...`` (see :mod:`pipeline.stages`);
the layers and which may import which are in docs/architecture.md.
"""

import os

# MKL's strict conditional numerical reproducibility, set before the first matmul (here, not in
# core.threads: stages, benchmarks and tests all import the package first): on AVX-512 CPUs a
# float32 matmul's rounding otherwise depends on the thread count (measured on a Sapphire Rapids
# host: 15 of 22 tensors of the tiny model's forward+backward differed between 1 and 2 threads), and
# threads.rebalance() changes the thread count mid-run. Cost: ~2% per training step alone, 10-20% per
# stage job of the main job (docs/tiny-testbed.md, 2026-12-03). Another value may be set in the environment
# (e.g. MKL_CBWR=AVX2,STRICT: one code path on every AVX2 CPU).
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

# glibc malloc: keep freed memory instead of page-faulting it back in every step (pipeline.core.allocator)
from pipeline.core.allocator import keep_freed_memory

keep_freed_memory()
