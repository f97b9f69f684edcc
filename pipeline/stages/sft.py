"""Stage ``sft``: d1's supervised fine-tuning with the masked-diffusion loss on reasoning traces; with
``--match-compute``, the equal-compute "more SFT" control of an RL row (which continues the start
model's own objective: pretrain's from base, SFT's from sft).

python -m pipeline sft --params params.yaml --init results/models/base --data results/data --out results/models/sft
"""

from __future__ import annotations

from pipeline.core import runtime
from pipeline.core.atomic import atomic_path
from pipeline.core.data import train_files
from pipeline.core.tracking import stage_run
from pipeline.model import io
from pipeline.stages import load_or_exit, parser
from pipeline.tasks import build_tasks, read_prepared
from pipeline.training import compute
from pipeline.training.adapters import load_trainable
from pipeline.training.batches import EncodedExamples
from pipeline.training.checkpoint import Resume
from pipeline.training.distributed import Processes, save_trained
from pipeline.training.selection import CheckpointSelection
from pipeline.training.trainer import train_masked_diffusion


def main(argv=None) -> None:
    ap = parser(__doc__, training=True)
    ap.add_argument("--init", required=True, help="model directory to start from")
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--match-compute",
        default=None,
        metavar="RL_MODEL",
        help="equal-compute control: train until the token-rows this RL model spent (compute.json)",
    )
    ap.add_argument("--run", default="all", help="with --match-compute: the RL run's task ('all': every sft task)")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    section = compute.control_objective(args.init) if args.match_compute else "sft"
    cfg = params[section]
    if args.match_compute and args.run != "all":
        cfg = {**cfg, "tasks": [args.run]}
    if args.match_compute:
        cfg = compute.control_config(cfg, args.match_compute, params["rl"]["control_optimizer"])
    runtime.setup(params["runtime"], cfg["seed"], args.log)
    procs = Processes(params["runtime"])
    tags = {"init": args.init, "objective": section}
    name = io.model_name(args.out)
    tasks = build_tasks(params, cfg["tasks"])
    train = read_prepared(args.data, tasks, "train")  # every row checked before the model loads
    arguments = {"init": args.init, "match_compute": args.match_compute, "run": args.run, "objective": section}
    inputs = [args.data, args.init, *([args.match_compute] if args.match_compute else [])]
    resume = Resume.for_output(args.out, cfg, arguments, inputs, procs.is_main)
    with stage_run(
        procs.is_main,
        params,
        "sft",
        cfg,
        tags,
        run_name=f"sft/{name}",
        system_metrics=True,
        metrics_out=args.metrics,
        resume=resume,
    ) as run:
        with run.phase("load_model"):
            # sft.lora: adapters on a frozen base, or the whole model
            model, tok = load_trainable(args.init, cfg, procs.device, params["runtime"])
        enc = EncodedExamples(tok, tasks, train, cfg["target_format"])
        budget = compute.read(args.match_compute) if args.match_compute else None
        run.log_inputs(train_files(args.data, cfg["tasks"]))
        with atomic_path(args.out, procs.is_main) as partial:  # the output appears only once complete
            selection = CheckpointSelection.for_stage(
                cfg["select"], enc.tasks, args.data, tok, partial, procs, resume.dir
            )
            train_masked_diffusion(model, enc, cfg, run, section, procs, selection, token_rows=budget, resume=resume)
            with run.phase("write"):
                save_trained(procs, model, tok, partial, params["runtime"])
        with run.phase("write"):
            run.log_model(args.out, name)
    resume.clear()


if __name__ == "__main__":
    main()
