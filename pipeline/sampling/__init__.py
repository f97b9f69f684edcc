"""Sampler registry: name -> "module:function". A sampler is one module plus one line here.

Every sampler has the signature
``(model, prompt [B,P], attention_mask [B,P] | None, mask_id, gen_length, block_length, steps,
temperature=0.0, generator=None, track_entropy=False, **options) -> Generation``
and counts its forward passes (``Generation.nfe``).
"""
from __future__ import annotations

from pipeline.registry import resolve

SAMPLERS: dict[str, str] = {
    "low_confidence": "pipeline.sampling.low_confidence:low_confidence",
    "random": "pipeline.sampling.low_confidence:random_order",
    "ar_order": "pipeline.sampling.ar_order:ar_order",
    "threshold": "pipeline.sampling.threshold:confidence_threshold",
    "entropy_bounded": "pipeline.sampling.entropy_bounded:entropy_bounded",
}


def get_sampler(name: str):
    return resolve(SAMPLERS, name, "sampler")


__all__ = ["SAMPLERS", "get_sampler"]
