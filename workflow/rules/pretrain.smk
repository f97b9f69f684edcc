rule pretrain:
    """The base model: tiny profile trains the LLaDA stand-in from scratch; paper profile points at the checkpoint."""
    input:
        data=expand(f"{R}/data/{{task}}/train.jsonl", task=config["pretrain"]["tasks"]),
        code=code("pretrain"),
    output:
        directory(f"{R}/models/base"),
    params:
        tracked=tracked("model", "pretrain", "data.tasks"),
        data=f"{R}/data",
    log:
        f"{R}/logs/pretrain.log",
    benchmark:
        f"{R}/benchmarks/pretrain.tsv"
    threads: config["runtime"]["threads"]
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline pretrain --params {PARAMS} --data {params.data} --out {output} --log {log}"
