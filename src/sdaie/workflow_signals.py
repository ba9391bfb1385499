"""Signals to the Snakemake process: SIGTERM and SIGINT end the running jobs (see stop_jobs_on_signals)."""

from __future__ import annotations


def stop_jobs_on_signals(grace: float = 5.0) -> None:
    """Make SIGTERM and SIGINT to Snakemake end its running jobs within seconds.

    Snakemake alone answers SIGTERM by waiting for the running jobs to finish (hours, for a training
    job), and SIGINT sent to its process only (`kill -INT`, not a terminal's Ctrl-C) by abandoning them
    still running, so a SLURM time limit or a scheduler's kill left a trainer writing into its run
    folder. Installed by the Snakefile's `onstart`: a watcher thread, woken through Python's signal
    wakeup fd whichever thread the kernel delivered the signal to, sends SIGTERM to every process
    Snakemake started (SIGKILL after `grace` seconds) and wakes the main thread, whose handler raises
    KeyboardInterrupt: Snakemake then stops as on Ctrl-C (marks the jobs incomplete, cancels remote
    jobs, releases its lock). A second signal ends Snakemake at once. A trainer killed this way
    resumes from its last checkpoint on the next run."""
    import os
    import signal
    import threading

    import psutil

    stopping = {signal.SIGINT, signal.SIGTERM}
    main = threading.main_thread().ident
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def stop_children() -> None:
        children = psutil.Process().children(recursive=True)
        for child in children:
            try:
                child.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(children, timeout=grace)
        for child in alive:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass

    def watch() -> None:
        while True:
            received = os.read(read_end, 64)
            if not received:
                return
            if stopping & set(received):
                stop_children()
                signal.pthread_kill(main, signal.SIGUSR1)  # interrupts the main thread's wait

    def interrupt(signum, frame):
        for number in stopping:
            signal.signal(number, signal.SIG_DFL)
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=watch, name="sdaie-stop-jobs", daemon=True).start()
    signal.signal(signal.SIGUSR1, lambda signum, frame: None)
    for number in stopping:
        signal.signal(number, interrupt)
