"""Decoding a task's test split at one generation length and scoring it (library half of ``evaluate``)."""
from __future__ import annotations

import time

import torch

from pipeline.data import decode_completions, prompt_ids
from pipeline.effective_tokens import effective_tokens
from pipeline.progress import Progress
from pipeline.training.batches import left_pad


def generate_texts(model, tokenizer, task, examples, sampler, gen_length: int, block_length: int, steps: int,
                   batch_size: int, temperature: float = 0.0, seed: int = 0, desc: str = "decode",
                   mode: str = "eval", track_entropy: bool = False):
    """Decode every example; returns (completions, total forwards, per-batch Generation objects)."""
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    texts, nfe, generations = [], 0, []
    progress = Progress(len(examples), desc, unit="problem")
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        rows = [prompt_ids(tokenizer, task, ex, mode) for ex in chunk]
        prompt, _ = left_pad(rows, tokenizer.pad_token_id)
        # attention_mask=None: pads are attended, as in LLaDA (see batches.left_pad)
        out = sampler(model, prompt.to(device), None, int(model.config.mask_token_id), gen_length,
                      block_length, steps, temperature=temperature, generator=gen, track_entropy=track_entropy)
        texts += decode_completions(tokenizer, out.sequences[:, prompt.shape[1]:].cpu())
        nfe += out.nfe
        generations.append(out)
        progress.update(len(chunk))
    return texts, nfe, generations


def evaluate_length(model, tokenizer, task, examples, sampler, gen_length: int, block_length: int,
                    steps: int, batch_size: int, desc: str) -> tuple[dict, list[dict]]:
    """Greedy decoding at one length: metrics dict and one generation record per problem."""
    t0 = time.time()
    texts, nfe, gens = generate_texts(model, tokenizer, task, examples, sampler, gen_length, block_length,
                                      steps, batch_size, desc=desc)
    scores = task.score_batch(texts, examples)
    eff = [effective_tokens(t) for t in texts]
    records = [{"id": ex["id"], "prompt": ex["prompt"], "answer": ex["answer"], "generation": t,
                "extracted": task.extract_answer(t), "score": s, "effective_tokens": e}
               for ex, t, s, e in zip(examples, texts, scores, eff)]
    n_batches = len(gens)
    metrics = {
        "accuracy": 100.0 * sum(scores) / len(scores),
        "n": len(scores),
        "mean_effective_tokens": sum(eff) / len(eff),
        "nfe": nfe / n_batches,  # forwards per problem batch, i.e. per generated sequence
        "tokens_per_step": sum(g.tokens_per_step for g in gens) / n_batches,
        "gen_length": gen_length,
        "block_length": block_length,
        "steps": steps,
        "seconds": time.time() - t0,
    }
    return metrics, records
