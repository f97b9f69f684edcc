rule evaluate:
    """Decoding of one model on one task at every generation length, under one protocol
    (eval.protocols: d1 = length/2 steps, justgrpo = one token per step), with eval.sampler."""
    input:
        model=lambda wc: model_for_task(wc.model, wc.task),
        data=f"{R}/data/{{task}}/test.jsonl",
        code=code("evaluate"),
    output:
        directory(f"{R}/eval/{{protocol}}/{{model}}/{{task}}"),
    log:
        f"{R}/logs/evaluate/{{protocol}}/{{model}}/{{task}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{protocol}}/{{model}}/{{task}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: job_resources("evaluate")["cpus_per_task"]  # the job's cores (resources.evaluate.cpus)
    resources:
        gpu=job_resources("evaluate")["gpu"],
        cpus_per_task=job_resources("evaluate")["cpus_per_task"],
        mem_mb=job_resources("evaluate")["mem_mb"],
        runtime=job_resources("evaluate")["runtime"],
    params:
        file=PARAMS,
        tracked=lambda wc: tracked(
            "eval.gen_lengths",
            "eval.block_length",
            "eval.sampler",
            "eval.batch_size",
            f"eval.protocols.{wc.protocol}",
            f"sampling.{config['eval']['sampler']}",
            f"data.tasks.{wc.task}",
        ),
        data=lambda wc, input: data_root(input.data),
        model=lambda wc: f"{R}/models/{wc.model}",  # the stage picks the run that answers the task
    shell:
        "python -m pipeline evaluate --params {params.file} --protocol {wildcards.protocol} --model {params.model} "
        "--task {wildcards.task} --data {params.data} --out {output} --log {log}"
