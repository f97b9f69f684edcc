rule evaluate:
    """Greedy decoding of one model on one task at every generation length, under one protocol
    (eval.protocols: d1 = length/2 steps, justgrpo = one token per step)."""
    input:
        model="results/models/{model}",
        data="results/data/{task}/test.jsonl",
        code=code("evaluate"),
    output:
        metrics=expand("results/eval/{{protocol}}/{{model}}/{{task}}/L{L}/metrics.json", L=config["eval"]["gen_lengths"]),
        generations=expand(
            "results/eval/{{protocol}}/{{model}}/{{task}}/L{L}/generations.jsonl", L=config["eval"]["gen_lengths"]
        ),
    params:
        eval=section("eval", *EVAL_DECODING),
        steps_ratio=lambda wc: config["eval"]["protocols"][wc.protocol],
    log:
        "results/logs/evaluate/{protocol}/{model}/{task}.log",
    benchmark:
        "results/benchmarks/evaluate/{protocol}/{model}/{task}.tsv"
    # One thread: evaluation jobs are independent, so running them side by side beats threading one.
    threads: 1
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipeline.evaluate --params params.yaml --protocol {wildcards.protocol} "
        "--model results/models/{wildcards.model} --task {wildcards.task} --data results/data "
        "--out results/eval/{wildcards.protocol}/{wildcards.model}/{wildcards.task} --log {log}"
