"""Decoding a task's problems in batches with a sampler, and scoring them at one generation length."""

from __future__ import annotations

import time

import torch

from pipeline.core import threads
from pipeline.core.data import decode_completions, prompt_ids
from pipeline.core.progress import Progress
from pipeline.decoding.effective_tokens import effective_tokens
from pipeline.model import io
from pipeline.sampling import Decoding, Sampler
from pipeline.sampling.base import Generation
from pipeline.tasks.base import Task
from pipeline.training.batches import left_pad


def generate_texts(
    model,
    tokenizer,
    task: Task,
    examples: list[dict],
    sampler: Sampler,
    spec: Decoding,
    batch_size: int,
    seed: int = 0,
    desc: str = "decode",
    mode: str = "eval",
) -> tuple[list[str], int, list[Generation]]:
    """Decode every example; returns (completions, total forwards, per-batch Generation objects)."""
    gen = torch.Generator().manual_seed(seed)
    device, min_width = next(model.parameters()).device, io.prompt_width(model)
    texts, nfe, generations = [], 0, []
    progress = Progress(len(examples), desc, every_s=0.0, unit="problem")  # a line per batch
    for start in range(0, len(examples), batch_size):
        threads.rebalance()  # a batch boundary: follow other processes' load
        chunk = examples[start : start + batch_size]
        rows = [prompt_ids(tokenizer, task, ex, mode) for ex in chunk]
        prompt, _ = left_pad(rows, tokenizer.pad_token_id, min_width=min_width)
        # no attention mask: pads are attended, as in LLaDA (see batches.left_pad)
        out = sampler(model, prompt.to(device), spec, generator=gen)
        texts += decode_completions(tokenizer, out.sequences[:, prompt.shape[1] :].cpu())
        nfe += out.nfe
        generations.append(out)
        progress.update(len(chunk))
    return texts, nfe, generations


def evaluate_length(
    model, tokenizer, task: Task, examples: list[dict], sampler: Sampler, spec: Decoding, batch_size: int, desc: str
) -> tuple[dict, list[dict]]:
    """Decoding at one length: metrics dict and one generation record per problem."""
    t0 = time.time()
    texts, nfe, gens = generate_texts(model, tokenizer, task, examples, sampler, spec, batch_size, desc=desc)
    scores = task.score_batch(texts, examples)
    eff = [effective_tokens(t) for t in texts]
    records = [
        {
            "id": ex["id"],
            "prompt": ex["prompt"],
            "answer": ex["answer"],
            "generation": t,
            "extracted": task.extract_answer(t),
            "score": s,
            "well_formed": task.well_formed(t),
            "effective_tokens": e,
        }
        for ex, t, s, e in zip(examples, texts, scores, eff)
    ]
    n_batches = len(gens)
    metrics = {
        "accuracy": 100.0 * sum(scores) / len(scores),
        "n": len(scores),
        "format_rate": 100.0 * sum(r["well_formed"] for r in records) / len(records),
        "mean_effective_tokens": sum(eff) / len(eff),
        "nfe": nfe / n_batches,  # forwards per problem batch, i.e. per generated sequence
        "tokens_per_step": sum(g.tokens_per_step for g in gens) / n_batches,
        "positions_per_token": sum(g.positions_per_token for g in gens) / n_batches,  # with a KV cache: fewer
        "gen_length": spec.gen_length,
        "block_length": spec.block_length,
        "steps": spec.steps,
        "seconds": time.time() - t0,
    }
    return metrics, records
