"""accelerate as the training runtime: processes, device placement, mixed precision, gradient averaging.

One process is the default (``python -m pipeline <stage>``); ``accelerate launch --num_processes N
-m pipeline <stage>`` (``runtime.launch``) runs N. The training loops keep three promises:

* **Results do not depend on the number of processes.** Every process draws the same *global*
  batch (same seeds), keeps its share of the micro-batches (micro-batch ``m`` goes to process
  ``m % N``), and the optimizer step sees the gradient a single process would compute over all
  micro-batches. Rollout randomness is keyed by global row (:mod:`pipeline.core.rng`).
* **The optimizer never steps bf16 weights.** Trainable weights stay float32 (the master copy);
  with ``runtime.dtype: bfloat16`` the forward runs under bf16 autocast, so a 3e-6 step is not
  rounded away (bf16 has 8 significant bits: a step below 2^-8 of a weight is lost).
* **Only the main process writes** outputs and MLflow runs; metrics are averaged over processes.
"""

from __future__ import annotations

import contextlib

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import DistributedType

from pipeline.training.adapters import AdapterDisabled, is_lora


def adamw(params, lr: float, betas: tuple[float, float], weight_decay: float) -> torch.optim.AdamW:
    """torch's AdamW over the trainable (float32) parameters: fused on CUDA, torch's default elsewhere.

    Fused is one kernel per step and allocates none of the foreach implementation's temporaries (CUDA's
    default; 4 B per parameter): on an H200, a full fine-tune at LLaDA-8B's width and 8 blocks (2.8B
    parameters) peaked 10.4 GiB lower in the update (42.3 vs 52.7 GiB) and stepped 7% faster
    (``benchmarks/gpu_paper_step.py``). CPU keeps torch's default, so the tiny profile's numbers are
    unchanged (the same weights, bit for bit)."""
    params = list(params)
    fused = bool(params) and all(p.is_cuda for p in params)
    return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay, fused=fused)


class Processes:
    """This process's place among the training processes, and the collective operations the loops use."""

    def __init__(self, runtime: dict):
        cpu = runtime["device"] == "cpu" or (runtime["device"] == "auto" and not torch.cuda.is_available())
        mixed = "bf16" if runtime["dtype"] == "bfloat16" else "no"
        state = AcceleratorState._shared_state
        if state and state.get("_mixed_precision") not in (None, mixed):
            # one process normally builds one Accelerator; tests build several with other precisions
            AcceleratorState._reset_state()
        self.accelerator = Accelerator(cpu=cpu, mixed_precision=mixed)
        self.world = self.accelerator.num_processes
        self.rank = self.accelerator.process_index
        self.is_main = self.accelerator.is_main_process
        self.device = self.accelerator.device
        self.sharded = self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
        self.wrapped = None  # the training model as prepared (DDP / FSDP), for saving a sharded one

    def prepare(self, model, optimizer, *, select: bool, varying_backwards: bool = False, checkpoints: bool = False):
        """``accelerator.prepare`` of the policy and its optimizer, refusing the combinations that would
        silently misbehave under a sharded runtime (FSDP / DeepSpeed):
        * LoRA: the adapter is merged into the base on save, which needs the whole module (d1's LoRA
          runs use DDP: configs/accelerate/ddp.yaml);
        * checkpoint selection: it scores on the main process alone, through the unsharded module;
        * resumable checkpoints (``checkpoint_every``): they save the unsharded trainable tensors;
        * DeepSpeed with a varying number of backward calls per step (RL: JustGRPO's passes, mu):
          its engine counts micro-steps itself; use FSDP (configs/accelerate/fsdp.yaml) for RL."""
        kind = self.accelerator.distributed_type
        problem = None
        if self.sharded and is_lora(model):
            problem = "LoRA (use configs/accelerate/ddp.yaml)"
        elif self.sharded and select:
            problem = "checkpoint selection (set <stage>.select to null)"
        elif self.sharded and checkpoints:
            problem = "resumable checkpoints yet (set <stage>.checkpoint_every to 0)"
        elif kind == DistributedType.DEEPSPEED and varying_backwards:
            problem = "RL (use configs/accelerate/fsdp.yaml)"
        if problem:
            raise SystemExit(f"error: {kind.value} does not support {problem}")
        self.wrapped, optimizer = self.accelerator.prepare(model, optimizer)
        return self.wrapped, optimizer

    def micro_batches(self, n_micro: int) -> list[int]:
        """Indices of the micro-batches of one optimizer step that this process computes."""
        if n_micro % self.world:
            raise ValueError(f"{n_micro} micro-batches per step do not split over {self.world} processes")
        return list(range(self.rank, n_micro, self.world))

    def autocast(self):
        """bf16 compute over float32 weights when runtime.dtype is bfloat16 (a no-op otherwise)."""
        return self.accelerator.autocast()

    def no_sync(self, model, last: bool):
        """Skip DDP's gradient all-reduce on all but the last micro-batch of a step."""
        return contextlib.nullcontext() if last or self.world == 1 else self.accelerator.no_sync(model)

    def prepare_frozen(self, model):
        """A frozen model the loop only runs forwards of (diffu-GRPO's KL reference): on this process's
        device, and sharded like the policy under FSDP; LoRA's adapter-disabled view is the policy itself."""
        if isinstance(model, AdapterDisabled):
            return model
        return self.accelerator.prepare_model(model, evaluation_mode=True)

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average scalar metrics over processes (every process must call it)."""
        if self.world == 1 or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        t = self.accelerator.reduce(t, reduction="mean")
        return dict(zip(keys, t.tolist()))

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        """Concatenate a tensor over processes along dim 0, in rank order."""
        return t if self.world == 1 else self.accelerator.gather(t.contiguous())

    def clip_gradients(self, model, max_norm: float) -> float:
        """Clip the trainable gradients to ``max_norm``; returns their norm over all networks, before clipping.

        A task-expert model built with ``model.clip_each_expert`` clips each expert network by its own
        norm: the experts share no weight, and one norm over all of them lets one task's gradient shrink
        another task's step (SFT's Sudoku moved with the arithmetic network: docs/tiny-testbed.md).
        """
        plain = self.accelerator.unwrap_model(model)
        trainable = lambda m: [p for p in m.parameters() if p.requires_grad]
        if not getattr(getattr(plain, "config", None), "clip_each_expert", False):
            return float(self.accelerator.clip_grad_norm_(trainable(model), max_norm))
        norms = [float(self.accelerator.clip_grad_norm_(trainable(net), max_norm)) for net in plain.networks()]
        return sum(n * n for n in norms) ** 0.5

    def wait(self) -> None:
        self.accelerator.wait_for_everyone()


def save_trained(procs: Processes, model, tokenizer, out_dir, runtime: dict) -> None:
    """Save the trained model once (main process), in the run's dtype: float32 master weights are cast
    to bf16 for a bf16 run, as LLaDA's own checkpoints are stored. A LoRA run saves its adapter and
    the merged weights (``adapters.for_saving``)."""
    from pipeline.core.runtime import dtype_of
    from pipeline.model import io
    from pipeline.training.adapters import for_saving

    procs.wait()
    # sharded (FSDP / DeepSpeed): every process takes part in gathering the full weights to the main one
    state = procs.accelerator.get_state_dict(procs.wrapped) if procs.sharded else None
    if procs.is_main:
        dtype = dtype_of(runtime)
        if state is not None:
            io.save(model, tokenizer, out_dir, state_dict={k: v.to(dtype) for k, v in state.items()})
        else:
            plain = for_saving(procs.accelerator.unwrap_model(model), out_dir)
            io.save(plain.to(dtype), tokenizer, out_dir)
    procs.wait()
