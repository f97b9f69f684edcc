"""Speed of JustGRPO's stacked gradient against the reference's one-position-at-a-time loop.

    python benchmarks/just_grpo_speed.py                       # tiny profile, every sample with A != 0
    python benchmarks/just_grpo_speed.py --zero-adv-groups 4   # half the groups with equal rewards
    python benchmarks/just_grpo_speed.py --shared-prefix 8     # rollouts of a prompt share 8 tokens
    python benchmarks/just_grpo_speed.py --positions-per-pass 4 8 16 32

Tiny profile on CPU: model d_model 96, 4 layers, 4 heads, mlp 256 (tiny vocabulary), 8 prompts
of the tiny tasks x 8 rollouts = 64 completions of gen_length 32. Completions are random tokens,
so by default no two rollouts share more than the prompt (``--shared-prefix`` makes them share an
opening); old log-probs are the exact ones (ratio 1, as at mu = 1). ``serial_gradient`` is the
reference's loop (one forward + backward per position over all 64 samples); ``stacked_gradient``
stacks positions along the batch, skips A = 0 samples and runs identical inputs once. Both give
the same gradient: the script checks it and prints both times and the ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.model import io  # noqa: E402
from pipeline.rl.just_grpo import JustGRPO, position_logprobs, serial_gradient, stacked_gradient  # noqa: E402
from pipeline.tasks import get_task  # noqa: E402
from pipeline.training.batches import EncodedExamples, left_pad  # noqa: E402

TASKS = ["tiny_sudoku", "tiny_countdown", "tiny_arithmetic"]


def setup(prompts: int, group: int, gen_length: int, zero_adv_groups: int, shared_prefix: int):
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 96, "n_layers": 4, "n_heads": 4, "mlp_hidden_size": 256})
    tasks = {t: get_task(t, seed=0) for t in TASKS}
    enc = EncodedExamples(tok, tasks, {t: tasks[t].load("train", prompts) for t in TASKS}, target_format=None, mode="rl")
    rows = [enc.prompt_ids(TASKS[i % len(TASKS)], i) for i in range(prompts) for _ in range(group)]
    prompt, _ = left_pad(rows, tok.pad_token_id)  # [64, P]
    completion = torch.randint(5, len(tok), (prompts * group, gen_length))  # [64, L]
    first = completion[::group, :shared_prefix].repeat_interleave(group, 0)  # a common opening per group
    completion[:, :shared_prefix] = first
    rewards = torch.tensor([[float(j % 2) for j in range(group)]] * prompts)  # every sample A != 0 ...
    rewards[:zero_adv_groups] = 1.0  # ... except in these groups of equal rewards
    adv = JustGRPO.advantages(rewards)
    with torch.no_grad():
        old = position_logprobs(model, prompt, completion, torch.arange(gen_length), tok.mask_token_id, 1.0)
    return model, tok, prompt, completion, old, adv


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--gen-length", type=int, default=32)
    ap.add_argument("--zero-adv-groups", type=int, default=0, help="groups whose rewards are all equal (A = 0)")
    ap.add_argument("--shared-prefix", type=int, default=0,
                    help="first tokens shared by all rollouts of a prompt (as a confident policy's opening)")
    ap.add_argument("--positions-per-pass", type=int, nargs="+", default=[8])
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok, prompt, completion, old, adv = setup(args.prompts, args.group, args.gen_length, args.zero_adv_groups,
                                                       args.shared_prefix)
    common = (model, prompt, completion, old, adv, tok.mask_token_id, 1.0, 0.2)
    print(f"{len(adv)} rollouts x gen_length {args.gen_length}, prompt length {prompt.shape[1]}, "
          f"{int((adv != 0).sum())} with A != 0, shared prefix {args.shared_prefix}, {torch.get_num_threads()} threads")
    # warm-up: the first forward / backward of a process pays one-off library initialisation
    serial_gradient(model, prompt[:8], completion[:8, :2], old[:8, :2], adv[:8], tok.mask_token_id, 1.0, 0.2)
    t_serial, (_, slow) = timed(lambda: serial_gradient(*common))
    print(f"serial (1 position / pass, all samples): {t_serial:8.2f} s")
    for k in args.positions_per_pass:
        t_fast, (_, fast, _) = timed(lambda: stacked_gradient(*common, positions_per_pass=k))
        rel = max(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() for a, b in zip(fast, slow))
        print(f"stacked ({k:2d} positions / pass):            {t_fast:8.2f} s   "
              f"speed-up {t_serial / t_fast:5.2f}x   max rel. grad diff {rel:.1e}")


if __name__ == "__main__":
    main()
