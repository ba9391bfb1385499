# EXIF extraction: one long-lived exiftool per shard job, shards merged into one table per dataset.
# A rerun re-extracts only shards whose files changed (their file lists, written when the DAG is built,
# changed: see shard_file_list in common.smk), and inside them only the new or changed files (rows of
# unchanged files are taken from the dataset's previous table).


localrules:
    exif_merge,


rule exif_shard:
    input:
        file_list=shard_file_list,
    output:
        f"{RESULTS}/exif/{{dataset}}/shard_{{shard}}_of_{{n_shards}}.parquet",
    params:
        root=lambda wc: dataset_root(wc.dataset),
        previous=lambda wc: exif_table(wc.dataset),
        batch_size=config["exif"]["batch_size"],
    threads: config["exif"]["threads"]
    log:
        f"{LOGS}/exif/{{dataset}}/shard_{{shard}}_of_{{n_shards}}.log",
    conda:
        "../envs/data.yaml"
    script:
        "../workflow_scripts/exif_shard.py"


rule exif_merge:
    input:
        exif_shards,
    output:
        f"{RESULTS}/exif/{{dataset}}.parquet",
    log:
        f"{LOGS}/exif/{{dataset}}.merge.log",
    conda:
        "../envs/data.yaml"
    script:
        "../workflow_scripts/exif_merge.py"
