rule sft:
    """d1 SFT: masked-diffusion loss on reasoning traces, from the base model."""
    input:
        init="results/models/base",
        data=expand("results/data/{task}/train.jsonl", task=config["sft"]["tasks"]),
        code=code("sft"),
    output:
        directory("results/models/sft"),
    params:
        sft=section("sft"),
    log:
        "results/logs/sft.log",
    benchmark:
        "results/benchmarks/sft.tsv"
    threads: config["runtime"]["threads"]
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.sft --params params.yaml --init results/models/base --data results/data "
        "--out results/models/sft --log {log}"
