# an evaluation's log, one per (protocol, model, task) whichever rule runs it
EVAL_LOG = f"{R}/logs/evaluate/{{protocol}}/{{model}}/{{task}}.log"


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
        EVAL_LOG,
    benchmark:
        f"{R}/benchmarks/evaluate/{{protocol}}/{{model}}/{{task}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: job_resources("evaluate")["cpus_per_task"]  # the job's cores (resources.evaluate.cpus)
    resources:
        **job_resources("evaluate"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=lambda wc: evaluate_tracked(wc.protocol, [wc.task]),
        data=lambda wc, input: data_root(input.data),
        model=lambda wc: f"{R}/models/{wc.model}",  # the stage picks the run that answers the task
    shell:
        "python -m pipeline evaluate --params {params.file} --protocol {wildcards.protocol} --model {params.model} "
        "--data {params.data} --task {wildcards.task} --out {output} --log {log}"


# One rule per protocol: its outputs are every task's folder of one model (the per-task rule above
# still makes any other (model, task), e.g. one no table lists). Same stage, same outputs, logs and
# MLflow runs per task; only the process is shared.
for _protocol, (_models, _tasks) in grouped_evaluations().items():
    _res = job_resources("evaluate")

    rule:
        name:
            f"evaluate_{_protocol}"
        input:
            model=lambda wc, tasks=_tasks: sorted({model_for_task(wc.model, t) for t in tasks}),
            data=expand(f"{R}/data/{{task}}/test.jsonl", task=_tasks),
            code=code("evaluate"),
        output:
            [directory(f"{R}/eval/{_protocol}/{{model}}/{task}") for task in _tasks],
        log:
            [EVAL_LOG.format(protocol=_protocol, model="{model}", task=t) for t in _tasks],
        benchmark:
            f"{R}/benchmarks/evaluate/{_protocol}/{{model}}.tsv"
        wildcard_constraints:
            model="|".join(_models),
        conda:
            "../envs/pipeline.yaml"
        threads: _res["cpus_per_task"]
        resources:
            gpu=_res["gpu"],
            cpus_per_task=_res["cpus_per_task"],
            mem_mb=_res["mem_mb"],
            runtime=_res["runtime"] * len(_tasks),  # one job does every task's work
        params:
            file=PARAMS,
            protocol=_protocol,
            tracked=evaluate_tracked(_protocol, _tasks),
            data=lambda wc, input: data_root(input.data),
            model=lambda wc: f"{R}/models/{wc.model}",
            each_task=lambda wc, output, protocol=_protocol, tasks=_tasks: " ".join(
                f"--task {t} --out {o} --log {EVAL_LOG.format(protocol=protocol, model=wc.model, task=t)}"
                for t, o in zip(tasks, output)
            ),
        shell:
            "python -m pipeline evaluate --params {params.file} --protocol {params.protocol} --model {params.model} "
            "--data {params.data} {params.each_task}"

    workflow.ruleorder(f"evaluate_{_protocol}", "evaluate")
