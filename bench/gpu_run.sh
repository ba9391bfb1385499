#!/usr/bin/env bash
# On the GPU machine, from the repository root: the GPU stages of a bundle (bench/gpu_bundle.py) through
# the pipeline's own rules. Snakemake comes from the bundle's wheels when the machine lacks it. The data
# half was run on the CPU side (it needs exiftool and polars): it is marked up to date here, never rerun.
#
#   BUNDLE=.gpu_bundle OUT=/tmp/sdaie-gpu CORES=16 bash bench/gpu_run.sh
#
# ROOT (default: the repository) is the folder Snakemake runs in, as given to bench/gpu_bundle.py --root;
# BUNDLE is relative to it. PYTHON (default python3) is the interpreter with PyTorch.
#
# Leaves in $OUT: results.tar.gz (the GPU stages' outputs, patch shards and crops excluded) and the log.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "${ROOT:-$repo}"
bundle="${BUNDLE:-.gpu_bundle}"
out="${OUT:-/tmp/sdaie-gpu}"
mkdir -p "$out"
python3() { command "${PYTHON:-python3}" "$@"; }
if ! python3 -c "import snakemake" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/sdaie-site "$bundle"/wheels/*.whl
    export PYTHONPATH="/tmp/sdaie-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
targets() { python3 -c "import json, sys; print(' '.join(json.load(open(sys.argv[1]))[sys.argv[2]]))" "$bundle/bundle.json" "$1"; }
snakemake=(python3 -m snakemake --snakefile "$repo/Snakefile" --configfile "$bundle/config.yaml" --cores "${CORES:-all}" --scheduler greedy)
"${snakemake[@]}" --touch $(targets data_half) 2>&1 | tee "$out/snakemake.log"
SECONDS=0
"${snakemake[@]}" $(targets gpu) 2>&1 | tee -a "$out/snakemake.log"
echo "GPU stages: ${SECONDS} s" | tee -a "$out/snakemake.log"
results="$(python3 -c "import yaml, sys; print(yaml.safe_load(open(sys.argv[1]))['results'])" "$bundle/config.yaml")"
tar -czf "$out/results.tar.gz" --exclude="patches" --exclude="binary/crops*" --exclude="*/run/checkpoint.pt" \
    -C "$(dirname "$results")" "$(basename "$results")"
