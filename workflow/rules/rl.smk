rule rl:
    """GRPO-family RL with method {method} (a key of rl.methods) from {init} (rl.start_from), one run
    {run} of rl.runs: 'all' trains on every rl.tasks task, a task name on that task alone."""
    input:
        init=f"{R}/models/{{init}}",
        data=lambda wc: expand(f"{R}/data/{{task}}/train.jsonl", task=run_tasks(wc.run)),
        code=code("rl"),
    output:
        model=directory(f"{R}/models/{{method}}_from_{{init}}/{{run}}"),
        metrics=f"{R}/metrics/{{method}}_from_{{init}}/{{run}}.json",
        curve=f"{R}/metrics/{{method}}_from_{{init}}/{{run}}.csv",
    log:
        f"{R}/logs/rl/{{method}}_from_{{init}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/rl/{{method}}_from_{{init}}/{{run}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: job_resources("rl")["cpus_per_task"]  # the job's cores (resources.rl.cpus)
    resources:
        **job_resources("rl"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        launch=config["runtime"]["launch"],
        tracked=lambda wc: tracked(*RL_SHARED, f"rl.methods.{wc.method}", "data.tasks"),
        data=lambda wc, input: data_root(input.data),
    shell:
        "{params.launch} pipeline rl --params {params.file} --method {wildcards.method} --init {input.init} "
        "--run {wildcards.run} --data {params.data} --out {output.model} --metrics {output.metrics} --log {log}"
