"""Stage ``rl``: GRPO-family RL of a model with one registered method.

    python -m pipeline rl --params params.yaml --method diffu_grpo --init results/models/sft --run all \
        --data results/data --out results/models/diffu_grpo_from_sft/all
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_path
from pipeline.core.data import train_files
from pipeline.core.tracking import stage_run
from pipeline.model import io
from pipeline.rl import ALL_TASKS, get_method, method_config
from pipeline.rl.loop import run_rl
from pipeline.stages import load_or_exit, parser
from pipeline.tasks import build_tasks, read_prepared
from pipeline.training import compute
from pipeline.training.adapters import load_trainable
from pipeline.training.batches import EncodedExamples
from pipeline.training.checkpoint import Resume
from pipeline.training.distributed import Processes, save_trained
from pipeline.training.selection import CheckpointSelection


def main(argv=None) -> None:
    ap = parser(__doc__, training=True)
    ap.add_argument("--method", required=True)
    ap.add_argument("--init", required=True, help="model directory to start from")
    ap.add_argument("--run", default=ALL_TASKS, help="an entry of rl.runs: 'all' or the one task to train on")
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    cfg = method_config(params["rl"], args.method, args.run)  # shared keys, overrides, this run's settings
    runtime.setup(params["runtime"], cfg["seed"], args.log)
    procs = Processes(params["runtime"])
    init = Path(args.init).name
    tasks = build_tasks(params, cfg["tasks"])
    train = read_prepared(args.data, tasks, "train")  # every row checked before the model loads
    arguments = {"method": args.method, "init": args.init, "run": args.run}
    resume = Resume.for_output(args.out, cfg, arguments, [args.data, args.init], procs.is_main)
    with stage_run(
        procs.is_main,
        params,
        "rl",
        cfg,
        {"method": args.method, "init": init, "run": args.run, "task": ",".join(cfg["tasks"])},
        run_name=f"rl/{args.method}_from_{init}/{args.run}",
        system_metrics=True,
        metrics_out=args.metrics,
        resume=resume,
    ) as run:
        with run.phase("load_model"):
            # rl.lora: adapters on a frozen base, or the whole model
            model, tok = load_trainable(args.init, cfg, procs.device, params["runtime"])
        method = get_method(args.method, cfg, int(model.config.mask_token_id), tok.eos_token_id)
        enc = EncodedExamples(tok, tasks, train, target_format=None, mode="rl")
        run.log_inputs(train_files(args.data, cfg["tasks"]))
        every = params["tracking"]["rollout_samples_every"]
        with atomic_path(args.out, procs.is_main) as partial:  # the output appears only once complete
            selection = CheckpointSelection.for_stage(
                cfg["select"], enc.tasks, args.data, tok, partial, procs, resume.dir
            )
            result = run_rl(model, tok, method, enc, cfg, run, procs, selection, samples_every=every, resume=resume)
            with run.phase("write"):
                save_trained(procs, model, tok, partial, params["runtime"])
                if procs.is_main:
                    compute.write(partial, result["token_rows"], cfg)  # what the equal-compute control matches
        with run.phase("write"):
            run.log_model(args.out, io.model_name(args.out))
    resume.clear()


if __name__ == "__main__":
    main()
