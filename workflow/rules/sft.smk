rule sft:
    """d1 SFT: masked-diffusion loss on reasoning traces, from the base model."""
    input:
        init=f"{R}/models/base",
        data=expand(f"{R}/data/{{task}}/train.jsonl", task=config["sft"]["tasks"]),
        code=code("sft"),
    output:
        directory(f"{R}/models/sft"),
    params:
        tracked=tracked("sft", "data.tasks"),
        data=f"{R}/data",
    log:
        f"{R}/logs/sft.log",
    benchmark:
        f"{R}/benchmarks/sft.tsv"
    threads: config["runtime"]["threads"]
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline sft --params {PARAMS} --init {input.init} --data {params.data} --out {output} --log {log}"
