rule rl:
    """GRPO-family RL with method {method} (a key of rl.methods) starting from {init} (rl.start_from)."""
    input:
        init=f"{R}/models/{{init}}",
        data=expand(f"{R}/data/{{task}}/train.jsonl", task=config["rl"]["tasks"]),
        code=code("rl"),
    output:
        directory(f"{R}/models/{{method}}_from_{{init}}"),
    params:
        tracked=lambda wc: tracked(*RL_SHARED, f"rl.methods.{wc.method}", "data.tasks"),
        data=f"{R}/data",
    log:
        f"{R}/logs/rl/{{method}}_from_{{init}}.log",
    benchmark:
        f"{R}/benchmarks/rl/{{method}}_from_{{init}}.tsv"
    threads: config["runtime"]["threads"]
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline rl --params {PARAMS} --method {wildcards.method} --init {input.init} "
        "--data {params.data} --out {output} --log {log}"
