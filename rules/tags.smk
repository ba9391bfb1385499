# Tag normalization: canonical make/model, class indices, parsed numeric tags, split column.


localrules:
    tags,


rule tags:
    input:
        raw=[exif_table(name) for name in tag_datasets(config)],
        vocabulary=config["tags"]["vocabulary"] or [],
    output:
        table=f"{RESULTS}/tags/tags.parquet",
        vocabulary=f"{RESULTS}/tags/vocabulary.json",
        summary=f"{RESULTS}/tags/summary.md",
        summary_json=f"{RESULTS}/tags/summary.json",
    params:
        min_count=config["tags"]["min_count"],
        split=config["tags"]["split"],
    log:
        f"{LOGS}/tags.log",
    conda:
        "../envs/data.yaml"
    script:
        "../workflow_scripts/tags.py"
