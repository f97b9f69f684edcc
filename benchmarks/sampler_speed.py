"""The low-confidence sampler against a plain re-implementation of LLaDA's ``generate``: same model,
same batch, greedy float32; output must be token-identical.

    python benchmarks/sampler_speed.py [--vocab 48 4096] [--batch 64] [--repeats 3]

The model is the tiny default architecture (params.yaml ``model``) with the vocabulary size set by
``--vocab`` (random weights: speed does not depend on training). Decoding: prompt 40 tokens,
generation 64, blocks of 16, 32 steps (the tiny d1 protocol at L = 64). Prints the median seconds
of each and the speed-up. Do not run other timings at the same time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.llada_generate import llada_generate
from pipeline.model.configuration_llada import LLaDAConfig
from pipeline.model.modeling_llada import LLaDAModelLM
from pipeline.sampling import Decoding, get_sampler

ROOT = Path(__file__).resolve().parents[1]
PROMPT, GEN, BLOCK, STEPS = 40, 64, 16, 32


def median_seconds(fn, repeats: int) -> tuple[float, torch.Tensor]:
    out, times = fn(), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, nargs="+", default=[48, 4096])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    torch.set_num_threads(params["runtime"]["threads"])
    sampler = get_sampler("low_confidence")
    print(
        f"{torch.get_num_threads()} threads; batch {args.batch}, prompt {PROMPT}, L {GEN}, block {BLOCK}, {STEPS} steps"
    )
    print(f"{'vocab':>6}{'LLaDA generate s':>18}{'ours s':>9}{'speed-up':>10}  identical")
    for vocab in args.vocab:
        ref_s, our_s, same = compare(params["model"], vocab, args.batch, sampler, args.repeats)
        print(f"{vocab:>6}{ref_s:>18.3f}{our_s:>9.3f}{ref_s / our_s:>9.2f}x  {same}", flush=True)


def compare(m: dict, vocab: int, batch: int, sampler, repeats: int) -> tuple[float, float, bool]:
    """Median seconds of LLaDA's generate and of ``sampler`` on one random model, and whether they agree."""
    torch.manual_seed(0)
    cfg = LLaDAConfig(
        d_model=m["d_model"],
        n_layers=m["n_layers"],
        n_heads=m["n_heads"],
        mlp_hidden_size=m["mlp_hidden_size"],
        vocab_size=vocab,
        mask_token_id=vocab - 1,
        eos_token_id=vocab - 2,
        pad_token_id=vocab - 2,
    )
    model = LLaDAModelLM(cfg).eval()
    prompt = torch.randint(0, vocab - 1, (batch, PROMPT), generator=torch.Generator().manual_seed(1))
    spec = Decoding(vocab - 1, GEN, BLOCK, steps=STEPS)
    ref_s, ref = median_seconds(lambda: llada_generate(model, prompt, STEPS, GEN, BLOCK, vocab - 1), repeats)
    our_s, ours = median_seconds(lambda: sampler(model, prompt, spec).sequences, repeats)
    return ref_s, our_s, torch.equal(ref, ours)


if __name__ == "__main__":
    main()
