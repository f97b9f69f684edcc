"""Stage ``evaluate``: greedy decoding of one model on one task at every generation length,
under one decoding protocol (``eval.protocols``: d1 = length/2 steps, justgrpo = one token per step).

Writes ``<out>/L<len>/generations.jsonl`` and ``<out>/L<len>/metrics.json`` (accuracy, mean
effective tokens, NFE, tokens per step).

    python -m pipeline evaluate --params params.yaml --protocol d1 --model results/models/sft \
        --task tiny_sudoku --data results/data --out results/eval/d1/sft/tiny_sudoku
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_path
from pipeline.core.data import write_jsonl
from pipeline.core.tracking import StageRun
from pipeline.decoding.problems import evaluate_length
from pipeline.model import io
from pipeline.rl import run_for_task
from pipeline.sampling import Decoding, get_sampler
from pipeline.stages import load_or_exit, parser
from pipeline.tasks import build_tasks, read_prepared

#: MLflow metric name -> metrics.json key, logged per generation length
LOGGED = {
    "accuracy": "accuracy",
    "format_rate": "format_rate",
    "nfe": "nfe",
    "effective_tokens": "mean_effective_tokens",
    "tokens_per_step": "tokens_per_step",
    "positions_per_token": "positions_per_token",
}


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--protocol", required=True, help="a key of eval.protocols")
    ap.add_argument("--model", required=True, help="model directory")
    ap.add_argument("--task", required=True)
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    cfg = params["eval"]
    device = runtime.setup(params["runtime"], 0, args.log)
    model_name = Path(args.model).name
    task = build_tasks(params, [args.task])[args.task]
    examples = read_prepared(args.data, {args.task: task}, "test")[args.task]
    model_dir = io.model_for_run(args.model, run_for_task(params["rl"], args.task))  # an RL model's run
    io.check_complete(model_dir)  # before any work: one line naming the missing file and the fix
    sampler_options = params["sampling"][cfg["sampler"]]
    sampler = get_sampler(cfg["sampler"], sampler_options)
    if args.protocol not in cfg["protocols"]:
        raise SystemExit(f"error: --protocol {args.protocol!r}: allowed values are {', '.join(cfg['protocols'])}")
    ratio = cfg["protocols"][args.protocol]
    tracked = {k: v for k, v in cfg.items() if k != "protocols"} | {
        "protocol": args.protocol,
        "steps_ratio": ratio,
        "sampler_options": sampler_options,
    }
    with StageRun(
        params,
        "evaluate",
        tracked,
        {"model": model_name, "task": args.task, "protocol": args.protocol},
        run_name=f"evaluate/{args.protocol}/{model_name}/{args.task}",
    ) as run:
        run.set_tags({"model_dir": f"{model_dir}", "model_run_id": run.model_run_id(model_dir) or "none"})
        with run.phase("load_model"):
            model, tok = io.load_stage_model(model_dir, runtime.dtype_of(params["runtime"]), device)
        model.eval()
        with atomic_path(args.out) as partial:  # the output appears only once every length is done
            for L in cfg["gen_lengths"]:
                spec = Decoding(io.mask_id(model), L, cfg["block_length"], steps=round(ratio * L))  # greedy
                metrics, records = evaluate_length(
                    model,
                    tok,
                    task,
                    examples,
                    sampler,
                    spec,
                    cfg["batch_size"],
                    desc=f"evaluate {model_name}/{args.task}/L{L}",
                )
                metrics.update(model=model_name, task=args.task, sampler=cfg["sampler"], protocol=args.protocol)
                out = partial / f"L{L}"
                with run.phase("write"):
                    write_jsonl(out / "generations.jsonl", records)
                    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
                    # the generation length as the step: the UI plots accuracy against length; the flat
                    # per-length keys are what mlflow.search_runs returns as columns (README "Compare runs")
                    values = {k: metrics[m] for k, m in LOGGED.items()}
                    run.log_metrics(values, step=L)
                    run.log_metrics({f"{k}_L{L}": v for k, v in values.items()})
                    run.log_artifact(out / "metrics.json", f"L{L}")
                    run.log_artifact(out / "generations.jsonl", f"L{L}")
                print(
                    f"[evaluate] {model_name} {args.task} L={L}: accuracy {metrics['accuracy']:.1f}% "
                    f"format {metrics['format_rate']:.1f}% NFE {metrics['nfe']:.0f} ({metrics['seconds']:.1f}s) "
                    f"-> {args.out}/L{L}"
                )


if __name__ == "__main__":
    main()
