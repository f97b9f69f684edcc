rule reference:
    """d1's published LLaDA-8B-Instruct generations re-scored by the pipeline's scorers (d1 Table 1 row)."""
    input:
        generations=config["data"]["data_dir"] + "/d1_eval_baselines" if config["data"]["data_dir"] else [],
        code=code("reference"),
    output:
        csv="results/reference/d1_llada_instruct.csv",
        md="results/reference/d1_llada_instruct.md",
    params:
        data_dir=config["data"]["data_dir"],
    log:
        "results/logs/reference.log",
    benchmark:
        "results/benchmarks/reference.tsv"
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.reference --params params.yaml --out results/reference/d1_llada_instruct.csv --log {log}"
