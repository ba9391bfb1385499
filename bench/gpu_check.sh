#!/usr/bin/env bash
# One call on a GPU machine: the GPU tests, then the training throughput benchmark (published fp32
# eager setting, then bf16 + torch.compile) and whole-image scoring; the figures are printed last.
#   bash bench/gpu_check.sh            (OUT=folder for JSON/logs; defaults to /tmp/sdaie-gpu)
# Needs torch, numpy, pyarrow and pytest only; the project is used from src/ (no install).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-/tmp/sdaie-gpu}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

python3 -m pytest -q -p no:cacheprovider bench/gpu_tests.py 2>&1 | tee "$out/gpu_tests.log"
tests_status=${PIPESTATUS[0]}

python3 bench/train_throughput.py --device cuda --no-compile --no-amp --batch-size 64 --steps 60 --warmup 10 \
    --json "$out/train_fp32_eager.json" 2>&1 | tee "$out/train_fp32_eager.log"
python3 bench/train_throughput.py --device cuda --compile --amp --batch-size 64 --steps 150 --warmup 30 \
    --json "$out/train_bf16_compiled.json" 2>&1 | tee "$out/train_bf16_compiled.log"
python3 bench/score_throughput.py --device cuda --images 10 > "$out/score_fp32.log" 2>&1
python3 bench/score_throughput.py --device cuda --images 10 --amp > "$out/score_bf16.log" 2>&1

echo
echo "## sdaie GPU check"
echo "GPU tests: exit status $tests_status ($(tail -n 1 "$out/gpu_tests.log"))"
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("| setting | device | batch | synthetic img/s | end-to-end img/s | ratio |")
print("|---|---|---|---|---|---|")
for name in ("train_fp32_eager", "train_bf16_compiled"):
    path = out / f"{name}.json"
    if not path.exists():
        print(f"| {name} | (failed: see {name}.log) | | | | |")
        continue
    r = json.loads(path.read_text())
    print(f"| {name} | {r['device']} | {r['batch_size']} | {r['synthetic_images_per_s']} | {r['end_to_end_images_per_s']} | {r['ratio']} |")
PY
echo
echo "Whole-image scoring, 12-megapixel photo (fp32, then bf16):"
tail -n 1 "$out/score_fp32.log"
tail -n 1 "$out/score_bf16.log"
