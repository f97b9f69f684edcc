rule analyze:
    """A Flexibility-Trap figure and the CSV behind it (settings: analysis.<name>)."""
    input:
        models=lambda wc: analysis_models(wc.name),
        data=lambda wc: expand("results/data/{task}/test.jsonl", task=config["analysis"][wc.name]["tasks"]),
        code=code("analyze"),
    wildcard_constraints:
        name="|".join(config["analysis"]),
    output:
        png="results/figures/{name}.png",
        csv="results/figures/{name}.csv",
    params:
        analysis=lambda wc: config["analysis"][wc.name],
    log:
        "results/logs/analyze/{name}.log",
    benchmark:
        "results/benchmarks/analyze/{name}.tsv"
    threads: config["runtime"]["threads"]
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.analyze --params params.yaml --name {wildcards.name} --models results/models "
        "--data results/data --out results/figures/{wildcards.name}.png --log {log}"
