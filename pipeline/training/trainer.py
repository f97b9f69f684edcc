"""The masked-diffusion training loop shared by ``pretrain`` and ``sft`` (they differ only in params)."""

from __future__ import annotations

import itertools
import math
import random

import torch

from pipeline.core import threads
from pipeline.core.progress import Progress
from pipeline.model import io
from pipeline.training.batches import EncodedExamples, sft_batch
from pipeline.training.checkpoint import Resume, loop_state, restore_loop_state
from pipeline.training.compute import TokenRows
from pipeline.training.distributed import Processes, adamw
from pipeline.training.losses import forward_process, masked_diffusion_loss
from pipeline.training.selection import CheckpointSelection
from pipeline.training.weight_average import WeightAverage


class LRSchedule:
    """Linear warmup over ``warmup_steps``, then constant, or linear or cosine decay to 0 at ``total`` steps.

    A decayed end is what makes the final weights a converged model rather than a snapshot of a
    noisy constant-rate walk: the tiny testbed's cells moved by tens of points between seeds and
    machines with a constant rate. ``total`` may be revised while training (the compute-matched
    control knows its budget in token-rows, so its horizon in steps is an estimate).
    """

    def __init__(self, kind: str, warmup_steps: int, total: int):
        self.kind, self.warmup, self.total = kind, warmup_steps, total

    def __call__(self, step: int) -> float:
        warm = min(1.0, (step + 1) / max(self.warmup, 1))
        if self.kind == "constant" or step < self.warmup:
            return warm
        progress = min(1.0, (step - self.warmup) / max(self.total - self.warmup, 1))
        return 1.0 - progress if self.kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))


#: AdamW's beta2 in masked-diffusion training (LLaDA's); a control that takes its RL row's optimizer
#: brings that row's ``adam_beta2`` instead (``compute.control_config``)
BETA2 = 0.98


def make_optimizer(model, lr: float, weight_decay: float, schedule: LRSchedule, beta2: float = BETA2):
    """AdamW (betas 0.9/``beta2``) under ``schedule``."""
    trainable = [p for p in model.parameters() if p.requires_grad]  # LoRA: the adapters only
    opt = adamw(trainable, lr=lr, betas=(0.9, beta2), weight_decay=weight_decay)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule)


def train_masked_diffusion(
    model,
    enc: EncodedExamples,
    cfg: dict,
    run,
    desc: str,
    procs: Processes,
    selection: CheckpointSelection | None = None,
    token_rows: int | None = None,
    resume: Resume | None = None,
) -> dict:
    """Run ``cfg['steps']`` steps of the LLaDA SFT loss on batches drawn from ``enc``.

    Every process draws the same global batch of ``batch_size`` sequences (and the same masks),
    split into micro-batches of ``micro_batch`` rows; each process runs its share, and the step's
    gradient is the mean over micro-batches of the per-micro-batch loss -- the mean over the batch,
    whatever the number of processes. Logs loss, learning rate and grad norm to ``run`` every step.
    ``token_rows``: train until this much compute is spent (the equal-compute control), not ``steps``.
    ``resume``: continue from its last checkpoint and save one every ``checkpoint_every`` steps.
    ``cfg['ema_decay']`` (optional): the checks score, and the output is, the weights' moving average
    (``pipeline.training.weight_average``); the steps update the raw weights.
    """
    rng = random.Random(cfg["seed"])
    gen = torch.Generator(device="cpu").manual_seed(cfg["seed"])
    mask_id, width = int(model.config.mask_token_id), io.prompt_width(model)
    schedule = LRSchedule(cfg["lr_schedule"], cfg["warmup_steps"], cfg["steps"])
    opt, sched = make_optimizer(model, cfg["lr"], cfg["weight_decay"], schedule, cfg.get("adam_beta2", BETA2))
    model, opt = procs.prepare(model, opt, select=bool(cfg.get("select")), checkpoints=bool(resume and resume.every))
    n_micro = cfg["batch_size"] // cfg["micro_batch"]
    mine = procs.micro_batches(n_micro)
    model.train()
    counter = TokenRows(model)
    plain = procs.accelerator.unwrap_model(model)
    loss_ema, start, stopped = None, 0, False  # the progress line's running loss; a select.stop_at stop
    averaged = WeightAverage(plain, cfg["ema_decay"]) if cfg.get("ema_decay") else None

    def state() -> dict:  # everything the next step depends on
        own = {"scheduler": sched.state_dict(), "horizon": schedule.total, "loss_ema": loss_ema}
        own["weight_average"] = averaged.state_dict() if averaged is not None else None
        return loop_state(plain, opt, rng, gen, selection, counter) | own

    saved = resume.load() if resume is not None else None
    if saved is not None:
        start = restore_loop_state(saved, plain, opt, rng, gen, selection, counter)
        sched.load_state_dict(saved["scheduler"])
        schedule.total, loss_ema = saved["horizon"], saved["loss_ema"]
        if averaged is not None:
            averaged.load_state_dict(saved["weight_average"])
    progress = Progress(cfg["steps"], desc, enabled=procs.is_main, done=start)
    step = start
    for step in itertools.count(start):
        if token_rows is None and step >= cfg["steps"]:
            break
        if token_rows is not None:
            spent = procs.mean({"n": counter.count})["n"] * procs.world
            if spent >= token_rows:
                break
            if step:  # the horizon the budget buys at the rate spent so far
                schedule.total = math.ceil(token_rows / (spent / step))
        threads.rebalance()  # a step boundary: follow other processes' load
        picks = enc.sample(rng, cfg["batch_size"], skip=selection.finished if selection is not None else ())
        x, completion, P = sft_batch(enc, picks, cfg["train_lengths"], rng, width)
        noisy, masked, p_mask = forward_process(x, completion, mask_id, cfg["eps"], gen)
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for j, m in enumerate(mine):
            rows = slice(m * cfg["micro_batch"], (m + 1) * cfg["micro_batch"])
            xb, nb, mb, pb = (t[rows].to(procs.device) for t in (x, noisy, masked, p_mask))
            with procs.no_sync(model, last=j == len(mine) - 1), procs.autocast():
                logits = model(nb).logits  # pads attended, as LLaDA (see batches.left_pad)
                loss = masked_diffusion_loss(logits, xb, mb, pb, completion_len=torch.full_like(pb, x.shape[1] - P))
            # DDP averages over processes; dividing by this process's share makes it a mean over micro-batches
            procs.accelerator.backward(loss / len(mine))
            total += loss.item() / len(mine)
        gnorm = procs.clip_gradients(model, cfg["grad_clip"])
        opt.step()
        sched.step()
        if averaged is not None:
            averaged.update()
        stats = procs.mean({"loss": total})
        loss_ema = stats["loss"] if loss_ema is None else 0.98 * loss_ema + 0.02 * stats["loss"]
        run.log_metrics({"loss": stats["loss"], "grad_norm": float(gnorm), "lr": sched.get_last_lr()[0]}, step)
        progress.update(loss=loss_ema)
        if selection is not None and selection.due(step):
            if averaged is not None:  # the checks score the average; a stop keeps it in the model
                averaged.swap()
            if selection.maybe(step, model, run):
                step, stopped = step + 1, True  # steps done: the target was reached after this one
                break
            if averaged is not None:
                averaged.swap()
        if resume is not None and resume.due(step):
            resume.save(step, state())
    if averaged is not None and not stopped:  # the output is the average of the last steps, not the last step
        averaged.swap()
    if selection is not None:
        selection.finish(model)
    counter.close()
    model.eval()
    return {"final_loss_ema": loss_ema or float("nan"), "steps": step, "token_rows": counter.count}
