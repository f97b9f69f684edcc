"""What to decode: the settings every sampler takes (kept apart from the samplers so the registry
module stays import-light)."""

from __future__ import annotations

from dataclasses import dataclass

#: the samplers that implement ``Decoding.stop_id`` (the fixed-schedule block ones); the adaptive samplers'
#: tokens per step and the AR order's per-token log-probs are defined over every position, so they refuse it
STOPPING_SAMPLERS = ("low_confidence", "random")


@dataclass(frozen=True)
class Decoding:
    """``mask_id``: the mask token; ``gen_length`` completion tokens, decoded in semi-AR blocks of
    ``block_length`` with ``steps`` forward passes in all (fixed-schedule samplers; adaptive ones
    decide their own count); ``temperature`` 0 is greedy; ``track_entropy`` records the entropy of
    each position's distribution at the step it was committed (``Generation.commit_entropy``);
    ``stop_id`` (fixed-schedule block samplers): a row whose finished blocks hold this token decodes no
    further block. Text is read up to the first EOS (``core.data.decode_completions``), and a token in a
    finished block is final, so with the EOS id the text is the same; the skipped positions stay masked
    and are not counted as computed."""

    mask_id: int
    gen_length: int
    block_length: int
    steps: int
    temperature: float = 0.0
    track_entropy: bool = False
    stop_id: int | None = None

    def __post_init__(self):
        if self.gen_length % self.block_length:
            raise ValueError(f"gen_length {self.gen_length} must be a multiple of block_length {self.block_length}")
