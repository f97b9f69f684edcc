rule analyze:
    """A Flexibility-Trap figure and the CSV behind it (settings: analysis.<name>)."""
    input:
        models=lambda wc: analysis_models(wc.name),
        data=lambda wc: expand(f"{R}/data/{{task}}/test.jsonl", task=config["analysis"][wc.name]["tasks"]),
        code=code("analyze"),
    output:
        png=report(f"{R}/figures/{{name}}.png", caption="../report/figure.rst", category="Figures"),
        csv=report(f"{R}/figures/{{name}}.csv", caption="../report/figure.rst", category="Figures"),
        claim=f"{R}/figures/{{name}}_claim.json",  # the paper claim it tests, for the claims stage
    log:
        f"{R}/logs/analyze/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/analyze/{{name}}.tsv"
    wildcard_constraints:
        name="|".join(config["analysis"]),
    conda:
        "../envs/pipeline.yaml"
    threads: job_resources("analyze")["cpus_per_task"]  # the job's cores (resources.analyze.cpus)
    resources:
        **job_resources("analyze"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=lambda wc: tracked(f"analysis.{wc.name}", "sampling", "data.tasks"),
        models=f"{R}/models",
        data=lambda wc, input: data_root(input.data),
    shell:
        "python -m pipeline analyze --params {params.file} --name {wildcards.name} --models {params.models} "
        "--data {params.data} --out {output.png} --log {log}"
