"""An exponential moving average of a model's trainable weights (``<stage>.ema_decay``).

At a constant learning rate the weights walk: the tiny base's validation Sudoku moved by up to 9
points between checks 100 steps apart (and 1-5 between checks 25 apart), and a stop target then
catches each seed at a different point of its walk. The average over the last ~1/(1 - decay) steps
is that walk's centre. With ``ema_decay`` set, checkpoint selection scores the averaged weights and
they are the stage's output; training itself steps the raw weights, as without it.

Trainable weights are float32 in every profile (bf16 runs under autocast), and so is the average: a
bf16 one would lose most of each step's (1 - decay) x update (bf16 keeps 8 bits of mantissa).
"""

from __future__ import annotations

import torch


class WeightAverage:
    """``update()`` after every optimizer step; ``swap()`` exchanges the model's trainable weights with the
    average in place (a second ``swap()`` puts them back)."""

    def __init__(self, model, decay: float):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self) -> None:
        # the first steps use a smaller decay, (1 + n) / (10 + n), so the random init is forgotten fast
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for s, p in zip(self.shadow, self.params, strict=True):
            s.lerp_(p.detach(), 1.0 - d)  # s <- d s + (1 - d) p

    @torch.no_grad()
    def swap(self) -> None:
        for s, p in zip(self.shadow, self.params, strict=True):
            raw = p.detach().clone()
            p.copy_(s)
            s.copy_(raw)

    def state_dict(self) -> dict:
        return {"shadow": [s.clone() for s in self.shadow], "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        for s, saved in zip(self.shadow, state["shadow"], strict=True):
            s.copy_(saved)
        self.updates = state["updates"]
