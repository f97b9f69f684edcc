rule more_sft:
    """The equal-compute control of RL row {method}_from_{init}, run {run}: the start model's own training
    (from base: pretrain's objective; from sft: SFT) continued until it has spent the training
    token-rows the RL run spent (its compute.json), with the RL run's optimizer or its own (rl.control_optimizer)."""
    input:
        init=f"{R}/models/{{init}}",
        rl=f"{R}/models/{{method}}_from_{{init}}/{{run}}",
        data=lambda wc: expand(
            f"{R}/data/{{task}}/train.jsonl",
            task=config[control_objective(wc.init)]["tasks"] if wc.run == "all" else [wc.run],
        ),
        code=code("sft"),
    output:
        model=directory(f"{R}/models/more_sft_for_{{method}}_from_{{init}}/{{run}}"),
        metrics=f"{R}/metrics/more_sft_for_{{method}}_from_{{init}}/{{run}}.json",
        curve=f"{R}/metrics/more_sft_for_{{method}}_from_{{init}}/{{run}}.csv",
    log:
        f"{R}/logs/more_sft/{{method}}_from_{{init}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/more_sft/{{method}}_from_{{init}}/{{run}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: job_resources("sft")["cpus_per_task"]  # the job's cores (resources.sft.cpus)
    resources:
        **job_resources("sft"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        launch=config["runtime"]["launch"],
        tracked=tracked("pretrain", "sft", "data.tasks", "rl.control_optimizer"),  # objective: base's or sft's
        data=lambda wc, input: data_root(input.data),
    shell:
        "{params.launch} pipeline sft --params {params.file} --init {input.init} --match-compute {input.rl} "
        "--run {wildcards.run} --data {params.data} --out {output.model} --metrics {output.metrics} --log {log}"
