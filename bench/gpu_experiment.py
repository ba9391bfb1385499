"""The real-data experiment's GPU stages, without Snakemake, on a machine that has only torch & co.

Runs, from a bundle made by ``bench/gpu_bundle.py`` (its EXIF and tag tables already built), the
stages that follow the tag table, in the order and with the library calls of the workflow scripts:
patch shards, pretext training, whole-image features, the one-class GMM, the binary detector's crops
and training, the baselines and the evaluation scores. It imports neither polars nor snakemake nor
jsonschema (the bundle's ``config.json`` is already validated). ``bench/gpu_report.py`` then computes
the metrics and the report here from what comes back.

    python bench/gpu_experiment.py --bundle .gpu_bundle --out OUT [--pretext-steps N]

Writes into OUT: experiment.json (stage timings and counts, rewritten after every stage),
scores.parquet, pretext_metrics.csv, binary_metrics.csv, fit_report.json, models.tar and binary.pt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tarfile
import time
from dataclasses import fields
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from sdaie.detect.binary_data import binary_table, training_rows
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.detect.tables import fit_report, read_features, readable_images, write_feature_table
from sdaie.evaluate.baselines import fit_baselines, oneclass_fit_images, random_extractor, save_random_extractor
from sdaie.evaluate.evaluation import ModelPaths, evaluation_images, load_scorers, subset
from sdaie.evaluate.perturb import parse_perturbation
from sdaie.evaluate.scoring import score_images
from sdaie.patches.cut import cut_photos, cut_shard, decode_rgb
from sdaie.model.checkpoint import load_extractor
from sdaie.train.binary import BinaryConfig, train_binary
from sdaie.train.common import pick_device
from sdaie.train.launch import launch


class Experiment:
    def __init__(self, config: dict, out: Path):
        self.config, self.out = config, out
        self.results = Path(config["results"])
        self.roots = {name: Path(d["path"]) for name, d in config["datasets"].items()}
        self.photo_sets = config["tags"]["datasets"] or [n for n, d in config["datasets"].items() if d["kind"] == "photo"]
        self.generated_sets = [n for n, d in config["datasets"].items() if d["kind"] == "generated"]
        self.tags = self.results / "tags" / "tags.parquet"
        self.models = self.results / "models"
        self.models.mkdir(parents=True, exist_ok=True)
        self.record: dict = {"stages": {}, "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}

    def stage(self, name: str, seconds: float, **facts) -> None:
        self.record["stages"][name] = {"seconds": round(seconds, 1), **facts}
        (self.out / "experiment.json").write_text(json.dumps(self.record, indent=2, default=str))
        print(f"[{name}] {seconds:.1f} s {facts}", flush=True)

    def generator(self, name: str) -> str | None:
        d = self.config["datasets"][name]
        return (d.get("generator") or name) if d["kind"] == "generated" else None

    def image_table(self, name: str) -> pa.Table:
        """What the features and scores rules read: the tag table for photo sets, else the EXIF table."""
        return pq.read_table(self.tags if name in self.photo_sets else self.results / "exif" / f"{name}.parquet")

    def patches(self) -> list[Path]:
        start, options = time.perf_counter(), self.config["patches"]
        n, stems, crops = options["shards"], [], 0
        for shard in range(n):
            stem = self.results / "patches" / f"shard_{shard}_of_{n}"
            stem.parent.mkdir(parents=True, exist_ok=True)
            stats = cut_shard(self.tags, {k: self.roots[k] for k in self.photo_sets}, shard, n, stem, splits=options["splits"],
                              crop=options["crop"], crops_per_photo=options["crops_per_photo"], align=options["align"],
                              seed=options["seed"])
            stems.append(stem)
            crops += getattr(stats, "crops", 0)
        self.stage("patch shards", time.perf_counter() - start, shards=n, crops=crops)
        return stems

    def pretext(self, stems: list[Path], steps: int | None) -> None:
        start, pretext = time.perf_counter(), dict(self.config["pretext"])
        if steps:
            pretext["steps"] = steps
        pretext["progress"] = False
        model = self.results / "pretext" / "model.pt"
        spec = {"stems": [str(s) for s in stems], "run_dir": str(self.results / "pretext" / "run"), "config": pretext,
                "vocabulary": str(self.results / "tags" / "vocabulary.json"), "model": str(model),
                "metrics": str(self.results / "pretext" / "metrics.csv")}
        launch(spec, pretext.get("gpus", 0))
        shutil.copyfile(model, self.models / "pretext.pt")
        shutil.copyfile(self.results / "pretext" / "metrics.csv", self.out / "pretext_metrics.csv")
        self.stage("pretext training", time.perf_counter() - start, steps=pretext["steps"],
                   batch_size=pretext["batch_size"], n_patches=pretext["n_patches"])

    def features(self) -> None:
        start, counts = time.perf_counter(), {}
        (self.results / "features").mkdir(parents=True, exist_ok=True)
        for name in self.config["datasets"]:
            counts[name] = write_feature_table(
                readable_images(self.image_table(name), name), self.roots[name], self.models / "pretext.pt", self.results / "features" / f"{name}.parquet",
                kind=self.config["datasets"][name]["kind"], generator=self.generator(name),
                device=self.config["features"]["device"], max_patches=self.config["features"]["max_patches"])
        self.stage("features", time.perf_counter() - start, images=counts)

    def oneclass(self) -> None:
        start = time.perf_counter()
        paths = [self.results / "features" / f"{name}.parquet" for name in self.photo_sets]
        features, rows, extractor_id = read_features(paths, splits=["oneclass_fit"])
        held_out, _, _ = read_features(paths, splits=["test"])
        detector = OneClassDetector.fit(features, GMMSettings(**self.config["oneclass"]), extractor_id=extractor_id,
                                        max_patches=self.config["features"]["max_patches"])
        detector.save(self.models / "oneclass.npz")
        report = fit_report(detector, rows, held_out)
        (self.out / "fit_report.json").write_text(json.dumps(report, indent=2))
        self.stage("one-class fit", time.perf_counter() - start, **report)

    def binary(self) -> None:
        start, options = time.perf_counter(), self.config["binary"]
        generated = [self.results / "exif" / f"{name}.parquet" for name in options["generated"]]
        table = binary_table(self.tags, generated, options["generated_split"], options["seed"])
        stem = self.results / "binary" / "crops"
        stem.parent.mkdir(parents=True, exist_ok=True)
        train_val = training_rows(table)
        cut_photos(train_val, self.roots, stem, crop=options["crop"], crops_per_photo=options["crops_per_image"],
                   seed=options["seed"])
        names = {f.name for f in fields(BinaryConfig)}
        config = BinaryConfig(**{k: v for k, v in options.items() if k in names}, progress=False)
        run_dir = self.results / "binary" / "run"
        metrics = train_binary([stem], run_dir, config, self.models / "pretext.pt")
        shutil.copyfile(run_dir / "model.pt", self.models / "binary.pt")
        shutil.copyfile(run_dir / "metrics.csv", self.out / "binary_metrics.csv")
        self.stage("binary detector", time.perf_counter() - start, train_images=train_val.num_rows,
                   final=metrics)

    def baselines(self) -> list[Path]:
        start, evaluate = time.perf_counter(), self.config["evaluate"]
        folder = self.results / "evaluation" / "baselines"
        folder.mkdir(parents=True, exist_ok=True)
        _, model_config, _ = load_extractor(self.models / "pretext.pt")
        extractor = random_extractor(model_config, evaluate["baseline_seed"])
        paths = [folder / "random_extractor.pt", folder / "random_oneclass.npz", folder / "srm_stats.npz"]
        save_random_extractor(extractor, model_config, paths[0], evaluate["baseline_seed"])
        images = oneclass_fit_images(self.tags, self.roots)
        fitted = fit_baselines(images, extractor, GMMSettings(**self.config["oneclass"]),
                               max_patches=self.config["features"]["max_patches"], device=pick_device(evaluate["device"]),
                               decode=decode_rgb)
        fitted["random_oneclass"].save(paths[1])
        fitted["srm_stats"].save(paths[2])
        self.stage("baselines", time.perf_counter() - start, fit_images=len(images))
        return paths

    def scores(self, baselines: list[Path]) -> None:
        start, evaluate, binary = time.perf_counter(), self.config["evaluate"], self.config["binary"]
        scorers = load_scorers(
            ModelPaths(self.models / "pretext.pt", self.models / "oneclass.npz",
                       self.models / "binary.pt" if binary["generated"] else None, *baselines),
            pick_device(evaluate["device"]))
        perturbations = [parse_perturbation(spec) for spec in evaluate["perturbations"]]
        chosen = evaluate["generated"] if evaluate["generated"] is not None else self.generated_sets
        tables, counts = [], {}
        for name in [*self.photo_sets, *chosen]:
            kind = self.config["datasets"][name]["kind"]
            images = evaluation_images(self.image_table(name), name, kind, self.generator(name),
                                       binary_trained=name in binary["generated"],
                                       generated_fractions=binary["generated_split"], seed=binary["seed"])
            images = subset(images, evaluate["max_images"])
            counts[name] = len(images)
            tables.append(score_images(images, self.roots[name], perturbations, scorers,
                                       max_patches=self.config["features"]["max_patches"]))
            pq.write_table(pa.concat_tables(tables), self.out / "scores.parquet", compression="zstd")
        self.stage("evaluation scores", time.perf_counter() - start, images=counts, perturbations=len(perturbations))

    def pack_models(self, baselines: list[Path]) -> None:
        """The extractor and the mixtures in models.tar, the binary detector beside it (16 MiB per file
        come back); the random extractor is not packed: its seed rebuilds it."""
        with tarfile.open(self.out / "models.tar", "w") as tar:
            for path in [self.models / "pretext.pt", self.models / "oneclass.npz", *baselines[1:]]:
                tar.add(path, arcname=path.name)
        if (self.models / "binary.pt").exists():
            shutil.copyfile(self.models / "binary.pt", self.out / "binary.pt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pretext-steps", type=int, default=None, help="override pretext.steps (recorded)")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(args.bundle)  # the bundle's config holds paths relative to it
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    experiment = Experiment(json.loads(Path("config.json").read_text()), out)
    stems = experiment.patches()
    experiment.pretext(stems, args.pretext_steps)
    experiment.features()
    experiment.oneclass()
    if experiment.config["binary"]["generated"]:
        experiment.binary()
    baselines = experiment.baselines()
    experiment.pack_models(baselines)
    experiment.scores(baselines)


if __name__ == "__main__":
    main()
