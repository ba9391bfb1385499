"""The thread count of a computing job (PyTorch, and the BLAS of numpy and scikit-learn)."""

from __future__ import annotations


def use_threads(snakemake) -> int:
    """Set the threads of this job's computations (PyTorch and the BLAS that numpy and scikit-learn use).

    The config's top-level `threads` when it is set: results (model bytes, scores) then do not depend on
    `--cores`, since floating-point sums split over another number of threads round differently. Otherwise
    the cores Snakemake gave the job."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = snakemake.config.get("threads") or snakemake.threads
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    return threads
