rule reference:
    """d1's published LLaDA-8B-Instruct generations re-scored by the pipeline's scorers (d1 Table 1 row)."""
    input:
        generations=baselines_dir(),
        code=code("reference"),
    output:
        csv=f"{R}/reference/d1_llada_instruct.csv",
        md=f"{R}/reference/d1_llada_instruct.md",
    log:
        f"{R}/logs/reference.log",
    benchmark:
        f"{R}/benchmarks/reference.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        **job_resources("reference"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=tracked("data.data_dir"),
    shell:
        "python -m pipeline reference --params {params.file} --out {output.csv} --log {log}"
