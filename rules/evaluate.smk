# Evaluation: held-out photos against each generated set, under each perturbation, by every detector
# and the baselines; metrics, and the HTML report (also part of `snakemake --report`).

EVAL = f"{RESULTS}/evaluation"


rule evaluate_baselines:
    input:
        tags=f"{RESULTS}/tags/tags.parquet",
        extractor=f"{RESULTS}/models/pretext.pt",
    output:
        random_extractor=f"{EVAL}/baselines/random_extractor.pt",
        random_oneclass=f"{EVAL}/baselines/random_oneclass.npz",
        srm_stats=f"{EVAL}/baselines/srm_stats.npz",
    params:
        roots=lambda wc: {name: dataset_root(name) for name in tag_datasets(config)},
        oneclass=config["oneclass"],
        features=config["features"],
        seed=config["evaluate"]["baseline_seed"],
        device=config["evaluate"]["device"],
    threads: workflow.cores
    log:
        f"{LOGS}/evaluate/baselines.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/evaluate_baselines.py"


rule evaluate_scores:
    input:
        images=feature_image_table,
        pretext=f"{RESULTS}/models/pretext.pt",
        oneclass=f"{RESULTS}/models/oneclass.npz",
        binary=binary_model_if_any,
        baselines=rules.evaluate_baselines.output,
    output:
        f"{EVAL}/scores/{{dataset}}.parquet",
    params:
        root=lambda wc: dataset_root(wc.dataset),
        kind=lambda wc: config["datasets"][wc.dataset]["kind"],
        generator=lambda wc: generator_name(wc.dataset),
        binary_trained=lambda wc: wc.dataset in config["binary"]["generated"],
        binary=config["binary"],
        options=config["evaluate"],
        features=config["features"],
    threads: workflow.cores
    log:
        f"{LOGS}/evaluate/scores/{{dataset}}.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/evaluate_scores.py"


rule evaluate_metrics:
    input:
        [f"{EVAL}/scores/{name}.parquet" for name in evaluated_datasets()],
    output:
        scores=f"{EVAL}/scores.parquet",
        metrics=f"{EVAL}/metrics.parquet",
        summary=f"{EVAL}/metrics.json",
        robustness=f"{EVAL}/robustness.csv",
    log:
        f"{LOGS}/evaluate/metrics.log",
    conda:
        "../envs/data.yaml"
    script:
        "../workflow_scripts/evaluate_metrics.py"


rule evaluate_report:
    input:
        scores=f"{EVAL}/scores.parquet",
        metrics=f"{EVAL}/metrics.parquet",
        robustness=f"{EVAL}/robustness.csv",
        pretext_curves=f"{RESULTS}/pretext/metrics.csv",
        binary_curves=binary_curves_if_any,
        oneclass_fit=f"{RESULTS}/oneclass/fit_report.json",
        exif=[exif_table(name) for name in config["datasets"]],
        models=model_targets(),
        premise=premise_report_inputs,
    output:
        report=report(f"{EVAL}/report.html", category="Evaluation", labels={"figure": "HTML report"}),
        figures=report(
            multiext(f"{EVAL}/figures/", "roc.png", "robustness.png", "pretext.png", "binary.png"),
            category="Evaluation",
            caption="../report/figures.rst",
        ),
    params:
        config=config,
        trained=[generator_name(name) for name in config["binary"]["generated"]],
        datasets=list(config["datasets"]),
    log:
        f"{LOGS}/evaluate/report.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/evaluate_report.py"
