# Helpers and input functions shared by the rule files.
from pathlib import Path

from sdaie.config import check_semantics, is_demo_dataset, schema_path, tag_datasets
from sdaie.exif.listing import list_files, shard_of


validate(config, schema=str(schema_path()))
check_semantics(config)

RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
N_SHARDS = config["exif"]["shards"]


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    shard=r"\d+",
    n_shards=r"\d+",


def dataset_root(name):
    return config["datasets"][name]["path"]


def dataset_files(name):
    """Relative paths of a dataset's files, listed when the DAG is built.

    Demo datasets are listed after the demo checkpoint has written them."""
    if is_demo_dataset(config, name):
        checkpoints.demo_data.get()
    root = Path(dataset_root(name))
    if not root.is_dir():
        raise WorkflowError(f"dataset {name!r}: folder {root} does not exist (datasets.{name}.path in the config)")
    return list(list_files(root))


def shard_relpaths(wildcards):
    n = int(wildcards.n_shards)
    k = int(wildcards.shard)
    return [p for p in dataset_files(wildcards.dataset) if shard_of(p, n) == k]


def shard_inputs(wildcards):
    root = Path(dataset_root(wildcards.dataset))
    return [str(root / p) for p in shard_relpaths(wildcards)]


def exif_shards(wildcards):
    return expand(
        f"{RESULTS}/exif/{{dataset}}/shard_{{shard}}_of_{{n}}.parquet",
        dataset=wildcards.dataset,
        shard=range(N_SHARDS),
        n=N_SHARDS,
    )


def exif_table(name):
    return f"{RESULTS}/exif/{name}.parquet"


def tag_outputs():
    return [f"{RESULTS}/tags/{name}" for name in ("tags.parquet", "vocabulary.json", "summary.md", "summary.json")]


PATCH_SHARDS = config["patches"]["shards"]


def patch_shard_stems():
    return [f"{RESULTS}/patches/shard_{k}_of_{PATCH_SHARDS}" for k in range(PATCH_SHARDS)]


def patch_shard_files():
    return [stem + suffix for stem in patch_shard_stems() for suffix in (".npy", ".index.parquet")]


def feature_image_table(wildcards):
    """Photo sets of the tag table are listed from it (it holds their split); others from their EXIF table."""
    if wildcards.dataset in tag_datasets(config):
        return f"{RESULTS}/tags/tags.parquet"
    return exif_table(wildcards.dataset)


def model_targets():
    models = [f"{RESULTS}/models/pretext.pt", f"{RESULTS}/models/oneclass.npz"]
    if config["binary"]["generated"]:
        models.append(f"{RESULTS}/models/binary.pt")
    return models


def final_targets():
    return (
        [exif_table(name) for name in config["datasets"]]
        + tag_outputs()
        + [f"{RESULTS}/features/{name}.parquet" for name in config["datasets"]]
        + model_targets()
    )
