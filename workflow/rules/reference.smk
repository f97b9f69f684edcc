rule reference:
    """d1's published LLaDA-8B-Instruct generations re-scored by the pipeline's scorers (d1 Table 1 row)."""
    input:
        generations=baselines_dir(),
        code=code("reference"),
    output:
        csv=f"{R}/reference/d1_llada_instruct.csv",
        md=f"{R}/reference/d1_llada_instruct.md",
    params:
        tracked=tracked("data.data_dir"),
    log:
        f"{R}/logs/reference.log",
    benchmark:
        f"{R}/benchmarks/reference.tsv"
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline reference --params {PARAMS} --out {output.csv} --log {log}"
