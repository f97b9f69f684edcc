"""Sampler registry and the contract every sampler meets.

A sampler is one module (its function and an ``OPTIONS`` literal documenting its params), one line
in ``SAMPLERS`` and one params section ``sampling.<name>`` holding its options; the schema picks it
up from there. Every sampler is called as

    sampler(model, prompt [B, P], spec: Decoding, *, attention_mask=None, generator=None, **options) -> Generation

and counts the forward passes it runs (``Generation.nfe``). :func:`get_sampler` binds the options.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Protocol

from pipeline.core.registry import resolve
from pipeline.sampling.spec import STOPPING_SAMPLERS, Decoding

if TYPE_CHECKING:
    import torch

    from pipeline.sampling.base import Generation

SAMPLERS: dict[str, str] = {
    "low_confidence": "pipeline.sampling.low_confidence:low_confidence",
    "random": "pipeline.sampling.random_order:random_order",
    "ar_order": "pipeline.sampling.ar_order:ar_order",
    "threshold": "pipeline.sampling.threshold:confidence_threshold",
    "entropy_bounded": "pipeline.sampling.entropy_bounded:entropy_bounded",
}


class Sampler(Protocol):
    def __call__(
        self,
        model,
        prompt: torch.Tensor,
        spec: Decoding,
        *,
        attention_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Generation:
        """Decode ``spec.gen_length`` tokens after each prompt row; ``attention_mask`` [B, P] or None
        (pads attended, as in LLaDA); ``generator`` drives every random draw."""


def get_sampler(name: str, options: dict | None = None) -> Sampler:
    """Sampler ``name`` with its options (``params["sampling"][name]``, or overrides of them) bound."""
    fn = resolve(SAMPLERS, name, "sampler")
    return functools.partial(fn, **options) if options else fn


__all__ = ["SAMPLERS", "STOPPING_SAMPLERS", "Decoding", "Sampler", "get_sampler"]
