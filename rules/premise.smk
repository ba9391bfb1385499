# Premise measurements (config section `premise`): does the extractor learn camera traces from real
# photographs? The pretext network trained on shares of the training photos, features of the training
# and validation photos by each extractor, probes, bootstrap intervals and the learning curve.
# See sdaie.premise; the report shows the results (evaluation/report.html).

if config["premise"]["enabled"]:

    from sdaie.premise.plan import RANDOM, SRM_STATS, check_fractions, fraction_label, pretext_name

    PREMISE_FRACTIONS = check_fractions(config["premise"]["fractions"])
    PREMISE_TRAINED = {fraction_label(f): f for f in PREMISE_FRACTIONS if f < 1}  # fraction 1 is the main pretext model
    PREMISE_SPLITS = ["pretext_train", "pretext_val"]
    if config["pretext"]["steps"] == 0:
        raise WorkflowError("premise.enabled measures what pretext training learned, but pretext.steps is 0 (no training)")
    if not set(PREMISE_SPLITS) <= set(config["patches"]["splits"]):
        raise WorkflowError("premise.enabled needs patch shards of pretext_train and pretext_val (patches.splits)")

    PREMISE_EXTRACTORS = [pretext_name(f) for f in PREMISE_FRACTIONS] + [RANDOM, SRM_STATS]
    PREMISE_COMPUTED = [name for name in PREMISE_EXTRACTORS if name != pretext_name(1.0)]

    if PREMISE_TRAINED:

        rule premise_pretext_train:
            input:
                shards=patch_shard_files(),
                vocabulary=f"{RESULTS}/tags/vocabulary.json",
                init=config["pretext"]["init"] or [],
            output:
                model=f"{PREMISE}/pretext_{{label}}/model.pt",
                metrics=f"{PREMISE}/pretext_{{label}}/metrics.csv",
            wildcard_constraints:
                label="|".join(PREMISE_TRAINED),
            params:
                pretext=lambda wc: {**config["pretext"], "train_fraction": PREMISE_TRAINED[wc.label]},
                run_dir=lambda wc: f"{PREMISE}/pretext_{wc.label}/run",
                compile_cache=compile_cache_dir(),
            threads: train_threads("pretext_train", config["pretext"]["gpus"])
            resources:
                **train_resources("pretext_train", config["pretext"]["gpus"]),
            log:
                f"{LOGS}/premise/pretext_{{label}}.log",
            conda:
                "../envs/torch.yaml"
            script:
                "../workflow_scripts/pretext_train.py"

    rule premise_features:
        input:
            images=f"{RESULTS}/tags/tags.parquet",
            extractor=lambda wc: premise_model(wc.extractor),
        output:
            f"{PREMISE}/features/{{extractor}}/{{dataset}}.parquet",
        wildcard_constraints:
            extractor="|".join(PREMISE_COMPUTED),
        params:
            root=lambda wc: dataset_root(wc.dataset),
            splits=PREMISE_SPLITS,
            options=config["features"],
        threads: workflow.cores
        log:
            f"{LOGS}/premise/features/{{extractor}}/{{dataset}}.log",
        conda:
            "../envs/torch.yaml"
        script:
            "../workflow_scripts/premise_features.py"

    rule premise_measure:
        input:
            tags=f"{RESULTS}/tags/tags.parquet",
            vocabulary=f"{RESULTS}/tags/vocabulary.json",
            index=[f"{stem}.index.parquet" for stem in patch_shard_stems()],
            features=[path for name in PREMISE_EXTRACTORS for path in premise_feature_tables(name)],
            heads=[premise_model(pretext_name(f))[0] for f in PREMISE_FRACTIONS],
        output:
            **premise_outputs(),
        params:
            settings=config["premise"],
            subset_seed=config["pretext"]["seed"],
            features={name: premise_feature_tables(name) for name in PREMISE_EXTRACTORS},
            heads={f: premise_model(pretext_name(f))[0] for f in PREMISE_FRACTIONS},
        threads: workflow.cores
        log:
            f"{LOGS}/premise/measure.log",
        conda:
            "../envs/torch.yaml"
        script:
            "../workflow_scripts/premise_measure.py"
