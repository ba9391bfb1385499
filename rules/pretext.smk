# Patch shards (photos decoded once into uint8 crops) and pretext training of the extractor.


rule patch_shard:
    input:
        tags=f"{RESULTS}/tags/tags.parquet",
    output:
        multiext(f"{RESULTS}/patches/shard_{{shard}}_of_{{n_shards}}", ".npy", ".index.parquet", ".skipped.parquet"),
    params:
        roots=lambda wc: {name: dataset_root(name) for name in tag_datasets(config)},
        options=config["patches"],
    log:
        f"{LOGS}/patches/shard_{{shard}}_of_{{n_shards}}.log",
    conda:
        "../envs/data.yaml"
    script:
        "../workflow_scripts/patch_shard.py"


if config["pretext"]["steps"] == 0:

    # pretext.init used as it is (published weights, say): no patch shards, no training.
    localrules:
        pretext_use_init,

    rule pretext_use_init:
        input:
            config["pretext"]["init"],
        output:
            model=f"{RESULTS}/pretext/model.pt",
            metrics=f"{RESULTS}/pretext/metrics.csv",
        log:
            f"{LOGS}/pretext_use_init.log",
        conda:
            "../envs/torch.yaml"
        script:
            "../workflow_scripts/use_init.py"

else:

    rule pretext_train:
        input:
            shards=patch_shard_files(),
            vocabulary=f"{RESULTS}/tags/vocabulary.json",
            init=config["pretext"]["init"] or [],
        output:
            model=f"{RESULTS}/pretext/model.pt",
            metrics=f"{RESULTS}/pretext/metrics.csv",
        params:
            pretext=config["pretext"],
            run_dir=f"{RESULTS}/pretext/run",
            compile_cache=compile_cache_dir(),
        threads: train_threads("pretext_train", config["pretext"]["gpus"])
        resources:
            **train_resources("pretext_train", config["pretext"]["gpus"]),
        log:
            f"{LOGS}/pretext_train.log",
        conda:
            "../envs/torch.yaml"
        script:
            "../workflow_scripts/pretext_train.py"
