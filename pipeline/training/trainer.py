"""The masked-diffusion training loop shared by ``pretrain`` and ``sft`` (they differ only in params)."""

from __future__ import annotations

import random

import torch

from pipeline.core.progress import Progress
from pipeline.training.batches import EncodedExamples, sft_batch
from pipeline.training.losses import forward_process, masked_diffusion_loss


def make_optimizer(model, lr: float, weight_decay: float, warmup_steps: int = 0):
    """AdamW (betas 0.9/0.98 as LLaDA) with linear warmup then a constant rate."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(warmup_steps, 1)))
    return opt, sched


def train_masked_diffusion(model, enc: EncodedExamples, cfg: dict, run, desc: str, device) -> dict:
    """Run ``cfg['steps']`` steps of the LLaDA SFT loss on batches drawn from ``enc``.

    Logs loss, learning rate and grad norm to ``run`` every step; returns final stats.
    """
    rng = random.Random(cfg["seed"])
    gen = torch.Generator(device="cpu").manual_seed(cfg["seed"])
    mask_id = int(model.config.mask_token_id)
    opt, sched = make_optimizer(model, cfg["lr"], cfg["weight_decay"], cfg["warmup_steps"])
    model.train()
    progress = Progress(cfg["steps"], desc)
    ema = None
    for step in range(cfg["steps"]):
        picks = enc.sample(rng, cfg["batch_size"])
        x, completion, P = sft_batch(enc, picks, cfg["train_lengths"], rng)
        noisy, masked, p_mask = forward_process(x, completion, mask_id, cfg["eps"], gen)
        x, noisy, masked, p_mask = (t.to(device) for t in (x, noisy, masked, p_mask))
        logits = model(noisy).logits  # pads attended, as LLaDA (see batches.left_pad)
        loss = masked_diffusion_loss(logits, x, masked, p_mask, completion_len=torch.full_like(p_mask, x.shape[1] - P))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        sched.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        run.log_metrics({"loss": loss.item(), "grad_norm": float(gnorm), "lr": sched.get_last_lr()[0]}, step)
        progress.update(loss=ema)
    model.eval()
    return {"final_loss_ema": ema or float("nan")}
