"""Progress of long loops: a log line at least every 30 s (log files), and a bar on a terminal.

Snakemake jobs write to log files, where a progress bar shows nothing until the end: `ProgressLog`
writes "what: done/total unit, rate, elapsed, ETA" lines instead. `Progress` adds a tqdm bar when
asked (interactive commands), so one object serves both.
"""

from __future__ import annotations

import logging
import time


class ProgressLog:
    """A log line at least every `every` seconds while a long loop runs: done/total, rate and ETA.

    For log files (Snakemake's), where a progress bar prints nothing until the end; `tick(done)` is
    cheap to call on every iteration."""

    def __init__(self, what: str, total: int, unit: str, every: float = 30.0, start: int = 0, logger=None):
        self.what, self.total, self.unit, self.every = what, total, unit, every
        self.log = logger or logging.getLogger("sdaie")
        self.started = self.last = time.monotonic()
        self.start = start

    def tick(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if now - self.last < self.every and done < self.total:
            return
        self.last = now
        rate = (done - self.start) / max(now - self.started, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        self.log.info("%s: %d/%d %s, %.3g %s/s, %s elapsed, ETA %s%s", self.what, done, self.total, self.unit, rate,
                      self.unit, _clock(now - self.started), _clock(eta), f", {extra}" if extra else "")


def _clock(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress(ProgressLog):
    """ProgressLog plus, with `bar`, a tqdm bar on stderr (images/s and so on)."""

    def __init__(self, what: str, total: int, unit: str, bar: bool = False, **options):
        super().__init__(what, total, unit, **options)
        self.bar = None
        self.done = options.get("start", 0)
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=self.done, desc=what, unit=unit.rstrip("s"), dynamic_ncols=True)

    def __call__(self, done: int, extra: str = "") -> None:
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done
        self.tick(done, extra)
        if self.bar is not None and done >= self.total:
            self.bar.close()
