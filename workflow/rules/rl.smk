rule rl:
    """GRPO-family RL with method {method} (a key of rl.methods) starting from {init} (rl.start_from)."""
    input:
        init=f"{R}/models/{{init}}",
        data=expand(f"{R}/data/{{task}}/train.jsonl", task=config["rl"]["tasks"]),
        code=code("rl"),
    output:
        directory(f"{R}/models/{{method}}_from_{{init}}"),
    log:
        f"{R}/logs/rl/{{method}}_from_{{init}}.log",
    benchmark:
        f"{R}/benchmarks/rl/{{method}}_from_{{init}}.tsv"
    resources:
        gpu=job_resources("rl")["gpu"],
        cpus_per_task=job_resources("rl")["cpus_per_task"],
        mem_mb=job_resources("rl")["mem_mb"],
        runtime=job_resources("rl")["runtime"],
    conda:
        "../envs/pipeline.yaml"
    threads: config["runtime"]["threads"]
    params:
        file=PARAMS,
        launch=config["runtime"]["launch"],
        tracked=lambda wc: tracked(*RL_SHARED, f"rl.methods.{wc.method}", "data.tasks"),
        data=lambda wc, input: data_root(input.data),
    shell:
        "{params.launch} pipeline rl --params {params.file} --method {wildcards.method} --init {input.init} "
        "--data {params.data} --out {output} --log {log}"
