#!/usr/bin/env bash
# Side by side on a CUDA GPU: the benchmark models' training step in ModelDsl (generated CUDA kernels + cuBLAS) and in
# PyTorch eager with CUDA, in one run. A GPU machine may have no .NET SDK, so the ModelDsl half is a self-contained
# published program:
#   dotnet publish bench/GpuBench -c Release -p:GpuMachine=true -o out/gpubench      (anywhere with the SDK)
#   bench/gpu_compare.sh [--gpubench out/gpubench/GpuBench] [--models mlp,small,cnn,gpt] [--tf32]   (on the GPU machine)
# Prints a table, then LAST one line per model: "ratio vs pytorch <model>: X.XX" (PyTorch time / ModelDsl time; above
# 1 = ModelDsl faster). Needs python3 with a CUDA build of torch. Both sides multiply in FP32: PyTorch runs with TF32 off
# (its default already for matmul, not for cuDNN's convolutions); --tf32 leaves PyTorch's defaults.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
gpubench="$root/out/gpubench/GpuBench"
models=""
precision=(--no-tf32)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gpubench) gpubench="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --tf32) precision=(); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$gpubench" ]]; then
  if command -v dotnet >/dev/null; then
    echo "publishing bench/GpuBench..." >&2
    dotnet publish "$root/bench/GpuBench" -c Release -p:GpuMachine=true -o "$(dirname "$gpubench")" -nologo -v q >/dev/null
  else
    echo "gpu_compare.sh: $gpubench not found and no dotnet to publish it (see the header of this script)" >&2
    exit 2
  fi
fi
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || { echo "gpu_compare.sh: PyTorch sees no CUDA device" >&2; exit 3; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
model_args=(); [[ -n "$models" ]] && model_args=(--models "$models")
"$gpubench" --device cuda "${model_args[@]}" | tee -a "$out" >&2
python3 "$root/bench/pytorch/compare.py" --device cuda "${precision[@]}" "${model_args[@]}" | tee -a "$out" >&2

python3 "$root/bench/pytorch/table.py" "$out" --title "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)" --ratios mlp,small,cnn,gpt,sgemm-1024
