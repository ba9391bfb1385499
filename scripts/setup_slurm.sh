#!/usr/bin/env bash
# Install what tests/test_slurm.py needs to start a one-node SLURM cluster on this machine, idempotently:
# Debian's slurm-wlm (slurmctld, slurmd and the client commands) and munge. Not needed to run the
# pipeline, on a workstation or on a real cluster; CI (.ci/run) calls it before the tests.
# The packages' own services are not used: the test starts its own daemons, with their own files.
set -euo pipefail

missing=""
for program in munged slurmctld slurmd sbatch squeue; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$program" >/dev/null 2>&1 || missing="yes"
done
if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq slurm-wlm munge >/dev/null
fi
echo "setup_slurm done: $(PATH="$PATH:/usr/sbin" slurmd -V), $(PATH="$PATH:/usr/sbin" munged -V 2>&1 | head -1)"
