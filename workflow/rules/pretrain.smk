rule pretrain:
    """The base model: tiny profile trains the LLaDA stand-in from scratch; paper profile points at the checkpoint."""
    input:
        data=expand(f"{R}/data/{{task}}/train.jsonl", task=config["pretrain"]["tasks"]),
        code=code("pretrain"),
    output:
        model=directory(f"{R}/models/base"),
        metrics=f"{R}/metrics/base.json",
        curve=f"{R}/metrics/base.csv",
    log:
        f"{R}/logs/pretrain.log",
    benchmark:
        f"{R}/benchmarks/pretrain.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: job_resources("pretrain")["cpus_per_task"]  # the job's cores (resources.pretrain.cpus)
    resources:
        **job_resources("pretrain"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        launch=config["runtime"]["launch"],
        tracked=tracked("model", "pretrain", "data.tasks"),
        data=lambda wc, input: data_root(input.data),
    shell:
        "{params.launch} pipeline pretrain --params {params.file} --data {params.data} --out {output.model} --metrics {output.metrics} --log {log}"
