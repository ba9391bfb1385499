"""Tag normalization: raw EXIF tables -> model-ready columns, class vocabulary, split and summary.

Modules, one job each:

* :mod:`~sdaie.tags.parse` - any dtype to Float64 (``"1/250"``, ``" 0.004 "``, floats) or to code text
* :mod:`~sdaie.tags.makers` - canonical maker names (``data/makers.csv``) and cleaned model names
* :mod:`~sdaie.tags.ranges` - physical ranges and log2 scaling of numeric tags (one table)
* :mod:`~sdaie.tags.categorical` - which tags are categorical, and their source columns
* :mod:`~sdaie.tags.vocab` - vocabularies with a minimum count and ``other``: build, save, load, apply
* :mod:`~sdaie.tags.split` - deterministic hash-bucketed split column
* :mod:`~sdaie.tags.summary` - the Markdown + JSON summary
* :mod:`~sdaie.tags.normalize` - ``normalize_tables``: the streaming pipeline tying them together
* :mod:`~sdaie.tags.synthetic` - synthetic raw tables for tests and benchmarks
"""
