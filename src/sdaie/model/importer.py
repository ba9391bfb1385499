"""`sdaie import-weights`: the published checkpoints as an sdaie models folder.

    pretext.pt   the pretext extractor: the backbone checkpoint's backbone, or the binary checkpoint's
                 teacher when no backbone is given; the backbone's 14 pretext heads are kept unused
    binary.pt    the binary detector: the binary checkpoint's student extractor and its 2-way head

Both record where they came from (path and SHA-256 of the official file). A `oneclass.npz` already in
the folder that was fitted on another extractor is refused rather than left to mislead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from sdaie.errors import InputError
from sdaie.model.backbone import ExtractorConfig, SDAIEExtractor
from sdaie.model.checkpoint import save_binary, save_extractor, state_fingerprint
from sdaie.model.official import OfficialCheckpoint, read_official


def _writable_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, "exists and is not a folder", "give a folder for the models")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".sdaie-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise InputError(folder, f"cannot write there ({exc.strerror})", "give a writable folder") from None


def _extractor(weights: dict[str, torch.Tensor]) -> SDAIEExtractor:
    extractor = SDAIEExtractor(ExtractorConfig())
    extractor.load_state_dict(weights)
    return extractor.eval()


def _read(path: Path, kind: str, flag: str) -> OfficialCheckpoint:
    checkpoint = read_official(path)
    if checkpoint.kind != kind:
        raise InputError(path, f"is a {checkpoint.kind} checkpoint, not a {kind} one", f"pass it with --{checkpoint.kind}")
    return checkpoint


def import_weights(backbone: Path | None, binary: Path | None, output: Path) -> Iterator[str]:
    """Write pretext.pt (and binary.pt) into `output`; yields one line per thing done."""
    from sdaie.detect.binary import BinaryDetector
    from sdaie.detect.oneclass import OneClassDetector

    official_backbone = _read(Path(backbone), "backbone", "backbone") if backbone else None
    official_binary = _read(Path(binary), "binary", "binary") if binary else None
    _writable_folder(output)

    if official_backbone is not None:
        extractor = _extractor(official_backbone.extractor)
        origin = f"the backbone of {backbone}"
    else:
        extractor = _extractor(official_binary.teacher)
        origin = f"the teacher inside {binary} (no --backbone given)"
    fingerprint = state_fingerprint(extractor.state_dict())
    oneclass = output / "oneclass.npz"
    if oneclass.exists():
        OneClassDetector.load(oneclass, extractor_id=fingerprint)  # InputError when fitted on another extractor
    source = official_backbone.source if official_backbone else official_binary.source
    save_extractor(output / "pretext.pt", extractor, kind="imported", source=source, vocabulary=None, vocabulary_hash=None,
                   official_heads=official_backbone.pretext_heads if official_backbone else {})
    yield (f"{output / 'pretext.pt'}: {origin} (sha256 {source['sha256'][:12]}), extractor {fingerprint}, "
           f"{len(official_backbone.extractor if official_backbone else official_binary.teacher)} tensors and the SRM bank mapped"
           + (f", {len(official_backbone.pretext_heads) // 2} pretext heads kept unused" if official_backbone else ""))

    if official_binary is not None:
        detector = BinaryDetector(ExtractorConfig())
        detector.extractor.load_state_dict(official_binary.extractor)
        detector.head.load_state_dict(official_binary.head)
        save_binary(output / "binary.pt", detector.eval(), kind="imported", source=official_binary.source,
                    vocabulary_hash=None, teacher=str(output / "pretext.pt"))
        yield (f"{output / 'binary.pt'}: the binary detector of {binary} (sha256 {official_binary.source['sha256'][:12]}), "
               f"{len(official_binary.extractor) + 2} tensors mapped")
        if official_backbone is not None:
            teacher = state_fingerprint(_extractor(official_binary.teacher).state_dict())
            if teacher != fingerprint:
                yield (f"note: the binary detector was distilled toward extractor {teacher}, not toward this backbone "
                       f"({fingerprint}); both are used as given")
    if not oneclass.exists():
        yield f"next: fit the one-class detector on your real photos: sdaie fit-oneclass PHOTOS... --models {output}"
