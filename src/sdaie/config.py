"""Pipeline configuration: JSON-schema validation, defaults, and the checks a schema cannot express.

The Snakefile and the command line share this module, so a config that one accepts the other accepts.
"""

from __future__ import annotations

import copy
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPLITS = ("pretext_train", "pretext_val", "oneclass_fit", "test")


class ConfigError(ValueError):
    """The configuration is invalid; the message says where and why."""


def schema_path() -> Path:
    """Path of the JSON schema (YAML) that describes config.yaml."""
    return Path(str(resources.files("sdaie") / "schemas" / "config.schema.yaml"))


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(schema_path().read_text())


def _validator_filling_defaults(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator that writes each property's `default` into the instance."""
    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    extended = jsonschema.validators.extend(base, {"properties": set_defaults})
    return extended(schema)


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return a validated copy of ``config`` with defaults filled in, or raise ConfigError."""
    config = copy.deepcopy(config)
    validator = _validator_filling_defaults(load_schema())
    # Defaults of nested objects are filled as the validator descends, so run until stable.
    for _ in range(4):
        before = copy.deepcopy(config)
        errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"  {'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors]
            raise ConfigError("invalid configuration:\n" + "\n".join(lines))
        if config == before:
            break
    check_semantics(config)
    return config


def check_semantics(config: dict[str, Any]) -> None:
    """Cross-field checks: no two datasets on overlapping folders, split fractions, dataset references."""
    datasets = config["datasets"]
    check_datasets_do_not_overlap(datasets)
    fractions = config["tags"]["split"]["fractions"]
    total = sum(fractions.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(f"tags.split.fractions must sum to 1, they sum to {total:g}: {fractions}")
    for name in config["tags"].get("datasets", []):
        if name not in datasets:
            raise ConfigError(f"tags.datasets names {name!r}, which is not in datasets ({', '.join(datasets)})")
        if datasets[name]["kind"] != "photo":
            raise ConfigError(f"tags.datasets names {name!r}, a {datasets[name]['kind']!r} dataset; only photo datasets have camera tags")
    patches, pretext = config.get("patches"), config.get("pretext")
    if patches and pretext and pretext.get("steps") != 0 and (patches["crop"] // 64) ** 2 < pretext["n_patches"]:
        raise ConfigError(
            f"pretext.n_patches = {pretext['n_patches']} needs crops of at least {pretext['n_patches']} tiles of 64 px; "
            f"patches.crop = {patches['crop']} holds {(patches['crop'] // 64) ** 2}"
        )
    if pretext and pretext.get("steps") == 0 and not pretext.get("init"):
        raise ConfigError("pretext.steps is 0 (use the weights as they are) but pretext.init names no weights")
    binary = config.get("binary") or {}
    if binary.get("epochs") == 0:
        if not binary.get("init"):
            raise ConfigError("binary.epochs is 0 (use the detector as it is) but binary.init names no detector")
        if binary.get("generated"):
            raise ConfigError("binary.epochs is 0 (use binary.init as it is), so nothing trains on binary.generated: leave it empty")
    if binary.get("init") and binary.get("init_from_pretext"):
        raise ConfigError("binary.init and binary.init_from_pretext both say where the student starts: set one")
    for name in binary.get("generated", []):
        if name not in datasets or datasets[name]["kind"] != "generated":
            raise ConfigError(f"binary.generated names {name!r}, which is not a generated dataset in datasets")
    if binary.get("generated_split") and not math.isclose(sum(binary["generated_split"].values()), 1.0, abs_tol=1e-6):
        raise ConfigError(f"binary.generated_split must sum to 1: {binary['generated_split']}")
    evaluate = config.get("evaluate") or {}
    for name in evaluate.get("generated") or []:
        if name not in datasets or datasets[name]["kind"] != "generated":
            raise ConfigError(f"evaluate.generated names {name!r}, which is not a generated dataset in datasets")
    for spec in evaluate.get("perturbations", []):
        from sdaie.evaluate.perturb import parse_perturbation

        try:
            parse_perturbation(spec)
        except ValueError as exc:
            raise ConfigError(f"evaluate.perturbations: {exc}") from None
    if not tag_datasets(config):
        raise ConfigError("no photo dataset is configured: the tag table needs at least one dataset of kind 'photo'")


def _resolved(path: str) -> Path:
    """The absolute folder with symbolic links and ``..`` resolved (relative: to the working directory)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare the plain absolute path
        return Path(os.path.abspath(path))


def check_datasets_do_not_overlap(datasets: dict[str, Any]) -> None:
    """Raise ConfigError naming both datasets when two of them share files.

    Two datasets overlap when their folders, resolved (``./x/`` and ``x``, a symbolic link and its
    target), are the same or one lies inside the other: every file there would get two rows and
    count twice in the tag table, the training and the evaluation.
    """
    folders = [(name, _resolved(spec["path"])) for name, spec in datasets.items()]
    for i, (first, first_path) in enumerate(folders):
        for second, second_path in folders[i + 1 :]:
            if first_path == second_path:
                raise ConfigError(
                    f"datasets {first!r} and {second!r} are the same folder ({first_path}): every file would "
                    "count twice; give each folder to one dataset"
                )
            for (outer, outer_path), (inner, inner_path) in (((first, first_path), (second, second_path)),
                                                              ((second, second_path), (first, first_path))):
                if outer_path in inner_path.parents:
                    raise ConfigError(
                        f"dataset {inner!r} ({inner_path}) lies inside dataset {outer!r} ({outer_path}): its files "
                        f"would count twice; give each folder to one dataset"
                    )


def tag_datasets(config: dict[str, Any]) -> list[str]:
    """Names of the photo datasets that make up the tag table."""
    names = config["tags"].get("datasets")
    if names:
        return list(names)
    return [name for name, ds in config["datasets"].items() if ds["kind"] == "photo"]


def evaluated_generated(config: dict[str, Any]) -> list[str]:
    """Names of the generated datasets the evaluation scores."""
    names = (config.get("evaluate") or {}).get("generated")
    if names is not None:
        return list(names)
    return [name for name, ds in config["datasets"].items() if ds["kind"] == "generated"]


def is_demo_dataset(config: dict[str, Any], name: str) -> bool:
    """True when the dataset's files are written by the demo rule (its path lies below demo.output)."""
    demo_root = Path(config["demo"]["output"]).resolve()
    path = Path(config["datasets"][name]["path"]).resolve()
    return path == demo_root or demo_root in path.parents


def load_config(path: Path) -> dict[str, Any]:
    """Read a YAML config file and validate it."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping")
    return validate_config(raw)
