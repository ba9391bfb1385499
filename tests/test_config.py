"""Config validation: the JSON schema, defaults, and the cross-field checks."""

from pathlib import Path

import pytest
import yaml

from sdaie.config import ConfigError, is_demo_dataset, load_config, tag_datasets, validate_config

REPO = Path(__file__).resolve().parents[1]


def minimal(**extra):
    return {"datasets": {"cams": {"path": "photos", "kind": "photo"}}, **extra}


def test_default_config_is_valid_and_complete():
    config = load_config(REPO / "config.yaml")
    assert set(config["datasets"]) == {"demo_photos", "demo_standin_upconv", "demo_standin_denoiser"}
    assert tag_datasets(config) == ["demo_photos"]
    assert all(is_demo_dataset(config, name) for name in config["datasets"])
    assert config["exif"]["shards"] >= 1


def test_defaults_are_filled_in_nested_sections():
    config = validate_config(minimal())
    assert config["results"] == "results"
    assert config["exif"] == {"shards": 4, "batch_size": 64, "threads": 1}
    assert config["tags"]["split"]["fractions"] == {
        "pretext_train": 0.6,
        "pretext_val": 0.1,
        "oneclass_fit": 0.15,
        "test": 0.15,
    }
    assert tag_datasets(config) == ["cams"]
    assert not is_demo_dataset(config, "cams")


@pytest.mark.parametrize(
    "config, message",
    [
        ({"datasets": {}}, "datasets"),
        ({"datasets": {"g": {"path": "x", "kind": "generated"}}}, "'generator' is a required property"),
        ({"datasets": {"g": {"path": "x", "kind": "fake"}}}, "is not one of"),
        (minimal(exif={"shards": 0}), "less than the minimum"),
        (minimal(exif={"shard": 2}), "'shard' was unexpected"),
        (minimal(tags={"split": {"fractions": {"pretext_train": 0.5, "pretext_val": 0.1, "oneclass_fit": 0.1, "test": 0.1}}}), "sum to 1"),
        (minimal(tags={"datasets": ["nope"]}), "not in datasets"),
        ({"datasets": {"g": {"path": "x", "kind": "generated", "generator": "sd"}}}, "no photo dataset"),
        ({"datasets": {"p": {"path": "x", "kind": "photo"}, "g": {"path": "y", "kind": "generated", "generator": "sd"}}, "tags": {"datasets": ["g"]}}, "only photo datasets"),
        ({"datasets": {"bad name": {"path": "x", "kind": "photo"}}}, "does not match"),
        (minimal(oneclass={"reg_covar": "shrink"}), "oneclass/reg_covar: 'shrink' is not valid"),
    ],
)
def test_invalid_configs_give_clear_errors(config, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


def test_load_config_rejects_non_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(["a", "b"]))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)
    path.write_text("datasets: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
