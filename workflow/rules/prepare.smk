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
        f"{R}/logs/prepare/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/prepare/{{dataset}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        **job_resources("prepare"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=lambda wc: tracked(
            "data.data_dir",
            "data.seed",
            "data.n_train",
            "data.n_test",
            "data.n_validation",
            f"data.tasks.{wc.dataset}",
        ),
        out=lambda wc, output: os.path.dirname(output.train),
    shell:
        "python -m pipeline prepare --params {params.file} --task {wildcards.dataset} --out {params.out} --log {log}"
