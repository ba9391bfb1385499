# Detection: whole-image features, the one-class GMM, the binary detector, and the models folder
# that `sdaie detect` reads.


localrules:
    models_pretext,


rule models_pretext:
    input:
        f"{RESULTS}/pretext/model.pt",
    output:
        f"{RESULTS}/models/pretext.pt",
    log:
        f"{LOGS}/models_pretext.log",
    conda:
        "../envs/torch.yaml"
    shell:
        "cp {input} {output} 2> {log}"


rule features:
    input:
        images=feature_image_table,
        extractor=f"{RESULTS}/models/pretext.pt",
    output:
        f"{RESULTS}/features/{{dataset}}.parquet",
    params:
        root=lambda wc: dataset_root(wc.dataset),
        kind=lambda wc: config["datasets"][wc.dataset]["kind"],
        generator=lambda wc: config["datasets"][wc.dataset].get("generator"),
        options=config["features"],
    threads: workflow.cores
    log:
        f"{LOGS}/features/{{dataset}}.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/features.py"


rule oneclass_fit:
    input:
        [f"{RESULTS}/features/{name}.parquet" for name in tag_datasets(config)],
    output:
        model=f"{RESULTS}/models/oneclass.npz",
        report=f"{RESULTS}/oneclass/fit_report.json",
    params:
        options=config["oneclass"],
        features=config["features"],
    log:
        f"{LOGS}/oneclass_fit.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/oneclass_fit.py"


if config["binary"]["epochs"] == 0:

    # binary.init used as it is (a published binary classifier, say): no crops, no training.
    localrules:
        binary_use_init,

    rule binary_use_init:
        input:
            config["binary"]["init"],
        output:
            model=f"{RESULTS}/models/binary.pt",
            metrics=f"{RESULTS}/binary/metrics.csv",
        log:
            f"{LOGS}/binary_use_init.log",
        conda:
            "../envs/torch.yaml"
        script:
            "../workflow_scripts/use_init.py"

else:

    rule binary_crops:
        input:
            tags=f"{RESULTS}/tags/tags.parquet",
            generated=[exif_table(name) for name in config["binary"]["generated"]],
        output:
            multiext(f"{RESULTS}/binary/crops", ".npy", ".index.parquet", ".skipped.parquet", ".table.parquet"),
        params:
            roots=lambda wc: {name: dataset_root(name) for name in config["datasets"]},
            options=config["binary"],
        log:
            f"{LOGS}/binary_crops.log",
        conda:
            "../envs/torch.yaml"  # binary_data imports the detector module (PyTorch)
        script:
            "../workflow_scripts/binary_crops.py"


    rule binary_train:
        input:
            crops=multiext(f"{RESULTS}/binary/crops", ".npy", ".index.parquet"),
            teacher=f"{RESULTS}/models/pretext.pt",
            init=config["binary"]["init"] or [],
        output:
            model=f"{RESULTS}/models/binary.pt",
            metrics=f"{RESULTS}/binary/metrics.csv",
        params:
            options=config["binary"],
            run_dir=f"{RESULTS}/binary/run",
            compile_cache=compile_cache_dir(),
        threads: train_threads("binary_train", config["binary"]["gpus"])
        resources:
            **train_resources("binary_train", config["binary"]["gpus"]),
        log:
            f"{LOGS}/binary_train.log",
        conda:
            "../envs/torch.yaml"
        script:
            "../workflow_scripts/binary_train.py"
