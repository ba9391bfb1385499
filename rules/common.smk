# Helpers and input functions shared by the rule files.
from pathlib import Path

from sdaie.config import check_semantics, evaluated_generated, is_demo_dataset, schema_path, tag_datasets
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


def train_threads(rule_name, gpus):
    """CPU cores of a training job: cpus_per_gpu per GPU; without GPU resources.<rule>.cpus, else --cores."""
    request = config["resources"][rule_name]
    if gpus > 0:
        return gpus * request["cpus_per_gpu"]
    return request["cpus"] or workflow.cores


def train_resources(rule_name, gpus):
    """What a training job asks SLURM for (config resources.<rule>); no GPU request when gpus is 0."""
    request = config["resources"][rule_name]
    resources = {"mem_mb": request["mem_mb"], "runtime": request["runtime"]}
    if gpus > 0:
        resources.update(gpu=gpus, cpus_per_gpu=request["cpus_per_gpu"])
        if request["gpu_model"]:
            resources["gpu_model"] = request["gpu_model"]
    return resources


def feature_image_table(wildcards):
    """Photo sets of the tag table are listed from it (it holds their split); others from their EXIF table."""
    if wildcards.dataset in tag_datasets(config):
        return f"{RESULTS}/tags/tags.parquet"
    return exif_table(wildcards.dataset)


def has_binary():
    """A binary detector is trained on binary.generated, or taken from binary.init."""
    return bool(config["binary"]["generated"] or config["binary"]["init"])


def model_targets():
    models = [f"{RESULTS}/models/pretext.pt", f"{RESULTS}/models/oneclass.npz"]
    if has_binary():
        models.append(f"{RESULTS}/models/binary.pt")
    return models


def binary_model_if_any(wildcards):
    return model_targets()[2:]


def binary_curves_if_any(wildcards):
    return [f"{RESULTS}/binary/metrics.csv"] if has_binary() else []


def generator_name(name):
    """A generated dataset's generator (its name when the config gives none); None for photo sets."""
    dataset = config["datasets"][name]
    return (dataset.get("generator") or name) if dataset["kind"] == "generated" else None


def evaluated_datasets():
    """The photo sets (their test split) and the generated sets the evaluation scores."""
    return tag_datasets(config) + evaluated_generated(config)


def evaluation_targets():
    return [f"{RESULTS}/evaluation/{name}" for name in ("metrics.json", "report.html")]


def premise_outputs():
    """The premise measurements' files (rules/premise.smk) when premise.enabled, else none."""
    if not config["premise"]["enabled"]:
        return {}
    names = ("predictions.parquet", "metrics.parquet", "comparisons.parquet", "learning_curve.csv", "summary.json",
             "learning_curve.png")
    return dict(zip(("predictions", "metrics", "comparisons", "curve", "summary", "figure"),
                    (f"{RESULTS}/premise/{name}" for name in names)))


PREMISE = f"{RESULTS}/premise"


def premise_model(name):
    """The model file of a premise extractor (rules/premise.smk): none for the SRM statistics."""
    from sdaie.premise.plan import RANDOM, SRM_STATS, fraction_label

    if name == RANDOM:
        return [f"{RESULTS}/evaluation/baselines/random_extractor.pt"]
    if name == SRM_STATS:
        return []
    label = name[len("pretext_") :]
    if label == fraction_label(1.0):
        return [f"{RESULTS}/models/pretext.pt"]
    return [f"{PREMISE}/pretext_{label}/model.pt"]


def premise_feature_tables(name):
    """Feature tables of the photo datasets by one premise extractor; the main pretext model's are the pipeline's own."""
    from sdaie.premise.plan import pretext_name

    if name == pretext_name(1.0):
        return [f"{RESULTS}/features/{dataset}.parquet" for dataset in tag_datasets(config)]
    return [f"{PREMISE}/features/{name}/{dataset}.parquet" for dataset in tag_datasets(config)]


def premise_report_inputs(wildcards):
    outputs = premise_outputs()
    return [outputs[name] for name in ("summary", "metrics", "comparisons", "curve", "figure")] if outputs else []


def final_targets():
    return (
        [exif_table(name) for name in config["datasets"]]
        + tag_outputs()
        + [f"{RESULTS}/features/{name}.parquet" for name in config["datasets"]]
        + model_targets()
        + evaluation_targets()
        + list(premise_outputs().values())
    )
