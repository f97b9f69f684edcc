"""The GRPO-family training loop shared by all RL methods: sample prompts, roll out a group per
prompt, score with the task verifiers, then ``mu`` gradient updates on the method's objective."""

from __future__ import annotations

import copy
import random
import time

import torch

from pipeline.core.data import decode_completions
from pipeline.core.progress import Progress
from pipeline.rl import RLMethod
from pipeline.training.batches import EncodedExamples, left_pad


def batch_rewards(enc: EncodedExamples, picks: list[tuple[str, int]], texts: list[str]) -> list[float]:
    """Reward of each completion, one ``reward_batch`` call per task (code tasks run in parallel)."""
    rewards = [0.0] * len(texts)
    for task in {t for t, _ in picks}:
        idx = [j for j, (t, _) in enumerate(picks) if t == task]
        got = enc.tasks[task].reward_batch([texts[j] for j in idx], [enc.examples[task][picks[j][1]] for j in idx])
        for j, r in zip(idx, got):
            rewards[j] = r
    return rewards


def run_rl(model, tokenizer, method: RLMethod, enc: EncodedExamples, cfg: dict, run, device) -> dict:
    """``cfg``: ``method_config(params["rl"], method.name)``; ``run``: a StageRun (or NullRun) for metrics."""
    rng = random.Random(cfg["seed"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    ref_model = None
    if method.needs_reference:
        ref_model = copy.deepcopy(model).eval()
        ref_model.requires_grad_(False)
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg["lr"], betas=(0.9, cfg["adam_beta2"]), weight_decay=cfg["weight_decay"]
    )
    G = cfg["group_size"]
    progress = Progress(cfg["steps"], f"rl/{method.name}")
    history = []
    for step in range(cfg["steps"]):
        t0 = time.time()
        picks = enc.sample(rng, cfg["prompts_per_step"])
        picks_g = [p for p in picks for _ in range(G)]  # each prompt repeated G times, groups contiguous
        prompt, attn = left_pad([enc.prompt_ids(t, i) for t, i in picks_g], tokenizer.pad_token_id)
        prompt, attn = prompt.to(device), attn.to(device)
        model.eval()
        rollout = method.rollout(model, prompt, attn, gen)
        texts = decode_completions(tokenizer, rollout.completion.cpu())  # [P*G] texts
        rewards = torch.tensor(batch_rewards(enc, picks_g, texts), dtype=torch.float32)
        adv = method.advantages(rewards.view(-1, G)).to(device)
        t_roll = time.time() - t0
        model.train()
        batch = method.prepare(model, ref_model, prompt, attn, rollout, adv, gen)
        stats_k = []
        for k in range(method.mu):
            loss, stats = method.loss(model, batch, k)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
            opt.step()
            stats_k.append({"loss": loss.item(), "grad_norm": float(gnorm), **stats})
        metrics = {k: sum(s[k] for s in stats_k) / len(stats_k) for k in stats_k[0]}
        metrics.update(
            reward=float(rewards.mean()),
            reward_std=float(rewards.view(-1, G).std(1).mean()),
            frac_zero_adv_groups=float((rewards.view(-1, G).std(1) == 0).float().mean()),
            rollout_s=t_roll,
            step_s=time.time() - t0,
        )
        for task in enc.tasks:
            sel = [j for j, (t, _) in enumerate(picks_g) if t == task]
            if sel:
                metrics[f"reward/{task}"] = float(rewards[sel].mean())
        run.log_metrics(metrics, step)
        history.append(metrics)
        progress.update(reward=metrics["reward"], loss=metrics["loss"])
    model.eval()
    return {"final_reward": history[-1]["reward"] if history else float("nan")}
