rule prepare:
    """Task splits: generated (tiny tasks) or read from data.data_dir (benchmarks)."""
    input:
        code=code("prepare"),
    output:
        train="results/data/{task}/train.jsonl",
        test="results/data/{task}/test.jsonl",
    params:
        data=section("data"),
    log:
        "results/logs/prepare/{task}.log",
    benchmark:
        "results/benchmarks/prepare/{task}.tsv"
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.prepare --params params.yaml --task {wildcards.task} "
        "--out results/data/{wildcards.task} --log {log}"
