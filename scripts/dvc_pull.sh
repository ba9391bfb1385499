#!/usr/bin/env bash
# Restore the pipeline's artifacts from the DVC remote so that Snakemake sees them as up to date.
#
#   scripts/dvc_pull.sh [SNAKEMAKE TARGET...]      (default: Snakemake's default target, the whole pipeline)
#
# DVC restores file contents, not modification times, and a fresh clone has no .snakemake/ metadata:
# after a bare `dvc pull`, Snakemake would rerun jobs whose inputs happen to be newer than their
# outputs. This script checks that no Snakemake run holds the workspace, pulls, checks that the
# workspace matches dvc.lock (so the files really are what the current code and config build), then
# gives the datasets' files back the modification times their EXIF tables recorded (the EXIF
# refresh reuses rows by size and time; scripts/restore_mtimes.py checks the content hash first), then
# runs `snakemake --touch --forceall`: every output is touched in DAG order and Snakemake records
# its metadata (code, params, input set) for the current code and config, so that its default rerun
# triggers work from then on. It never marks stale files as up to date: if `dvc status` reports a
# change, it stops and leaves the rebuild to `dvc repro`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -d .snakemake/locks ] && [ -n "$(ls -A .snakemake/locks)" ]; then
    echo "dvc_pull.sh: .snakemake/locks is not empty: a Snakemake run (or dvc repro) is using this workspace." >&2
    echo "Wait for it to finish; after a crash, clear the stale lock with 'snakemake --unlock'." >&2
    exit 1
fi

dvc pull

if ! dvc status --quiet; then
    dvc status
    echo "dvc_pull.sh: the workspace does not match dvc.lock (above): run 'dvc repro' to rebuild what changed." >&2
    exit 1
fi

# Dataset files (pulled, or restored from the demo stage) get back the times their EXIF tables
# recorded, so that a later refresh reads only files that really changed.
"${PYTHON:-python}" scripts/restore_mtimes.py

snakemake --quiet rules --cores 1 --touch --forceall "$@"
echo "dvc_pull.sh: artifacts restored; 'snakemake -n' has nothing to do."
