rule rl:
    """GRPO-family RL with method {method} (diffu_grpo, ...) starting from {init} (base or sft)."""
    input:
        init="results/models/{init}",
        data=expand("results/data/{task}/train.jsonl", task=config["rl"]["tasks"]),
        code=code("rl"),
    output:
        directory("results/models/{method}_from_{init}"),
    params:
        rl=section("rl", *RL_SHARED),
        method=lambda wc: config["rl"][wc.method],
    log:
        "results/logs/rl/{method}_from_{init}.log",
    benchmark:
        "results/benchmarks/rl/{method}_from_{init}.tsv"
    threads: config["runtime"]["threads"]
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.rl --params params.yaml --method {wildcards.method} "
        "--init results/models/{wildcards.init} --data results/data "
        "--out results/models/{wildcards.method}_from_{wildcards.init} --log {log}"
