"""Stage ``evaluate``: greedy decoding of one model on one task at every generation length,
under one decoding protocol (``eval.protocols``: d1 = length/2 steps, justgrpo = one token per step).

Writes ``<out>/L<len>/generations.jsonl`` and ``<out>/L<len>/metrics.json`` (accuracy, mean
effective tokens, NFE, tokens per step).

    python -m pipeline.evaluate --params params.yaml --protocol d1 --model results/models/sft \
        --task tiny_sudoku --data results/data --out results/eval/d1/sft/tiny_sudoku
"""
from __future__ import annotations

import json
from pathlib import Path

from pipeline import cli, runtime
from pipeline.data import write_jsonl
from pipeline.evaluation import evaluate_length
from pipeline.sampling import get_sampler
from pipeline.tracking import StageRun
from pipeline.training.setup import load_model, load_split, load_tasks


def main(argv=None) -> None:
    ap = cli.parser(__doc__)
    ap.add_argument("--protocol", required=True, help="a key of eval.protocols")
    ap.add_argument("--model", required=True, help="model directory")
    ap.add_argument("--task", required=True)
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = cli.load_or_exit(args.params)
    cfg = params["eval"]
    device = runtime.setup(params["runtime"], 0, args.log)
    model_name = Path(args.model).name
    task = load_tasks(params, [args.task])[args.task]
    examples = load_split(args.data, [args.task], "test")[args.task]
    sampler = get_sampler(cfg["sampler"])
    if args.protocol not in cfg["protocols"]:
        raise SystemExit(f"error: --protocol {args.protocol!r}: allowed values are {', '.join(cfg['protocols'])}")
    ratio = cfg["protocols"][args.protocol]
    tracked = {k: v for k, v in cfg.items() if k != "protocols"} | {"protocol": args.protocol, "steps_ratio": ratio}
    with StageRun(params, "evaluate", tracked, {"model": model_name, "task": args.task, "protocol": args.protocol},
                  run_name=f"evaluate/{args.protocol}/{model_name}/{args.task}") as run:
        model, tok = load_model(args.model, params, device)
        model.eval()
        for L in cfg["gen_lengths"]:
            steps = round(ratio * L)
            metrics, records = evaluate_length(model, tok, task, examples, sampler, L, cfg["block_length"], steps,
                                               cfg["batch_size"], desc=f"evaluate {model_name}/{args.task}/L{L}")
            metrics.update(model=model_name, task=args.task, sampler=cfg["sampler"], protocol=args.protocol)
            out = Path(args.out) / f"L{L}"
            write_jsonl(out / "generations.jsonl", records)
            (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            run.log_metrics({f"accuracy_L{L}": metrics["accuracy"], f"nfe_L{L}": metrics["nfe"],
                             f"effective_tokens_L{L}": metrics["mean_effective_tokens"]})
            run.log_artifact(out / "metrics.json", f"L{L}")
            print(f"[evaluate] {model_name} {args.task} L={L}: accuracy {metrics['accuracy']:.1f}% "
                  f"NFE {metrics['nfe']:.0f} ({metrics['seconds']:.1f}s)")


if __name__ == "__main__":
    main()
