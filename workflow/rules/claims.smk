rule claims:
    """The papers' claims, each decided by a paired interval from the evaluations of claims.tables."""
    input:
        evaluations=lambda wc: sorted(
            {
                f"{R}/eval/{config['tables'][t]['protocol']}/{m}/{task}"
                for t in config["claims"]["tables"]
                for m in config["tables"][t]["models"]
                for task in config["tables"][t]["tasks"]
            }
        ),
        code=code("claims"),
    output:
        csv=report(f"{R}/claims.csv", caption="../report/claims.rst", category="Claims"),
        md=report(f"{R}/claims.md", caption="../report/claims.rst", category="Claims"),
    log:
        f"{R}/logs/claims.log",
    benchmark:
        f"{R}/benchmarks/claims.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        **job_resources("claims"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=tracked("claims", "tables", "eval.gen_lengths", "data.n_test", "profile"),
        eval_dir=f"{R}/eval",
    shell:
        "python -m pipeline claims --params {params.file} --eval {params.eval_dir} --out {output.csv} --log {log}"
