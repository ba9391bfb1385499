"""The conda environments in envs/ against pyproject.toml and the rules that use them.

Conda channels are not reachable from the test machines, so the environments are checked statically:
every rule names an existing env file; each env is conda-forge only, with exact pins; and every
third-party package a rule's code imports (its script, followed through the sdaie modules it
imports) is pinned in that rule's env, at a version that satisfies pyproject.toml's lower bound."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

# Import name -> distribution name in pyproject.toml.
IMPORT_TO_DIST = {"PIL": "pillow", "pillow_heif": "pillow-heif", "exiftool": "pyexiftool", "sklearn": "scikit-learn", "yaml": "pyyaml"}
# Distribution name in pyproject.toml -> package name on conda-forge (where they differ).
DIST_TO_CONDA = {"torch": "pytorch", "matplotlib": "matplotlib-base"}
# Distributions installed from PyPI inside the env (pip section): not packaged on conda-forge.
PIP_ONLY = {"pyexiftool"}
# Non-Python programs a distribution drives, which the env must provide as conda packages.
PROGRAMS = {"pyexiftool": ["exiftool"]}


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def lower_bounds() -> dict[str, Version | None]:
    """pyproject's runtime dependencies: name -> the lower bound (>= or ==), None without one."""
    bounds = {}
    for line in pyproject()["project"]["dependencies"]:
        requirement = Requirement(line)
        floors = [Version(spec.version) for spec in requirement.specifier if spec.operator in (">=", "==", "~=")]
        bounds[requirement.name.lower()] = max(floors) if floors else None
    return bounds


def env_files() -> list[Path]:
    return sorted((REPO / "envs").glob("*.yaml"))


def env_pins(path: Path) -> dict[str, str]:
    """Package -> pinned version of a conda env file; pip packages under their PyPI name."""
    spec = yaml.safe_load(path.read_text())
    pins = {}
    for entry in spec["dependencies"]:
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s=]+)", line.strip())
                assert match, f"{path.name}: pip package not pinned with ==: {line!r}"
                pins[match.group(1).lower()] = match.group(2)
        elif entry == "pip":
            continue
        else:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)=([^\s=*<>]+)", entry.strip())
            assert match, f"{path.name}: conda package not pinned to one version (name=version): {entry!r}"
            pins[match.group(1).lower()] = match.group(2)
    return pins


def rules() -> dict[str, dict[str, str]]:
    """Every rule and checkpoint in rules/*.smk, at any indentation (rules inside `if`/`else` too): its
    conda env, script or shell, and file."""
    found = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        name = directive = None
        indent = 0
        for line in smk.read_text().splitlines():
            head = re.match(r"^(\s*)(?:rule|checkpoint)\s+(\w+)\s*:", line)
            if head:
                indent, name, directive = len(head.group(1)), head.group(2), None
                found[name] = {"file": smk.name}
                continue
            if name is None:
                continue
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                name = None  # the rule's block ended
                continue
            line = re.sub(r"\s+#.*$", "", line)  # trailing comments
            keyword = re.match(r"^\s{%d}(\w+)\s*:\s*(.*)$" % (indent + 4), line)
            if keyword:
                directive = keyword.group(1)
                if keyword.group(2).strip():
                    found[name][directive] = keyword.group(2).strip().strip("\"'")
                continue
            value = line.strip()
            if directive in ("conda", "script", "shell") and value and directive not in found[name]:
                found[name][directive] = value.strip("\"'")
    return found


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_of(path: Path) -> str:
    """The package a module file belongs to (a package's __init__.py: the package itself)."""
    return ".".join(path.relative_to(SRC).parent.parts)


def imported_names(path: Path, module_name: str | None, whole_file: bool) -> set[str]:
    """Absolute names a file imports: everywhere in it, or only what runs when it is imported
    (module level and class bodies, not function bodies, e.g. a package's lazy __getattr__)."""
    tree = ast.parse(path.read_text())
    if whole_file:
        nodes = list(ast.walk(tree))
    else:
        nodes = [node for top in tree.body if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) for node in ast.walk(top)]
    package = package_of(path) if module_name else ""
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


@cache
def third_party_imports(script: Path) -> frozenset[str]:
    """Top-level third-party modules a workflow script needs: its own imports, and those of the sdaie
    modules it imports (whole files, since their functions are called; parent packages only at
    import time)."""
    third_party = set()
    seen = set()
    todo = [(script, None, True)]
    while todo:
        path, module_name, whole = todo.pop()
        if (path, whole) in seen:
            continue
        seen.add((path, whole))
        for name in imported_names(path, module_name, whole):
            top = name.split(".")[0]
            if top == "sdaie":
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):
                    target = ".".join(parts[:depth])
                    found = module_file(target)
                    if found is None:
                        continue
                    deepest = depth == len(parts) or module_file(".".join(parts[: depth + 1])) is None
                    todo.append((found, target, deepest))
            elif top and top not in sys.stdlib_module_names and top not in ("snakemake", "__future__"):
                third_party.add(top)
    return frozenset(third_party)


def env_of(rule: dict) -> Path:
    return (REPO / "rules" / rule["conda"]).resolve()


def test_every_rule_names_an_existing_env():
    found = rules()
    assert len(found) >= 15, sorted(found)  # the parser found the rules
    for name, rule in found.items():
        assert "conda" in rule, f"rule {name} ({rule['file']}) has no conda: directive"
        path = env_of(rule)
        assert path.is_file() and path.parent == REPO / "envs", f"rule {name}: {rule['conda']} is not a file in envs/"
    used = {env_of(rule) for rule in found.values()}
    assert used == set(env_files()), "an env file no rule uses"


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_is_conda_forge_only_and_pinned(path):
    spec = yaml.safe_load(path.read_text())
    assert spec["channels"] == ["conda-forge", "nodefaults"]
    assert "name" not in spec and "prefix" not in spec  # Snakemake names and places the env itself
    pins = env_pins(path)
    python = Version(pins["python"])
    floor = re.match(r">=\s*([\d.]+)", pyproject()["project"]["requires-python"]).group(1)
    assert python >= Version(floor)
    for name in PIP_ONLY & set(pins):
        conda_entries = [e for e in spec["dependencies"] if isinstance(e, str)]
        assert name not in conda_entries and "pip" in conda_entries


def test_each_rules_imports_are_pinned_in_its_env():
    bounds = lower_bounds()
    needs: dict[Path, dict[str, set[str]]] = {}
    for name, rule in rules().items():
        if "script" not in rule:
            continue
        script = (REPO / "rules" / rule["script"]).resolve()
        assert script.is_file(), (name, rule["script"])
        for module in third_party_imports(script):
            dist = IMPORT_TO_DIST.get(module, module).lower()
            assert dist in bounds, f"rule {name} imports {module}, which pyproject.toml does not declare"
            needs.setdefault(env_of(rule), {}).setdefault(dist, set()).add(name)
    assert needs, "no script rules found"
    for env, dists in needs.items():
        pins = env_pins(env)
        for dist, users in sorted(dists.items()):
            package = DIST_TO_CONDA.get(dist, dist)
            assert package in pins, f"{env.name}: {package} (pyproject {dist}) is needed by {sorted(users)} but not pinned"
            if bounds[dist] is not None:
                assert Version(pins[package]) >= bounds[dist], f"{env.name}: {package}={pins[package]} is below pyproject's {dist}>={bounds[dist]}"
            for program in PROGRAMS.get(dist, []):
                assert program in pins, f"{env.name}: {dist} needs the {program} program, not pinned"


def test_pins_agree_across_envs_and_meet_pyproject():
    """Every pyproject dependency pinned in an env satisfies the lower bound; a package pinned in
    several envs has one version (the rule groups exchange Parquet files and pickled options)."""
    bounds = lower_bounds()
    seen: dict[str, tuple[str, str]] = {}
    for path in env_files():
        for package, version in env_pins(path).items():
            dist = {conda: dist for dist, conda in DIST_TO_CONDA.items()}.get(package, package)
            if dist in bounds and bounds[dist] is not None:
                assert Version(version) >= bounds[dist], f"{path.name}: {package}={version} < {dist}>={bounds[dist]}"
            if package in seen:
                assert seen[package][1] == version, f"{package}: {seen[package][0]} pins {seen[package][1]}, {path.name} pins {version}"
            seen[package] = (path.name, version)


def test_import_analysis_sees_lazy_and_relative_imports():
    """The analysis itself: the demo script reaches pyexiftool through a relative import and a
    function-level import, and the data scripts do not pick up sdaie's lazy Detector (PyTorch)."""
    scripts = REPO / "workflow_scripts"
    assert "exiftool" in third_party_imports(scripts / "demo_data.py")
    assert "torch" not in third_party_imports(scripts / "tags.py")
    assert "torch" not in third_party_imports(scripts / "exif_merge.py")
    assert "torch" in third_party_imports(scripts / "pretext_train.py")
