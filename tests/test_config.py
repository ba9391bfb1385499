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
    assert config["demo"]["standin_finish"] == "none"


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
        (minimal(demo={"standin_finish": "jpeg"}), "is not one of"),
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


def photo_sets(**paths: str) -> dict:
    return {"datasets": {name: {"path": path, "kind": "photo"} for name, path in paths.items()}}


@pytest.mark.parametrize(
    "paths, message",
    [
        ({"a": "photos", "b": "photos"}, "datasets 'a' and 'b' are the same folder"),
        ({"a": "photos", "b": "./photos/"}, "datasets 'a' and 'b' are the same folder"),
        ({"a": "photos/../photos", "b": "photos"}, "datasets 'a' and 'b' are the same folder"),
        ({"a": "photos", "b": "photos/2024"}, "dataset 'b' .* lies inside dataset 'a'"),
        ({"a": "photos/2024/june", "b": "photos"}, "dataset 'a' .* lies inside dataset 'b'"),
    ],
)
def test_overlapping_datasets_are_an_error_naming_both(tmp_path, monkeypatch, paths, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message) as caught:
        validate_config(photo_sets(**paths))
    assert str(tmp_path / "photos") in str(caught.value)


def test_a_symbolic_link_to_another_datasets_folder_overlaps(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "photos")
    with pytest.raises(ConfigError, match="datasets 'a' and 'b' are the same folder"):
        validate_config(photo_sets(a=str(tmp_path / "photos"), b=str(tmp_path / "link")))


def test_sibling_folders_with_a_common_prefix_do_not_overlap(tmp_path):
    config = validate_config(photo_sets(a=str(tmp_path / "photos"), b=str(tmp_path / "photos2"), c=str(tmp_path / "x/photos")))
    assert set(config["datasets"]) == {"a", "b", "c"}


def test_snakemake_stops_before_any_job_on_overlapping_datasets(tmp_path):
    """A real dry run of the pipeline: the error names both datasets and no job is planned."""
    import os
    import subprocess
    import sys

    (tmp_path / "photos" / "2024").mkdir(parents=True)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(photo_sets(everything="photos", this_year="photos/2024")))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "-n", "--cores", "1"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(REPO / "src"), os.environ.get("PYTHONPATH", "")])},
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "dataset 'this_year'" in output and "lies inside dataset 'everything'" in output
    assert "Job stats" not in output and not (tmp_path / "results").exists()


def merged_over_config_yaml(overlay: Path) -> dict:
    """config.yaml with an overlay merged in, as `snakemake --configfile config.yaml OVERLAY` merges them."""
    from snakemake.utils import update_config

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, yaml.safe_load(overlay.read_text()))
    return validate_config(config)


def test_photo_like_demo_overlay_is_a_complete_demo_in_its_own_folder(tmp_path):
    """`snakemake --configfile config.yaml configs/demo_photo_like.yaml`: a real dry run plans the whole
    demo, every dataset lies below the overlay's own results folder, built by the demo rule, and the
    training sizes stay config.yaml's (a --configfile replaces config.yaml, so both are named)."""
    import os
    import shutil
    import subprocess
    import sys

    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    overlay = REPO / "configs" / "demo_photo_like.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(tmp_path / "config.yaml"), str(overlay), "-n", "--cores", "1"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(REPO / "src"), os.environ.get("PYTHONPATH", "")])},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "demo_data" in output and "pretext_train" in output
    config = merged_over_config_yaml(overlay)
    demo = load_config(REPO / "config.yaml")
    assert config["demo"]["standin_finish"] == "photo_like"
    assert config["pretext"] == demo["pretext"] and config["features"] == demo["features"]
    assert all(is_demo_dataset(config, name) for name in config["datasets"]) and len(config["datasets"]) == 3
    assert all(d["path"].startswith(config["results"] + "/") for d in config["datasets"].values())
    assert f"--configfile config.yaml configs/{overlay.name}" in overlay.read_text()


def test_sweeps_overlay_changes_only_the_demo_perturbations():
    overlay = REPO / "configs" / "demo_sweeps.yaml"
    config = merged_over_config_yaml(overlay)
    demo = load_config(REPO / "config.yaml")
    schema_default = validate_config({"datasets": demo["datasets"]})["evaluate"]["perturbations"]
    assert config["evaluate"]["perturbations"] == schema_default
    assert {k: v for k, v in config.items() if k != "evaluate"} == {k: v for k, v in demo.items() if k != "evaluate"}
    assert set(demo["evaluate"]["perturbations"]) < set(schema_default)
    assert f"--configfile config.yaml configs/{overlay.name}" in overlay.read_text()
