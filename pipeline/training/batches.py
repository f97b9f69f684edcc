"""Token caches and batch assembly shared by SFT-style training and RL prompt sampling."""

from __future__ import annotations

import random

import torch

from pipeline.core.data import prompt_ids


class EncodedExamples:
    """Examples of several tasks with their prompt (chat-templated) and target token ids, encoded lazily."""

    def __init__(
        self, tokenizer, tasks: dict, examples: dict[str, list[dict]], target_format: str | None, mode: str = "rl"
    ):
        # mode "rl" for training prompts: d1's RL prompt asks for the <reasoning>/<answer> format the
        # SFT traces are written in (d1's own SFT data, s1K, is not among the offline benchmarks).
        self.tok, self.tasks, self.examples = tokenizer, tasks, examples
        self.target_format, self.mode = target_format, mode
        self._prompt: dict = {}
        self._target: dict = {}

    def prompt_ids(self, task: str, i: int) -> list[int]:
        key = (task, i)
        if key not in self._prompt:
            self._prompt[key] = prompt_ids(self.tok, self.tasks[task], self.examples[task][i], self.mode)
        return self._prompt[key]

    def target_ids(self, task: str, i: int) -> list[int]:
        key = (task, i)
        if key not in self._target:
            text = self.tasks[task].target(self.examples[task][i], self.target_format)
            self._target[key] = self.tok(text, add_special_tokens=False).input_ids
        return self._target[key]

    def sample(self, rng: random.Random, n: int, skip=()) -> list[tuple[str, int]]:
        """n (task, index) pairs: a uniform task (of those not in ``skip``), then a uniform example of it."""
        names = sorted(set(self.examples) - set(skip))
        picks = []
        for _ in range(n):
            t = rng.choice(names)
            picks.append((t, rng.randrange(len(self.examples[t]))))
        return picks


def left_pad(
    rows: list[list[int]], pad_id: int, width: int | None = None, min_width: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """ids [B, P] and a validity mask [B, P], left-padded so completions share a start column.

    P = ``width`` (default: the longest row), at least ``min_width`` (the model's prompt_width:
    the same pad count for a task whether its batch is mixed with longer prompts or not).

    Pads are EOS tokens that the model *attends to*, as in LLaDA (its SFT and ``generate`` pad with
    EOS and pass no attention mask); the validity mask only keeps pads out of losses and prompt
    masking. Passing it to the model as an attention bias would also send PyTorch's CPU SDPA down
    a ~3x slower path.
    """
    P = max(width or max(len(r) for r in rows), min_width)
    ids = torch.full((len(rows), P), pad_id, dtype=torch.long)
    mask = torch.zeros(len(rows), P, dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            ids[i, P - len(r) :] = torch.tensor(r, dtype=torch.long)
            mask[i, P - len(r) :] = 1
    return ids, mask


def sft_batch(enc: EncodedExamples, picks, lengths: list[int], rng: random.Random, prompt_width: int = 0):
    """Prompt+completion batch for the masked-diffusion loss.

    The canvas length L is drawn from ``lengths`` among those that fit the longest target
    (the longest length, truncating, if none does), so the model sees every eval length with
    EOS padding after the text, as LLaDA's SFT does.
    Returns x [B, P+L], completion mask [B, P+L], P.
    """
    eos = enc.tok.eos_token_id
    prompts, targets = zip(*[(enc.prompt_ids(t, i), enc.target_ids(t, i)) for t, i in picks])
    need = max(len(t) for t in targets)
    fitting = [L for L in lengths if need <= L]
    L = rng.choice(fitting) if fitting else max(lengths)
    p_ids, _ = left_pad(list(prompts), eos, min_width=prompt_width)
    comp = torch.full((len(picks), L), eos, dtype=torch.long)
    for i, t in enumerate(targets):
        t = t[:L]
        comp[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    x = torch.cat([p_ids, comp], 1)
    completion = torch.zeros_like(x, dtype=torch.bool)
    completion[:, p_ids.shape[1] :] = True
    return x, completion, p_ids.shape[1]
