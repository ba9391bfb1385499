"""The built-in demo dataset: simulated camera photographs and generated-image stand-ins.

``build_demo`` makes a small, seeded dataset offline (no downloads), so the pipeline runs anywhere:

* photos from simulated camera models (``cameras.CAMERAS``) that differ in real image-formation traits
  (colour filter array and demosaicing, ISO-dependent sensor noise, f-number-dependent diffraction,
  noise reduction, tone curve, sharpening, JPEG tables), with EXIF written by exiftool that agrees
  with the simulation and leaves tags out the way real cameras and workflows do;
* two sets of generated-image *stand-ins* (``standins.GENERATORS``): a transposed-convolution
  upsampling decoder and a DDIM-like iterative denoiser, on the same kind of procedural scenes.

Modules: ``cameras`` (specs as data), ``scenes`` (procedural scenes), ``exposure`` (shooting
conditions and auto-exposure), ``pipeline`` (optics, sensor, ISP, JPEG), ``exif_writer`` (exiftool),
``standins`` (generated stand-ins), ``build`` (orchestration), ``cli`` (command line).
"""

from .build import MANIFEST_COLUMNS, DemoSummary, build_demo
from .cameras import CAMERAS, CameraSpec
from .standins import GENERATORS

__all__ = ["CAMERAS", "GENERATORS", "MANIFEST_COLUMNS", "CameraSpec", "DemoSummary", "build_demo"]
