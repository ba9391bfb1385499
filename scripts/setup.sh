#!/usr/bin/env bash
# Set up everything sdaie needs on a Debian/Ubuntu machine, idempotently:
#   exiftool (Debian's libimage-exiftool-perl), a virtual environment at .venv with PyTorch and
#   the project installed in editable mode with its workflow and test extras.
# Set SDAIE_TORCH to choose the torch requirement (default: the pinned CPU-capable release).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v exiftool >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libimage-exiftool-perl >/dev/null
fi
exiftool -ver >/dev/null

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "${SDAIE_TORCH:-torch==2.13.0}"
.venv/bin/python -m pip install -q -e ".[test]"
echo "setup done: $(.venv/bin/python --version), exiftool $(exiftool -ver), $(.venv/bin/snakemake --version | sed 's/^/snakemake /')"
