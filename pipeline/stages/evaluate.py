"""Stage ``evaluate``: greedy decoding of one model on one task at every generation length,
under one decoding protocol (``eval.protocols``: d1 = length/2 steps, justgrpo = one token per step).

Writes ``<out>/L<len>/generations.jsonl`` and ``<out>/L<len>/metrics.json`` (accuracy, mean
effective tokens, NFE, tokens per step). ``--task``, ``--out`` and ``--log`` repeat: one job can
evaluate a model on several tasks (``eval.group_tasks``), one process start instead of one per task;
each task still gets its own output folder, log and MLflow run.

    python -m pipeline evaluate --params params.yaml --protocol d1 --model results/models/sft \
        --data results/data --task tiny_sudoku --out results/eval/d1/sft/tiny_sudoku
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
from pipeline.stages import load_or_exit, parser, per_task
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
    ap = parser(__doc__, per_task_logs=True)
    ap.add_argument("--protocol", required=True, help="a key of eval.protocols")
    ap.add_argument("--model", required=True, help="model directory")
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--task", action="append", required=True, help="a task; repeat for several")
    ap.add_argument("--out", action="append", required=True, help="output folder of each --task, in order")
    args = ap.parse_args(argv)
    logs = per_task(args)
    params = load_or_exit(args.params)
    cfg = params["eval"]
    if args.protocol not in cfg["protocols"]:
        raise SystemExit(f"error: --protocol {args.protocol!r}: allowed values are {', '.join(cfg['protocols'])}")
    runtime.setup(params["runtime"], 0, logs[0])
    tasks = build_tasks(params, args.task)
    examples = read_prepared(args.data, tasks, "test")  # every task's rows checked before any work
    model_dirs = {t: io.model_for_run(args.model, run_for_task(params["rl"], t)) for t in args.task}  # RL: a run
    for d in dict.fromkeys(model_dirs.values()):
        io.check_complete(d)  # before any work: one line naming the missing file and the fix
    loaded: dict = {}  # model directory -> (model, tokenizer): a job's tasks often share one
    for i, (name, out) in enumerate(zip(args.task, args.out)):
        if i:
            runtime.log_to(logs[i])
        evaluate_task(params, args.protocol, args.model, tasks[name], examples[name], model_dirs[name], out, loaded)


def evaluate_task(params, protocol, model_arg, task, examples, model_dir, out_dir, loaded) -> None:
    """One (model, task): every generation length, its own MLflow run and output folder; ``loaded``
    keeps the job's models (directory -> model, tokenizer) across its tasks."""
    cfg = params["eval"]
    model_name = Path(model_arg).name
    sampler_options = params["sampling"][cfg["sampler"]]
    sampler = get_sampler(cfg["sampler"], sampler_options)
    ratio = cfg["protocols"][protocol]
    tracked = {k: v for k, v in cfg.items() if k not in ("protocols", "group_tasks")} | {
        "protocol": protocol,
        "steps_ratio": ratio,
        "sampler_options": sampler_options,
    }
    with StageRun(
        params,
        "evaluate",
        tracked,
        {"model": model_name, "task": task.name, "protocol": protocol},
        run_name=f"evaluate/{protocol}/{model_name}/{task.name}",
    ) as run:
        run.set_tags({"model_dir": f"{model_dir}", "model_run_id": run.model_run_id(model_dir) or "none"})
        if model_dir not in loaded:
            with run.phase("load_model"):
                loaded[model_dir] = io.load_stage_model(
                    model_dir, runtime.dtype_of(params["runtime"]), runtime.resolve_device(params["runtime"])
                )
        model, tok = loaded[model_dir]
        model.eval()
        with atomic_path(out_dir) as partial:  # the output appears only once every length is done
            for L in cfg["gen_lengths"]:
                stop = tok.eos_token_id if cfg["stop_at_eos"] else None
                spec = Decoding(io.mask_id(model), L, cfg["block_length"], round(ratio * L), stop_id=stop)  # greedy
                metrics, records = evaluate_length(
                    model,
                    tok,
                    task,
                    examples,
                    sampler,
                    spec,
                    cfg["batch_size"],
                    desc=f"evaluate {model_name}/{task.name}/L{L}",
                )
                metrics.update(model=model_name, task=task.name, sampler=cfg["sampler"], protocol=protocol)
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
                    f"[evaluate] {model_name} {task.name} L={L}: accuracy {metrics['accuracy']:.1f}% "
                    f"format {metrics['format_rate']:.1f}% NFE {metrics['nfe']:.0f} ({metrics['seconds']:.1f}s) "
                    f"-> {out_dir}/L{L}"
                )


if __name__ == "__main__":
    main()
