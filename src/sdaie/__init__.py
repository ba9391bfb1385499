"""sdaie: self-supervised AI-generated image detection from camera metadata (SDAIE).

`from sdaie import Detector` gives the detector API (imported lazily, so that the data half of the
pipeline does not load PyTorch)."""

__version__ = "0.1.0"
__all__ = ["Detector", "DetectionResult", "__version__"]


def __getattr__(name):
    if name in ("Detector", "DetectionResult"):
        from sdaie.detect import detector

        return getattr(detector, name)
    raise AttributeError(f"module 'sdaie' has no attribute {name!r}")
