"""Damaging files on purpose, for the bad-input tests."""

from pathlib import Path

import pyarrow.parquet as pq


def damage_column(path: Path, column: str) -> None:
    """Flip bytes in the middle of ``column``'s compressed data in the first row group."""
    parquet = pq.ParquetFile(path)
    chunk = parquet.metadata.row_group(0).column(parquet.schema_arrow.names.index(column))
    start, size = chunk.data_page_offset, chunk.total_compressed_size
    parquet.close()
    data = bytearray(path.read_bytes())
    middle = start + size // 2
    for i in range(middle, min(middle + 32, start + size)):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))
