rule table:
    """A results table (tables.<name>: rows and eval protocol), from metrics.json files only."""
    input:
        metrics=lambda wc: expand(
            "results/eval/{protocol}/{model}/{task}/L{L}/metrics.json",
            protocol=config["tables"][wc.name]["protocol"],
            model=config["tables"][wc.name]["models"],
            task=config["eval"]["tasks"],
            L=config["eval"]["gen_lengths"],
        ),
        code=code("table"),
    wildcard_constraints:
        name="|".join(config["tables"]),
    output:
        csv="results/{name}.csv",
        md="results/{name}.md",
    params:
        table=lambda wc: config["tables"][wc.name],
        eval=section("eval"),
    log:
        "results/logs/{name}.log",
    benchmark:
        "results/benchmarks/{name}.tsv"
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.table --params params.yaml --name {wildcards.name} --eval results/eval "
        "--out results/{wildcards.name}.csv --log {log}"
