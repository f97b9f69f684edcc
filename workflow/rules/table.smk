rule table:
    """A results table (tables.<name>: rows and eval protocol), from metrics.json files only."""
    input:
        evaluations=lambda wc: expand(
            f"{R}/eval/{{protocol}}/{{model}}/{{task}}",
            protocol=config["tables"][wc.name]["protocol"],
            model=config["tables"][wc.name]["models"],
            task=config["tables"][wc.name]["tasks"],
        ),
        code=code("table"),
    output:
        csv=report(f"{R}/{{name}}.csv", caption="../report/table.rst", category="Tables", subcategory="{name}"),
        md=report(f"{R}/{{name}}.md", caption="../report/table.rst", category="Tables", subcategory="{name}"),
        stats=f"{R}/{{name}}_stats.csv",
        cells=f"{R}/{{name}}.json",
    log:
        f"{R}/logs/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/{{name}}.tsv"
    wildcard_constraints:
        name="|".join(config["tables"]),
    conda:
        "../envs/pipeline.yaml"
    resources:
        **job_resources("table"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=lambda wc: tracked(
            f"tables.{wc.name}",
            "eval.gen_lengths",
            "eval.block_length",
            "eval.sampler",
            f"eval.protocols.{config['tables'][wc.name]['protocol']}",
            "data.n_test",
            "profile",
        ),
        eval_dir=f"{R}/eval",
    shell:
        "python -m pipeline table --params {params.file} --name {wildcards.name} --eval {params.eval_dir} "
        "--out {output.csv} --log {log}"
