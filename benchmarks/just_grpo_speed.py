"""Speed of JustGRPO's stacked gradient against the reference's one-position-at-a-time loop.

    python benchmarks/just_grpo_speed.py                       # random model and completions, every A != 0
    python benchmarks/just_grpo_speed.py --zero-adv-groups 4   # half the groups with equal rewards
    python benchmarks/just_grpo_speed.py --shared-prefix 8     # rollouts of a prompt share 8 tokens
    python benchmarks/just_grpo_speed.py --model results/models/sft   # real AR rollouts and rewards
    python benchmarks/just_grpo_speed.py --positions-per-pass 1 8 32
    python benchmarks/just_grpo_speed.py --rl-run results/models/base   # every step of a real RL run

Model: d_model 96, 4 layers, 4 heads, mlp 256 (the tiny profile's until 2026-12-03, with which README's
numbers were measured; tiny vocabulary, built from scratch unless ``--model``), 8 prompts of the
tiny tasks x 8 rollouts = 64 completions of gen_length 32.
Without ``--model`` the completions are random tokens, so no two rollouts share more than the
prompt, and rewards give every sample A != 0 except in ``--zero-adv-groups`` groups; with it they
are the model's own AR-order rollouts at T = 1, scored by the tasks. Old log-probs are the exact
ones (ratio 1, as at mu = 1).

``serial_gradient(chunk=8)`` is the reference's schedule: one forward + backward per position over
one prompt's 8 rollouts (its micro-batch); ``serial_gradient`` without a chunk runs all 64 rollouts
per pass (a stronger baseline). ``stacked_gradient`` stacks positions along the batch, skips A = 0
samples and runs identical inputs once. All give the same gradient: the script checks it, prints
the times (best of ``--repeats`` interleaved runs), the ratios, and how many forward rows each
needed -- on a CPU the time is about proportional to the rows.

``--rl-run MODEL`` measures what a user gets: it runs the tiny profile's JustGRPO stage
(``params.yaml``'s ``rl`` section, data from ``results/data``) from MODEL, and on every step's batch
times the reference schedule and the stacked gradient (training proceeds with the stacked one),
then prints the per-step ratios and the speed-up over the whole run. Needs a pipeline run first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.core.data import decode_completions
from pipeline.model import io
from pipeline.rl.just_grpo import JustGRPO, position_inputs, position_logprobs, serial_gradient, stacked_gradient
from pipeline.sampling import Decoding
from pipeline.sampling.ar_order import ar_order
from pipeline.tasks import get_task
from pipeline.training.batches import EncodedExamples, left_pad

TASKS = ["tiny_sudoku", "tiny_countdown", "tiny_arithmetic"]


def batch(args):
    """(model, tokenizer, prompt [N, P], completion [N, L], old log-probs [N, L], advantages [N])."""
    torch.manual_seed(0)
    if args.model:
        model, tok = io.load(args.model)
    else:
        model, tok = io.build_scratch({"d_model": 96, "n_layers": 4, "n_heads": 4, "mlp_hidden_size": 256})
    tasks = {t: get_task(t, seed=0) for t in TASKS}
    examples = {t: tasks[t].load("train", args.prompts) for t in TASKS}
    enc = EncodedExamples(tok, tasks, examples, target_format=None, mode="rl")
    picks = [(TASKS[i % len(TASKS)], i) for i in range(args.prompts) for _ in range(args.group)]
    prompt, _ = left_pad([enc.prompt_ids(t, i) for t, i in picks], tok.pad_token_id)  # [N, P]
    L, mask = args.gen_length, tok.mask_token_id
    if args.model:  # the model's own rollouts and the tasks' rewards
        out = ar_order(
            model, prompt, Decoding(mask, L, 1, L, temperature=1.0), generator=torch.Generator().manual_seed(0)
        )
        completion, old = out.sequences[:, prompt.shape[1] :], out.extras["token_logprobs"]
        texts = decode_completions(tok, completion)
        rewards = torch.tensor([tasks[t].reward(x, examples[t][i]) for (t, i), x in zip(picks, texts)])
    else:
        completion = torch.randint(5, len(tok), (len(picks), L))  # [N, L]
        completion[:, : args.shared_prefix] = completion[:: args.group, : args.shared_prefix].repeat_interleave(
            args.group, 0
        )
        rewards = torch.tensor([float(j % 2) for j in range(args.group)]).repeat(args.prompts)  # every A != 0 ...
        rewards[: args.zero_adv_groups * args.group] = 1.0  # ... except in these groups of equal rewards
        with torch.no_grad():
            old = position_logprobs(model, prompt, completion, torch.arange(L), mask, 1.0)
    adv = JustGRPO.advantages(rewards.view(args.prompts, args.group).float())
    return model, tok, prompt, completion, old, adv


def forward_rows(prompt, completion, adv, mask_id, k):
    """Rows run by the stacked gradient: unique inputs of the A != 0 samples, pass by pass."""
    keep, L = adv != 0, completion.shape[1]
    return (
        sum(
            len(
                torch.unique(
                    position_inputs(prompt[keep], completion[keep], torch.arange(t, min(t + k, L)), mask_id), dim=0
                )
            )
            for t in range(0, L, k)
        )
        if keep.any()
        else 0
    )


def rl_run(args) -> None:
    """Paired timings of both gradients on every step of a real tiny-profile JustGRPO run."""
    from pipeline.core.config import load_params
    from pipeline.core.tracking import NullRun
    from pipeline.rl import method_config
    from pipeline.rl.loop import run_rl
    from pipeline.tasks import build_tasks, read_prepared

    params = load_params(args.params)
    cfg = {**method_config(params["rl"], "just_grpo"), **({"steps": args.steps} if args.steps else {})}
    torch.manual_seed(cfg["seed"])
    model, tok = io.load_stage_model(args.rl_run, torch.float32, torch.device("cpu"))
    tasks = build_tasks(params, cfg["tasks"])
    enc = EncodedExamples(tok, tasks, read_prepared(args.data, tasks, "train"), target_format=None, mode="rl")
    rows = []

    class Paired(JustGRPO):
        def gradient(self, model, batch):
            a = (
                model,
                batch["prompt"],
                batch["completion"],
                batch["old"],
                batch["advantages"],
                self.mask_id,
                self.cfg["temperature"],
                self.cfg["clip_eps"],
            )  # cfg: rl.methods.just_grpo
            t_ref, (_, slow) = timed(lambda: serial_gradient(*a, chunk=cfg["group_size"]))
            t_fast, out = timed(lambda: super(Paired, self).gradient(model, batch))
            diff = rel_diff(out[1], slow)
            rows.append((t_ref, t_fast, float((batch["advantages"] != 0).float().mean()), diff))
            print(
                f"step {len(rows):3d}: A != 0 for {rows[-1][2]:4.0%}   reference {t_ref:5.2f} s   "
                f"stacked {t_fast:5.2f} s   {t_ref / t_fast:5.2f}x   max rel. grad diff {diff:.1e}",
                flush=True,
            )
            return out

    method = Paired(cfg, int(model.config.mask_token_id), tok.eos_token_id)
    run_rl(model, tok, method, enc, cfg, NullRun(), torch.device("cpu"))
    ref, fast = sum(r[0] for r in rows), sum(r[1] for r in rows)
    ratios = sorted(r[0] / r[1] for r in rows)
    print(
        f"{len(rows)} gradients from {args.rl_run}: reference {ref:.1f} s, stacked {fast:.1f} s, "
        f"speed-up {ref / fast:.2f}x over the run (per step: min {ratios[0]:.2f}x, "
        f"median {ratios[len(ratios) // 2]:.2f}x, max {ratios[-1]:.2f}x); "
        f"mean fraction with A != 0 {sum(r[2] for r in rows) / len(rows):.0%}; "
        f"max rel. grad diff {max(r[3] for r in rows):.1e}"
    )


def rel_diff(grads, reference) -> float:
    """Largest per-parameter max |difference|, relative to that parameter's largest reference entry."""
    return max(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() for a, b in zip(grads, reference))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="a trained model directory: real rollouts and rewards")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--gen-length", type=int, default=32)
    ap.add_argument("--zero-adv-groups", type=int, default=0, help="random mode: groups whose rewards are all equal")
    ap.add_argument("--shared-prefix", type=int, default=0, help="random mode: first tokens shared within a group")
    ap.add_argument("--positions-per-pass", type=int, nargs="+", default=[8])
    ap.add_argument("--repeats", type=int, default=2, help="interleaved timings; the best of each is reported")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rl-run", default=None, metavar="MODEL", help="time every step of a real JustGRPO run from MODEL")
    ap.add_argument("--steps", type=int, default=None, help="--rl-run: steps (default: params.yaml's rl.steps)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--data", default="results/data")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.rl_run:
        return rl_run(args)
    model, tok, prompt, completion, old, adv = batch(args)
    N, L = completion.shape
    common = (model, prompt, completion, old, adv, tok.mask_token_id, 1.0, 0.2)
    print(
        f"{N} rollouts x gen_length {L}, prompt length {prompt.shape[1]}, {int((adv != 0).sum())} with A != 0, "
        f"{torch.get_num_threads()} threads, model {args.model or 'random (build_scratch)'}"
    )
    # warm-up: the first forward / backward of a process pays one-off library initialisation
    serial_gradient(model, prompt[:8], completion[:8, :2], old[:8, :2], adv[:8], tok.mask_token_id, 1.0, 0.2)
    # interleaved repeats, best time of each: other jobs on a shared CPU only ever add time
    t_ref, t_serial, t_fast, rel = float("inf"), float("inf"), {}, {}
    for _ in range(args.repeats):
        t, _ = timed(lambda: serial_gradient(*common, chunk=args.group))
        t_ref = min(t_ref, t)
        t, (_, slow) = timed(lambda: serial_gradient(*common))
        t_serial = min(t_serial, t)
        for k in args.positions_per_pass:
            t, (_, fast, _) = timed(lambda k=k: stacked_gradient(*common, positions_per_pass=k))
            t_fast[k] = min(t_fast.get(k, float("inf")), t)
            rel[k] = rel_diff(fast, slow)
    print(f"reference (1 position x {args.group} rollouts / pass): {t_ref:7.2f} s   {N * L:5d} forward rows")
    print(
        f"serial    (1 position x {N} rollouts / pass): {t_serial:7.2f} s   {N * L:5d} forward rows   "
        f"speed-up {t_ref / t_serial:5.2f}x"
    )
    for k in args.positions_per_pass:
        print(
            f"stacked   ({k:2d} positions / pass):           {t_fast[k]:7.2f} s   "
            f"{forward_rows(prompt, completion, adv, tok.mask_token_id, k):5d} forward rows   "
            f"speed-up {t_ref / t_fast[k]:5.2f}x (vs serial {t_serial / t_fast[k]:5.2f}x)   "
            f"max rel. grad diff {rel[k]:.1e}"
        )


if __name__ == "__main__":
    main()
