rule claims:
    """The papers' claims, each decided by a paired interval from the evaluations of the report's tables and
    by the report's analyses (claims: make reproduce's; claims_full: every claim, for flexibility_trap)."""
    input:
        evaluations=lambda wc: sorted(
            {
                f"{R}/eval/{config['tables'][t]['protocol']}/{m}/{task}"
                for t in claim_scope(wc.report)["tables"]
                for m in config["tables"][t]["models"]
                for task in config["tables"][t]["tasks"]
            }
        ),
        analyses=lambda wc: [f"{R}/figures/{a}_claim.json" for a in claim_scope(wc.report)["analyses"]],
        code=code("claims"),
    output:
        csv=report(f"{R}/{{report}}.csv", caption="../report/claims.rst", category="Claims"),
        md=report(f"{R}/{{report}}.md", caption="../report/claims.rst", category="Claims"),
    log:
        f"{R}/logs/{{report}}.log",
    benchmark:
        f"{R}/benchmarks/{{report}}.tsv"
    wildcard_constraints:
        report="|".join(CLAIM_REPORTS),
    conda:
        "../envs/pipeline.yaml"
    resources:
        **job_resources("claims"),  # gpu, cpus_per_task, mem_mb, runtime
    params:
        file=PARAMS,
        tracked=tracked("claims", "tables", "eval.gen_lengths", "data.n_test", "profile"),
        eval_dir=f"{R}/eval",
        figures=f"{R}/figures",
        scope=lambda wc: CLAIM_REPORTS[wc.report],
    shell:
        "python -m pipeline claims --params {params.file} --eval {params.eval_dir} --figures {params.figures} "
        "--scope {params.scope} --out {output.csv} --log {log}"
