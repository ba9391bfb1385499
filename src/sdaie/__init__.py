"""sdaie: self-supervised AI-generated image detection from camera metadata (SDAIE)."""

__version__ = "0.1.0"
