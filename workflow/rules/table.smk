rule table1:
    """d1's Table 1 at this scale, from the evaluate stage's metrics.json files only."""
    input:
        metrics=expand(
            "results/eval/{model}/{task}/L{L}/metrics.json",
            model=config["eval"]["models"],
            task=config["eval"]["tasks"],
            L=config["eval"]["gen_lengths"],
        ),
        code=code("table"),
    output:
        csv="results/table1.csv",
        md="results/table1.md",
    params:
        eval=section("eval"),
    log:
        "results/logs/table1.log",
    benchmark:
        "results/benchmarks/table1.tsv"
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.table --params params.yaml --eval results/eval --out results/table1.csv --log {log}"
