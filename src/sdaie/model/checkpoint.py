"""Reading model files: every extractor and binary detector that sdaie uses is loaded here.

Two kinds of file are accepted wherever a model is read:

    sdaie's own      pretext.pt / model.pt (the extractor under `extractor.*`, and `extractor_config`),
                     binary.pt (extractor and `head.*`), written by the trainers and `sdaie import-weights`
    official         the published checkpoints (`{'state_net': ...}`), mapped by sdaie.model.official

Model files are read with `weights_only=True` (tensors, numbers, strings, lists and dicts only), so a
downloaded checkpoint cannot run code. A file that is missing, empty, truncated, not a PyTorch file, or
a model of another kind raises `sdaie.errors.InputError` naming the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from sdaie.errors import InputError
from sdaie.model.backbone import ExtractorConfig, SDAIEExtractor

EXTRACTOR_PREFIX, HEAD_PREFIX = "extractor.", "head."
RERUN = "rerun the stage that writes it, or give another file"


def read_torch_file(path: str | Path) -> dict:
    """The dict saved in a model file; InputError for anything else."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file", RERUN)
    if not path.is_file():
        raise InputError(path, "not a regular file", "give the path of a model file")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file", RERUN)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle garbage, not a torch file at all
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable PyTorch model file ({reason[:200]})", RERUN) from None
    if not isinstance(state, dict):
        raise InputError(path, f"holds a {type(state).__name__}, not a model checkpoint", RERUN)
    return state


def _extractor_config(path: Path, state: dict) -> ExtractorConfig:
    if not isinstance(state.get("extractor_config"), dict) or not isinstance(state.get("model"), dict):
        raise InputError(path, "not an sdaie model file (no 'model' and 'extractor_config')", RERUN)
    try:
        return ExtractorConfig.from_dict(state["extractor_config"])
    except (TypeError, ValueError) as exc:
        raise InputError(path, f"unknown extractor architecture: {exc}", "update sdaie, or retrain the model") from None


def _load(module: torch.nn.Module, weights: dict, path: Path, what: str) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = sorted(k for k in set(expected) & set(weights) if tuple(expected[k].shape) != tuple(weights[k].shape))
    if missing or unexpected or wrong:
        detail = "; ".join(f"{label}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
                           for label, keys in (("missing", missing), ("unexpected", unexpected), ("other shape", wrong)) if keys)
        raise InputError(path, f"its {what} does not match the architecture it records ({detail})",
                         "the file is damaged or from an incompatible version: retrain or re-import it")
    module.load_state_dict(weights)


def load_extractor(path: str | Path) -> tuple[SDAIEExtractor, ExtractorConfig, dict]:
    """(extractor, its config, the file's other contents) from a pretext model, frozen in eval mode.

    An official backbone checkpoint gives its backbone; an official binary checkpoint its teacher
    (the pretext extractor it was distilled toward)."""
    from sdaie.model.official import is_official, read_official

    path = Path(path)
    state = read_torch_file(path)
    if is_official(state):
        official = read_official(path)
        weights = official.extractor if official.kind == "backbone" else official.teacher
        config = ExtractorConfig()
        state = {"kind": "official", "source": official.source, "vocabulary_hash": None}
    else:
        config = _extractor_config(path, state)
        weights = {k[len(EXTRACTOR_PREFIX):]: v for k, v in state["model"].items() if k.startswith(EXTRACTOR_PREFIX)}
    extractor = SDAIEExtractor(config)
    _load(extractor, weights, path, "extractor")
    return extractor.eval().requires_grad_(False), config, state


def load_binary(path: str | Path):
    """(BinaryDetector in eval mode, the file's other contents) from a binary.pt or an official binary checkpoint."""
    from sdaie.detect.binary import BinaryDetector
    from sdaie.model.official import is_official, read_official

    path = Path(path)
    state = read_torch_file(path)
    if is_official(state):
        official = read_official(path)
        if official.kind != "binary":
            raise InputError(path, "is an official backbone checkpoint, not a binary classifier", "give bc.pth's kind of file")
        config = ExtractorConfig()
        weights = {EXTRACTOR_PREFIX + k: v for k, v in official.extractor.items()}
        weights.update({HEAD_PREFIX + k: v for k, v in official.head.items()})
        state = {"kind": "official", "source": official.source, "vocabulary_hash": None}
    else:
        config = _extractor_config(path, state)
        weights = state["model"]
        if not any(k.startswith(HEAD_PREFIX) for k in weights):
            raise InputError(path, "is an extractor without a binary head, not a binary detector", "give a binary.pt")
    detector = BinaryDetector(config)
    _load(detector, weights, path, "binary detector")
    return detector.eval().requires_grad_(False), state


def save_extractor(path: str | Path, extractor: SDAIEExtractor, **meta) -> None:
    """Write an extractor as an sdaie pretext model file (read by `load_extractor`); `meta` is stored beside it."""
    from dataclasses import asdict

    from sdaie.train.common import save_checkpoint

    save_checkpoint(Path(path), model={EXTRACTOR_PREFIX + k: v for k, v in extractor.state_dict().items()},
                    extractor_config=asdict(extractor.config), **meta)


def save_binary(path: str | Path, detector, **meta) -> None:
    """Write a binary detector as an sdaie binary.pt (read by `load_binary`); `meta` is stored beside it."""
    from dataclasses import asdict

    from sdaie.train.common import save_checkpoint

    save_checkpoint(Path(path), model=detector.state_dict(), extractor_config=asdict(detector.extractor.config), **meta)


def copy_as_sdaie_model(source: str | Path, output: str | Path, kind: str, metrics: str | Path | None = None) -> None:
    """Write the extractor (kind "extractor") or binary detector (kind "binary") of `source` (any accepted
    model file) as an sdaie model file, recording where it came from; `metrics` gets a training-curve
    CSV with no rows (nothing was trained)."""
    source = Path(source)
    meta = {"kind": "init", "source": str(source), "vocabulary_hash": None}
    if kind == "binary":
        detector, state = load_binary(source)
        save_binary(output, detector, **meta, origin=state.get("source"))
    else:
        extractor, _, state = load_extractor(source)
        save_extractor(output, extractor, **meta, origin=state.get("source"))
    if metrics is not None:
        Path(metrics).write_text("step,kind,name,value\n")


def state_fingerprint(state_dict: dict) -> str:
    """SHA-256 (first 16 hex digits) over a model's parameter names, shapes and values."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.float().numpy().tobytes())
    return digest.hexdigest()[:16]
