rule evaluate:
    """Greedy decoding of one model on one task at every generation length."""
    input:
        model="results/models/{model}",
        data="results/data/{task}/test.jsonl",
        code=code("evaluate"),
    output:
        metrics=expand("results/eval/{{model}}/{{task}}/L{L}/metrics.json", L=config["eval"]["gen_lengths"]),
        generations=expand(
            "results/eval/{{model}}/{{task}}/L{L}/generations.jsonl", L=config["eval"]["gen_lengths"]
        ),
    params:
        eval=section("eval", *EVAL_DECODING),
    log:
        "results/logs/evaluate/{model}/{task}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}/{task}.tsv"
    # One thread: evaluation jobs are independent, so running them side by side beats threading one.
    threads: 1
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.evaluate --params params.yaml --model results/models/{wildcards.model} "
        "--task {wildcards.task} --data results/data --out results/eval/{wildcards.model}/{wildcards.task} "
        "--log {log}"
