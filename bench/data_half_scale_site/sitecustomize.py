"""Per-process resource figures for bench/data_half_scale.py (inactive unless SDAIE_BENCH_RUSAGE_DIR is set).

bench/data_half_scale.py puts this folder first on PYTHONPATH of the Snakemake run, so every Python
process of the run (Snakemake itself and each job's script) imports this module at startup. At exit
it writes one JSON file to $SDAIE_BENCH_RUSAGE_DIR: argv, start and end time, its own peak RSS
(``VmHWM`` of /proc/self/status: the high-water mark of this process image, exact), the CPU seconds of
itself and of its waited-for children (getrusage), and the largest summed RSS of its child processes
(the exiftool processes of an EXIF shard job), sampled every 0.5 s by a daemon thread.

getrusage's ``ru_maxrss`` is not used for memory: Linux carries it over fork and exec, so every job
started by Snakemake would report at least Snakemake's own peak.
"""

import os

if os.environ.get("SDAIE_BENCH_RUSAGE_DIR"):
    import atexit
    import json
    import resource
    import sys
    import threading
    import time

    _STARTED = time.time()
    _CHILDREN_PEAK_KIB = [0]

    def _status_kib(pid: str, field: str) -> int:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _children(pid: str) -> list[str]:
        found = []
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    found += handle.read().split()
        except OSError:
            pass
        return found

    def _sample_children() -> None:
        me = str(os.getpid())
        while True:
            pending, total = _children(me), 0
            while pending:
                child = pending.pop()
                total += _status_kib(child, "VmRSS")
                pending += _children(child)
            _CHILDREN_PEAK_KIB[0] = max(_CHILDREN_PEAK_KIB[0], total)
            time.sleep(0.5)

    threading.Thread(target=_sample_children, name="bench-rss", daemon=True).start()

    def _record() -> None:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        record = {
            "pid": os.getpid(), "argv": sys.argv, "start": _STARTED, "end": time.time(),
            "maxrss_kib": _status_kib("self", "VmHWM"), "children_maxrss_kib": _CHILDREN_PEAK_KIB[0],
            "cpu_s": own.ru_utime + own.ru_stime, "children_cpu_s": children.ru_utime + children.ru_stime,
        }
        path = os.path.join(os.environ["SDAIE_BENCH_RUSAGE_DIR"], f"{os.getpid()}-{int(_STARTED * 1e6)}.json")
        try:
            with open(path, "w") as handle:
                json.dump(record, handle)
        except OSError:
            pass

    atexit.register(_record)
