rule pretrain:
    """The base model: tiny profile trains the LLaDA stand-in from scratch; paper profile points at the checkpoint."""
    input:
        data=expand("results/data/{task}/train.jsonl", task=config["pretrain"]["tasks"]),
        code=code("pretrain"),
    output:
        directory("results/models/base"),
    params:
        model=section("model"),
        pretrain=section("pretrain"),
    log:
        "results/logs/pretrain.log",
    benchmark:
        "results/benchmarks/pretrain.tsv"
    threads: config["runtime"]["threads"]
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.pretrain --params params.yaml --data results/data "
        "--out results/models/base --log {log}"
