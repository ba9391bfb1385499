# Helpers and input functions shared by the rule files.
from pathlib import Path

from sdaie.config import check_semantics, evaluated_generated, is_demo_dataset, schema_path, tag_datasets
from sdaie.exif.listing import list_files, partition_by_shard, write_file_list


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


# Listings of datasets that exist before the run are made once per Snakemake process (each walks the
# whole folder: 100,000 files, about 1 s; bench/data_half_scale.py).
_LISTINGS = {}
_FILE_LISTS_WRITTEN = set()


def dataset_files(name):
    """Relative paths of a dataset's files, listed when the DAG is built.

    Demo datasets are listed after the demo checkpoint has written them, every time (the checkpoint may
    rewrite them during the run; they are small); other datasets once per Snakemake process."""
    if is_demo_dataset(config, name):
        checkpoints.demo_data.get()
        return _list_dataset(name)
    if name not in _LISTINGS:
        _LISTINGS[name] = _list_dataset(name)
    return _LISTINGS[name]


def _list_dataset(name):
    root = Path(dataset_root(name))
    if not root.is_dir():
        raise WorkflowError(f"dataset {name!r}: folder {root} does not exist (datasets.{name}.path in the config)")
    return list(list_files(root))


def shard_file_list(wildcards):
    """The input of an exif_shard job: its shard's file list (paths, sizes, modification times).

    The main Snakemake process lists the dataset when it builds the DAG, splits it into the shards and
    writes each shard's list (results/exif_lists/<dataset>/), only where the list changed (a file added,
    removed, or rewritten): Snakemake reruns exactly those shards. The photos themselves are not
    Snakemake inputs: with 100,000 of them, Snakemake's scheduler stat-ed every photo of every
    waiting shard job each time it picked jobs, and its DAG build spent 0.1 ms on each
    (bench/data_half_scale.py). A job on a cluster node (--mode remote) only reads its list."""
    name, n = wildcards.dataset, int(wildcards.n_shards)
    if not (workflow.remote_exec or workflow.subprocess_exec):
        demo = is_demo_dataset(config, name)
        if demo or (name, n) not in _FILE_LISTS_WRITTEN:
            files = dataset_files(name)
            for k, relpaths in enumerate(partition_by_shard(files, n)):
                write_file_list(file_list_path(name, k, n), dataset_root(name), relpaths)
            if not demo:
                _FILE_LISTS_WRITTEN.add((name, n))
    return file_list_path(name, int(wildcards.shard), n)


def file_list_path(name, shard, n_shards):
    # Not under results/exif/<dataset>/: that folder is a DVC out, and lists written there by any
    # Snakemake call (even -n) would be "unsaved changes" to dvc pull and dvc status. In a folder of
    # their own, too: Snakemake caches the entries of every folder it has looked into, and a list
    # written after that, as happens for the demo dataset once its checkpoint is done, would look missing.
    return f"{RESULTS}/exif_lists/{name}/shard_{shard}_of_{n_shards}.files"


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


def compile_cache_dir():
    """Where torch.compile keeps its kernels across jobs (config compile_cache, default under results/)."""
    return config["compile_cache"] or f"{RESULTS}/compile_cache"


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


onstart:
    # SIGTERM / SIGINT to Snakemake end the running jobs within seconds (sdaie.workflow_signals).
    from sdaie.workflow_signals import stop_jobs_on_signals

    stop_jobs_on_signals()
