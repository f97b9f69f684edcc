"""Stage ``pretrain``: the base model. Tiny profile: train the stand-in for LLaDA-8B-Instruct from
scratch with the masked-diffusion loss. Paper profile (model.init = pretrained): record which
checkpoint is the base (no copy).

    python -m pipeline pretrain --params params.yaml --data results/data --out results/models/base
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_path
from pipeline.core.data import train_files
from pipeline.core.tracking import stage_run
from pipeline.model import io
from pipeline.stages import load_or_exit, parser
from pipeline.tasks import build_tasks, read_prepared
from pipeline.training.adapters import prepare_trainable
from pipeline.training.batches import EncodedExamples
from pipeline.training.checkpoint import Resume
from pipeline.training.distributed import Processes, save_trained
from pipeline.training.selection import CheckpointSelection
from pipeline.training.trainer import train_masked_diffusion


def main(argv=None) -> None:
    ap = parser(__doc__, training=True)
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    cfg, mcfg = params["pretrain"], params["model"]
    runtime.setup(params["runtime"], cfg["seed"], args.log)
    procs = Processes(params["runtime"])
    out = Path(args.out)
    tasks = build_tasks(params, cfg["tasks"])
    scratch = mcfg["init"] == "scratch"  # a pretrained base reads no data
    train = read_prepared(args.data, tasks, "train") if scratch else {}  # every row checked before any work
    resume = Resume.for_output(out, {"model": mcfg, **cfg}, {}, [args.data], procs.is_main)
    with stage_run(
        procs.is_main,
        params,
        "pretrain",
        {"model": mcfg, **cfg},
        run_name="pretrain/base",
        system_metrics=True,
        metrics_out=args.metrics,
        resume=resume,
    ) as run:
        if not scratch:
            if procs.is_main:
                io.write_pointer(out, mcfg["path"])
            print(f"[pretrain] base model is the pretrained checkpoint {mcfg['path']}")
            return
        with run.phase("load_model"):
            model, tok = io.build_scratch(mcfg)  # float32 master weights
        model = prepare_trainable(model, cfg)  # gradient checkpointing if asked (lora must be null here)
        model.to(procs.device)
        n_params = sum(p.numel() for p in model.parameters())
        run.log_metrics({"n_params": n_params})
        print(f"[pretrain] LLaDA from scratch: {n_params / 1e6:.2f}M parameters, {cfg['steps']} steps")
        enc = EncodedExamples(tok, tasks, train, cfg["target_format"])
        run.log_inputs(train_files(args.data, cfg["tasks"]))
        with atomic_path(out, procs.is_main) as partial:  # the output appears only once complete
            selection = CheckpointSelection.for_stage(
                cfg["select"], enc.tasks, args.data, tok, partial, procs, resume.dir
            )
            train_masked_diffusion(model, enc, cfg, run, "pretrain", procs, selection, resume=resume)
            with run.phase("write"):
                save_trained(procs, model, tok, partial, params["runtime"])
        with run.phase("write"):
            run.log_model(out, "base")
    resume.clear()


if __name__ == "__main__":
    main()
