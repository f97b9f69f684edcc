PREPARE_LOG = f"{R}/logs/prepare/{{dataset}}.log"
PREPARE_TRACKED = ["data.data_dir", "data.seed", "data.n_train", "data.n_test", "data.n_validation"]


rule prepare:
    """Task splits: generated (tiny tasks) or read from data.data_dir (benchmarks). The wildcard is named
    dataset, not task: Snakemake's DAG labels a job only with wildcards its inputs' jobs lack, so the
    evaluate jobs downstream keep their task label."""
    input:
        code=code("prepare"),
    output:
        train=f"{R}/data/{{dataset}}/train.jsonl",
        validation=f"{R}/data/{{dataset}}/validation.jsonl",
        test=f"{R}/data/{{dataset}}/test.jsonl",
    log:
        PREPARE_LOG,
    benchmark:
        f"{R}/benchmarks/prepare/{{dataset}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        **job_resources("prepare"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=lambda wc: tracked(*PREPARE_TRACKED, f"data.tasks.{wc.dataset}"),
        out=lambda wc, output: os.path.dirname(output.train),
    shell:
        "python -m pipeline prepare --params {params.file} --task {wildcards.dataset} --out {params.out} --log {log}"


# data.group_tasks: one job over every task (the rule above still makes one task alone, e.g. under
# --allowed-rules). Same stage, same outputs, logs and MLflow runs per task; only the process is shared.
if config["data"]["group_tasks"]:
    _datasets = list(config["data"]["tasks"])

    rule prepare_tasks:
        input:
            code=code("prepare"),
        output:
            [f"{R}/data/{d}/{split}.jsonl" for d in _datasets for split in ("train", "validation", "test")],
        log:
            [PREPARE_LOG.format(dataset=d) for d in _datasets],
        benchmark:
            f"{R}/benchmarks/prepare/tasks.tsv"
        conda:
            "../envs/pipeline.yaml"
        resources:
            **{**job_resources("prepare"), "runtime": job_resources("prepare")["runtime"] * len(_datasets)},
        params:
            file=PARAMS,
            tracked=tracked(*PREPARE_TRACKED, *(f"data.tasks.{d}" for d in _datasets)),
            each_task=" ".join(
                f"--task {d} --out {R}/data/{d} --log {PREPARE_LOG.format(dataset=d)}" for d in _datasets
            ),
        shell:
            "python -m pipeline prepare --params {params.file} {params.each_task}"

    ruleorder: prepare_tasks > prepare
