#!/usr/bin/env bash
# One call on a GPU machine, inside a time budget: the GPU tests, the training throughput benchmark
# (the published fp32 eager setting, then bf16 autocast), whole-image scoring, optionally the real-
# data experiment (bench/gpu_run.sh: the pipeline's own rules on a bundle from bench/gpu_bundle.py), then torch.compile
# checks if time is left; the figures are printed last.
#
#   BUDGET_S=540 BUNDLE=.gpu_bundle OUT=/tmp/sdaie-gpu bash bench/gpu_check.sh
#
# Needs torch, numpy, pyarrow, pillow, scipy, scikit-learn and pytest only; the project is used from
# src/ (no install). Everything lands in $OUT: experiment outputs as they are, the benchmark logs and
# JSON in check.tar.gz (a device call brings back at most 8 files).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-/tmp/sdaie-gpu}"
budget="${BUDGET_S:-540}"
logs="$(mktemp -d)"
mkdir -p "$out"
left() { echo $((budget - SECONDS)); }
step() { echo; echo "=== $1 (${SECONDS}s elapsed, $(left)s left)"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$logs/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$logs/gpu.txt"
nproc | sed 's/^/cpus /' | tee -a "$logs/gpu.txt"

step "GPU tests (eager)"
timeout 180 python3 -m pytest -q -p no:cacheprovider bench/gpu_tests.py -k "not compiled" 2>&1 | tee "$logs/gpu_tests.log"
tests_status=${PIPESTATUS[0]}

step "training throughput, fp32 eager (published setting)"
timeout 120 python3 bench/train_throughput.py --device cuda --no-compile --no-amp --batch-size 64 --steps 40 --warmup 10 \
    --workers 8 --json "$logs/train_fp32_eager.json" 2>&1 | tee "$logs/train_fp32_eager.log"
step "training throughput, bf16 eager"
timeout 120 python3 bench/train_throughput.py --device cuda --no-compile --amp --batch-size 64 --steps 60 --warmup 10 \
    --workers 8 --json "$logs/train_bf16_eager.json" 2>&1 | tee "$logs/train_bf16_eager.log"

step "whole-image scoring"
timeout 90 python3 bench/score_throughput.py --device cuda --images 10 2>&1 | tee "$logs/score_fp32.log"
timeout 90 python3 bench/score_throughput.py --device cuda --images 10 --amp 2>&1 | tee "$logs/score_bf16.log"

if [ -n "${BUNDLE:-}" ]; then
    step "real-data experiment"
    BUNDLE="$BUNDLE" OUT="$out" timeout $(( $(left) - 30 )) bash bench/gpu_run.sh 2>&1 | tee "$logs/experiment.log"
    echo "experiment exit status ${PIPESTATUS[0]}"
fi

compiled_status="not run (time)"
if [ -z "${NO_COMPILE:-}" ] && [ "$(left)" -gt 240 ]; then
    step "torch.compile: test and throughput"
    timeout $(( $(left) - 30 )) python3 -m pytest -q -p no:cacheprovider bench/gpu_tests.py -k compiled 2>&1 | tee "$logs/gpu_tests_compiled.log"
    compiled_status=${PIPESTATUS[0]}
    if [ "$(left)" -gt 150 ]; then
        # eager, compiled (empty cache), compiled (cache kept): time to first step and steady img/s
        timeout $(( $(left) - 20 )) python3 bench/train_throughput.py --compile-study --device cuda --amp --batch-size 64 \
            --steps 100 --warmup 20 --workers 8 2>&1 | tee "$logs/train_compile_study.log"
    fi
fi
tar -czf "$out/check.tar.gz" -C "$logs" .

echo
echo "## sdaie GPU check ($(head -n 1 "$logs/gpu.txt"))"
echo "GPU tests (eager): exit status $tests_status ($(tail -n 1 "$logs/gpu_tests.log"))"
echo "GPU test (compiled training step): $compiled_status"
python3 - "$logs" <<'PY'
import json, pathlib, sys
logs = pathlib.Path(sys.argv[1])
print("| setting | batch | synthetic img/s | end-to-end img/s | ratio |")
print("|---|---|---|---|---|")
for name in ("train_fp32_eager", "train_bf16_eager"):
    path = logs / f"{name}.json"
    if not path.exists():
        print(f"| {name} | (not run or failed) | | | |")
        continue
    r = json.loads(path.read_text())
    print(f"| {name} | {r['batch_size']} | {r['synthetic_images_per_s']} | {r['end_to_end_images_per_s']} | {r['ratio']} |")
PY
if [ -f "$logs/train_compile_study.log" ]; then
    echo; echo "torch.compile, end to end from shards (bf16):"; tail -n 5 "$logs/train_compile_study.log"
fi
echo
echo "Whole-image scoring, 12-megapixel photo (fp32, then bf16):"
tail -n 1 "$logs/score_fp32.log"
tail -n 1 "$logs/score_bf16.log"
if [ -f "$out/snakemake.log" ]; then
    echo
    grep "GPU stages:" "$out/snakemake.log" || echo "GPU stages: did not finish (see $out/snakemake.log)"
fi
