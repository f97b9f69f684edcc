"""Stage ``sft``: d1's supervised fine-tuning with the masked-diffusion loss on reasoning traces.

    python -m pipeline.sft --params params.yaml --init results/models/base --data results/data --out results/models/sft
"""
from __future__ import annotations

from pipeline import cli, runtime
from pipeline.model import io
from pipeline.tracking import StageRun
from pipeline.training.batches import EncodedExamples
from pipeline.training.setup import load_model, load_split, load_tasks
from pipeline.training.trainer import train_masked_diffusion


def main(argv=None) -> None:
    ap = cli.parser(__doc__)
    ap.add_argument("--init", required=True, help="model directory to start from")
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = cli.load_or_exit(args.params)
    cfg = params["sft"]
    device = runtime.setup(params["runtime"], cfg["seed"], args.log)
    with StageRun(params, "sft", cfg, {"init": args.init}, run_name="sft") as run:
        model, tok = load_model(args.init, params, device)
        enc = EncodedExamples(tok, load_tasks(params, cfg["tasks"]), load_split(args.data, cfg["tasks"], "train"),
                              cfg["target_format"])
        train_masked_diffusion(model, enc, cfg, run, "sft", device)
        io.save(model, tok, args.out)


if __name__ == "__main__":
    main()
