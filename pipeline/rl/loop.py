"""The GRPO-family training loop shared by all RL methods: sample prompts, roll out a group per
prompt, score with the task verifiers, then ``mu`` gradient updates on the method's objective,
over any number of processes with the same result."""

from __future__ import annotations

import random
import time

import torch

from pipeline.core import threads
from pipeline.core.data import decode_completions
from pipeline.core.progress import Progress
from pipeline.core.rng import RowGenerators, row_seed
from pipeline.model import io
from pipeline.rl import RLMethod
from pipeline.training.adapters import reference_of
from pipeline.training.batches import EncodedExamples, left_pad
from pipeline.training.checkpoint import Resume, loop_state, restore_loop_state
from pipeline.training.compute import TokenRows
from pipeline.training.distributed import Processes, adamw
from pipeline.training.selection import CheckpointSelection


def batch_rewards(
    enc: EncodedExamples, picks: list[tuple[str, int]], texts: list[str], kind: str = "reward"
) -> list[float]:
    """Reward (or, ``kind="score"``, evaluation score) of each completion, one batch call per task
    (code tasks run their programs in parallel)."""
    out = [0.0] * len(texts)
    for task in {t for t, _ in picks}:
        idx = [j for j, (t, _) in enumerate(picks) if t == task]
        fn = getattr(enc.tasks[task], f"{kind}_batch")
        got = fn([texts[j] for j in idx], [enc.examples[task][picks[j][1]] for j in idx])
        for j, r in zip(idx, got):
            out[j] = r
    return out


def take_rows(batch: dict, idx: torch.Tensor) -> dict:
    """The rows ``idx`` of a prepared batch: per-row tensors (and lists of them) are indexed, the rest kept."""
    n = len(batch["advantages"])

    def pick(v):
        if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == n:
            return v[idx]
        if isinstance(v, list) and v and all(isinstance(t, torch.Tensor) for t in v):
            return [pick(t) for t in v]
        return v

    return {k: pick(v) for k, v in batch.items()}


def run_rl(
    model,
    tokenizer,
    method: RLMethod,
    enc: EncodedExamples,
    cfg: dict,
    run,
    procs: Processes,
    selection: CheckpointSelection | None = None,
    samples_every: int | None = None,
    resume: Resume | None = None,
) -> dict:
    """``cfg``: ``method_config(params["rl"], method.name)``; ``run``: a StageRun (or NullRun) for metrics;
    ``samples_every``: every N-th step, the first group's rollouts go to the run's ``rollouts.json`` table;
    ``resume``: continue from its last checkpoint and save one every ``checkpoint_every`` steps.

    Each step draws ``prompts_per_step`` prompts (the same on every process), split into micro-batches
    of ``prompts_per_micro`` prompts x ``group_size`` rollouts; micro-batch m is rolled out, scored and
    trained on by process m % N, so a GRPO group never spans processes. The step's gradient is
    sum_m c_m grad(l_m), l_m the method's loss on micro-batch m and c_m its ``micro_scales``: the same
    for any number of processes (the equivalence test runs 1 and 2).
    """
    rng = random.Random(cfg["seed"])
    gen = torch.Generator().manual_seed(cfg["seed"])  # shared draws (diffu-GRPO's mask seeds): same on every process
    params = [p for p in model.parameters() if p.requires_grad]
    opt = adamw(params, lr=cfg["lr"], betas=(0.9, cfg["adam_beta2"]), weight_decay=cfg["weight_decay"])
    counter = TokenRows(model)  # training compute, for the equal-compute control
    # the reference is taken before wrapping: LoRA's is the adapter-disabled model, otherwise a frozen copy
    ref_model = procs.prepare_frozen(reference_of(model)) if method.needs_reference else None
    model, opt = procs.prepare(
        model, opt, select=bool(cfg.get("select")), checkpoints=bool(resume and resume.every), varying_backwards=True
    )
    G, k_micro = cfg["group_size"], cfg["prompts_per_micro"]
    n_micro = cfg["prompts_per_step"] // k_micro
    mine = procs.micro_batches(n_micro)
    plain = procs.accelerator.unwrap_model(model)
    min_width = io.prompt_width(plain)
    history, samples, start = [], [], 0

    def state() -> dict:  # everything the next step depends on (rollout streams are keyed by step)
        return loop_state(plain, opt, rng, gen, selection, counter) | {"last": history[-1:], "samples": samples}

    saved = resume.load() if resume is not None else None
    if saved is not None:
        start = restore_loop_state(saved, plain, opt, rng, gen, selection, counter)
        history, samples = saved["last"], saved["samples"]
    progress = Progress(cfg["steps"], f"rl/{method.name}", enabled=procs.is_main, done=start)
    for step in range(start, cfg["steps"]):
        threads.rebalance()  # a step boundary: follow other processes' load
        t0 = time.time()
        picks = enc.sample(rng, cfg["prompts_per_step"])
        rows = torch.tensor([(m * k_micro + j) * G + g for m in mine for j in range(k_micro) for g in range(G)])
        picks_g = [picks[int(r) // G] for r in rows]  # this process's rows; groups contiguous
        # pads are attended (LLaDA), so every process pads to the global longest prompt
        width = max(len(enc.prompt_ids(t, i)) for t, i in picks)
        prompt, attn = left_pad([enc.prompt_ids(t, i) for t, i in picks_g], tokenizer.pad_token_id, width, min_width)
        prompt, attn = prompt.to(procs.device), attn.to(procs.device)
        model.eval()
        with procs.autocast():
            rollout = method.rollout(
                model, prompt, attn, RowGenerators([row_seed(cfg["seed"], step, int(r)) for r in rows])
            )
        rollout.rows = rows
        texts = decode_completions(tokenizer, rollout.completion.cpu())  # [rows] texts
        rewards = torch.tensor(batch_rewards(enc, picks_g, texts), dtype=torch.float32)
        adv = method.advantages(rewards.view(-1, G)).to(procs.device)
        t_roll = time.time() - t0
        model.train()
        with procs.autocast():
            batch = method.prepare(model, ref_model, prompt, attn, rollout, adv, gen)
        per_micro = k_micro * G
        valid = torch.zeros(n_micro, dtype=torch.float64, device=procs.device)
        for j, m in enumerate(mine):
            valid[m] = float((adv[j * per_micro : (j + 1) * per_micro] != 0).sum())
        valid = procs.gather(valid.unsqueeze(0)).sum(0)  # [n_micro] over all processes
        scales = method.micro_scales(valid)  # [n_micro]
        stats_k = []
        for k in range(method.mu):
            opt.zero_grad(set_to_none=True)
            step_loss, stats_m = 0.0, []
            for j, m in enumerate(mine):
                micro = take_rows(batch, torch.arange(j * per_micro, (j + 1) * per_micro, device=procs.device))
                # x world: DDP's all-reduce averages the processes' gradients; it runs on the last micro-batch
                c = float(scales[m]) * procs.world
                with procs.no_sync(model, last=j == len(mine) - 1), procs.autocast():
                    value, stats = method.backward(
                        model, micro, k, lambda loss, c=c: procs.accelerator.backward(loss * c)
                    )
                step_loss += value * float(scales[m])
                stats_m.append(stats)
            gnorm = procs.clip_gradients(model, cfg["grad_clip"])
            opt.step()
            stats = {key: sum(s[key] for s in stats_m) / len(stats_m) for key in stats_m[0]}
            stats_k.append(procs.mean({"loss": step_loss * procs.world, **stats}) | {"grad_norm": float(gnorm)})
        metrics = {key: sum(s[key] for s in stats_k) / len(stats_k) for key in stats_k[0]}
        grouped = rewards.view(-1, G)
        metrics.update(
            procs.mean(
                {
                    "reward": float(rewards.mean()),
                    # the rollouts' own accuracy (sampled at the rollout temperature), beside eval's greedy one
                    "sampled_accuracy": 100.0 * sum(batch_rewards(enc, picks_g, texts, "score")) / len(texts),
                    "reward_std": float(grouped.std(1).mean()),
                    "frac_zero_adv_groups": float((grouped.std(1) == 0).float().mean()),
                    "rollout_s": t_roll,
                    "step_s": time.time() - t0,
                }
            )
        )
        by_task = {task: [j for j, (t, _) in enumerate(picks_g) if t == task] for task in enc.tasks}
        if procs.world == 1:  # per-task rewards of a multi-process step would need a gather of counts
            metrics.update({f"reward/{t}": float(rewards[sel].mean()) for t, sel in by_task.items() if sel})
        run.log_metrics(metrics, step)
        history.append(metrics)
        if samples_every and step % samples_every == 0:
            samples += [
                {"step": step, "task": t, "prompt": enc.examples[t][i]["prompt"], "completion": c, "reward": float(r)}
                for (t, i), c, r in list(zip(picks_g, texts, rewards.tolist()))[:G]
            ]
        progress.update(reward=metrics["reward"], loss=metrics["loss"])
        if selection is not None and selection.maybe(step, model, run):
            break  # a select.stop_at target is reached
        if resume is not None and resume.due(step):
            resume.save(step, state())
    if selection is not None:
        selection.finish(model)
    run.log_table(samples, "rollouts.json")
    counter.close()
    model.eval()
    token_rows = procs.mean({"n": counter.count})["n"] * procs.world
    return {"final_reward": history[-1]["reward"] if history else float("nan"), "token_rows": int(token_rows)}
