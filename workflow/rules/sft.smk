rule sft:
    """d1 SFT: masked-diffusion loss on reasoning traces, from the base model."""
    input:
        init=f"{R}/models/base",
        data=expand(f"{R}/data/{{task}}/train.jsonl", task=config["sft"]["tasks"]),
        code=code("sft"),
    output:
        model=directory(f"{R}/models/sft"),
        metrics=f"{R}/metrics/sft.json",
        curve=f"{R}/metrics/sft.csv",
    log:
        f"{R}/logs/sft.log",
    benchmark:
        f"{R}/benchmarks/sft.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: job_resources("sft")["cpus_per_task"]  # the job's cores (resources.sft.cpus)
    resources:
        **job_resources("sft"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        launch=config["runtime"]["launch"],
        tracked=tracked("sft", "data.tasks"),
        data=lambda wc, input: data_root(input.data),
    shell:
        "{params.launch} pipeline sft --params {params.file} --init {input.init} --data {params.data} --out {output.model} --metrics {output.metrics} --log {log}"
