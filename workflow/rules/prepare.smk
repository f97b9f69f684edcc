rule prepare:
    """Task splits: generated (tiny tasks) or read from data.data_dir (benchmarks)."""
    input:
        code=code("prepare"),
    output:
        train=f"{R}/data/{{task}}/train.jsonl",
        validation=f"{R}/data/{{task}}/validation.jsonl",
        test=f"{R}/data/{{task}}/test.jsonl",
    log:
        f"{R}/logs/prepare/{{task}}.log",
    benchmark:
        f"{R}/benchmarks/prepare/{{task}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        gpu=job_resources("prepare")["gpu"],
        cpus_per_task=job_resources("prepare")["cpus_per_task"],
        mem_mb=job_resources("prepare")["mem_mb"],
        runtime=job_resources("prepare")["runtime"],
    params:
        file=PARAMS,
        tracked=lambda wc: tracked(
            "data.data_dir", "data.seed", "data.n_train", "data.n_test", "data.n_validation", f"data.tasks.{wc.task}"
        ),
        out=lambda wc, output: os.path.dirname(output.train),
    shell:
        "python -m pipeline prepare --params {params.file} --task {wildcards.task} --out {params.out} --log {log}"
