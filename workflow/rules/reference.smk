rule reference:
    """d1's published LLaDA-8B-Instruct generations re-scored by the pipeline's scorers (d1 Table 1 row)."""
    input:
        generations=baselines_dir(),
        code=code("reference"),
    output:
        csv="results/reference/d1_llada_instruct.csv",
        md="results/reference/d1_llada_instruct.md",
    params:
        data=section("data", "data_dir"),
    log:
        "results/logs/reference.log",
    benchmark:
        "results/benchmarks/reference.tsv"
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.reference --params params.yaml --out results/reference/d1_llada_instruct.csv --log {log}"
