"""Random streams that do not depend on how a batch is split across processes.

A multi-process run must draw, for every rollout row, the same random numbers as a one-process run
with the same global batch; otherwise changing the number of GPUs changes the results. Rows are
therefore keyed by their *global* index: row ``i`` of step ``s`` draws from its own generator seeded
with ``row_seed(seed, s, i)``, whichever process decodes it.
"""

from __future__ import annotations

import hashlib

import torch


def row_seed(*keys: int) -> int:
    """A 63-bit seed from integer keys (seed, step, row, ...): stable across processes and runs."""
    digest = hashlib.blake2b(",".join(map(str, keys)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class RowGenerators:
    """One torch.Generator per batch row; ``uniform`` draws each row from its own stream."""

    def __init__(self, seeds: list[int]):
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]

    def __len__(self) -> int:
        return len(self.generators)

    def select(self, rows) -> RowGenerators:
        """The generators of a subset of rows (e.g. one micro-batch), streams kept."""
        out = RowGenerators([])
        out.generators = [self.generators[int(r)] for r in rows]
        return out


def uniform(shape, dtype: torch.dtype, device, generator: torch.Generator | RowGenerators | None) -> torch.Tensor:
    """U[0, 1) of ``shape``; with RowGenerators, row b of the first axis comes from generator b."""
    if not isinstance(generator, RowGenerators):
        return torch.rand(shape, dtype=dtype, device=device, generator=generator)
    if len(generator) != shape[0]:
        raise ValueError(f"{len(generator)} row generators for a batch of {shape[0]} rows")
    rows = [torch.rand(tuple(shape[1:]), dtype=dtype, generator=g) for g in generator.generators]
    return torch.stack(rows).to(device)
