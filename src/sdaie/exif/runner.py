"""One long-lived exiftool process (``-stay_open``, through pyexiftool) that reads batches of files.

The process is started once per worker and fed many batches. Options common to every batch:

* ``-n``: numeric values, no print conversion; ``-j``: JSON output;
* ``-G1 -a``: every copy of a requested tag, keyed by its group (``"ExifIFD:ISO"``, ``"Canon:ISO"``),
  so that :mod:`sdaie.exif.pick` can prefer the standard EXIF copy over maker-note codes;
* ``-e``: no Composite tags. exiftool otherwise computes all of them for every file (about a fifth
  of its time with the tags requested here) and none is needed: the one that would be,
  ``Composite:ImageSize``, is replaced by :func:`sdaie.exif.pick.stored_size`;
* ``-q -q``: no informational messages or warnings on stderr (warnings are still reported in the
  JSON ``Warning`` tag), so stderr stays small even for large batches;
* ``-charset filename=utf8``: file names are UTF-8 (non-ASCII names work).

Only the tags the table needs are requested (see :data:`REQUEST_TAGS`), which is also what makes
extraction faster than a plain ``exiftool -json -n``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import exiftool

from sdaie.exif.exifjson import parse_exiftool_json
from sdaie.exif.schema import EXIFTOOL_TAGS

EXECUTABLE = "exiftool"
COMMON_ARGS = ["-n", "-j", "-G1", "-a", "-e", "-q", "-q", "-charset", "filename=utf8"]

# Tags requested besides the typed ones; the group-qualified ones are also their keys in the JSON
# records. Every copy of ImageWidth/ImageHeight is requested (File:, PNG:, IFD0:, IFD1:, XMP-tiff:...);
# sdaie.exif.pick.stored_size picks the one describing the stored image.
FILE_TYPE, WARNING, ERROR = "File:FileType", "ExifTool:Warning", "ExifTool:Error"
EXTRA_TAGS = [FILE_TYPE, "ImageWidth", "ImageHeight", WARNING, ERROR]
REQUEST_TAGS = [*EXIFTOOL_TAGS, *EXTRA_TAGS]
_TAG_ARGS = [f"-{tag}".encode() for tag in REQUEST_TAGS]

_BLOCK_SIZE = 1 << 16  # pipe read size; pyexiftool's default of 4 KiB costs many syscalls


@lru_cache(maxsize=1)
def exiftool_version(executable: str = EXECUTABLE) -> str:
    """Version of the installed exiftool, e.g. ``"12.57"`` (``exiftool -ver``)."""
    path = shutil.which(executable) or executable
    result = subprocess.run([path, "-ver"], capture_output=True, text=True, check=True)
    return result.stdout.strip()


@dataclass(frozen=True, slots=True)
class BatchOutput:
    """What exiftool said about one batch: its JSON records, its stderr and its exit status."""

    records: list[dict[str, Any]]
    stderr: str
    status: int


class ExifToolRunner:
    """A stay-open exiftool process. Not thread-safe: use one runner per worker thread.

    Start it from the main thread (it forks a process); then a worker may call :meth:`read`.
    """

    def __init__(self, executable: str = EXECUTABLE) -> None:
        self._executable = executable
        self._tool: exiftool.ExifTool | None = None
        self.version: str | None = None

    def start(self) -> None:
        """Start the exiftool process (a no-op when running)."""
        if self._tool is not None and self._tool.running:
            return
        tool = exiftool.ExifTool(executable=self._executable, common_args=list(COMMON_ARGS), encoding="utf-8")
        tool.block_size = _BLOCK_SIZE
        tool.run()
        self._tool = tool
        self.version = tool.version

    @property
    def pid(self) -> int | None:
        """Process id of the exiftool process, ``None`` when not started."""
        process = getattr(self._tool, "_process", None) if self._tool is not None else None
        return process.pid if process is not None else None

    def read(self, paths: list[bytes]) -> BatchOutput:
        """Run exiftool over ``paths`` (file-system encoded, absolute) in one command.

        exiftool's non-zero status for a bad file is not an error here: the records of the good
        files are still returned. Raises on a broken process (then call :meth:`restart`) or on
        output that is not JSON.
        """
        if self._tool is None:
            raise RuntimeError("ExifToolRunner.read() before start()")
        stdout = self._tool.execute(*_TAG_ARGS, *paths, raw_bytes=True)
        stderr = self._tool.last_stderr or b""
        records = parse_exiftool_json(stdout.decode("utf-8", "replace"))
        return BatchOutput(records, stderr.decode("utf-8", "replace").strip(), self._tool.last_status or 0)

    def restart(self) -> None:
        """Kill the process (whatever its state) and start a fresh one."""
        self.close()
        self.start()

    def close(self) -> None:
        """Stop the process; safe to call twice."""
        tool, self._tool = self._tool, None
        if tool is None:
            return
        process = getattr(tool, "_process", None)
        if process is None or process.poll() is not None:
            return  # never started, or already dead (and now reaped)
        try:
            tool.terminate()
        except Exception:  # a dead or wedged process: make sure it is gone
            if process.poll() is None:
                process.kill()
                process.wait()

    def __enter__(self) -> ExifToolRunner:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
