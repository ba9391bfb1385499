"""EXIF extraction: one row per file of a dataset, in a Parquet table with the fixed ``RAW_SCHEMA``.

Public API::

    from sdaie.exif.listing import list_files, shard_of
    from sdaie.exif.extract import extract_to_parquet, ExtractStats, exiftool_version
    from sdaie.exif.table import merge_tables

Typical use, one job per shard, then a merge::

    relpaths = [p for p in list_files(root) if shard_of(p, n_shards) == k]
    extract_to_parquet(root, relpaths, shard_k, dataset="photos", previous=shard_k, jobs=2)
    merge_tables([shard_0, ..., shard_n], table)

Modules, one job each:

* :mod:`~sdaie.exif.schema`: the table's columns (the contract with later stages);
* :mod:`~sdaie.exif.listing`: walk a dataset root, assign paths to shards;
* :mod:`~sdaie.exif.extract`: one extraction job (refresh, batches, workers, streaming output);
* :mod:`~sdaie.exif.batch`: one batch of files through hashing and exiftool, failures included;
* :mod:`~sdaie.exif.runner`: a long-lived exiftool process (pyexiftool, stay-open mode);
* :mod:`~sdaie.exif.exifjson`: exiftool's JSON read and written back losslessly;
* :mod:`~sdaie.exif.pick`: which copy of a tag (EXIF, XMP, maker notes) fills a column;
* :mod:`~sdaie.exif.values`: exiftool values to typed column values;
* :mod:`~sdaie.exif.rows`: rows of the table, and Arrow tables from them;
* :mod:`~sdaie.exif.fileinfo`: size, mtime and content hash of a file;
* :mod:`~sdaie.exif.previous`: a previous table, for reusing the rows of unchanged files;
* :mod:`~sdaie.exif.table`: Parquet writing (atomic, streaming), schema check, shard merge.

Importing this package imports nothing else, so ``sdaie.exif.schema`` stays cheap to use.
"""
