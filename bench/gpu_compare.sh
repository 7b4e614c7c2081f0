#!/usr/bin/env bash
# Side by side on a CUDA GPU: the benchmark models' training step in ModelDsl (generated CUDA kernels + cuBLAS) and in
# PyTorch on the same GPU, in one run. A GPU machine may have no .NET SDK, so the ModelDsl half is a self-contained
# published program:
#   bench/publish_gpu.sh out/gpu          (anywhere with the SDK; or: dotnet publish bench/GpuBench -c Release -p:GpuMachine=true -o out/gpubench)
#   bench/gpu_compare.sh --gpubench out/gpu/GpuBench [--models mlp,small,cnn,gpt,gpt2-124m] [--tf32] [--gpt2-batch 8]   (on the GPU machine)
#   bench/gpu_compare.sh --check [--gpubench PATH] [--python PATH]   (no GPU: the gpt2 row's whole path at check sizes)
# Rows mlp, small, cnn, gpt: PyTorch eager; prints a table, then one line per model: "ratio vs pytorch <model>: X.XX"
# (PyTorch time / ModelDsl time; above 1 = ModelDsl faster). Both sides multiply in FP32: PyTorch runs with TF32 off
# (its default already for matmul, not for cuDNN's convolutions); --tf32 leaves PyTorch's defaults.
# Row gpt2-124m (bench/models/gpt2_small.model, GPT-2 124M at T = 1024): PyTorch eager FP32, eager BF16 autocast and
# torch.compile BF16 (bench/pytorch/gpt2.py) against ModelDsl in each precision it has (bench/GpuBench/Gpt2Rows.cs);
# LAST, the table of bench/pytorch/gpt2_table.py: step time, tokens/s, MFU (the FLOP formula and the GPU's peak named)
# and peak memory per configuration, then ratio lines. --check runs that row's path with bench/models/gpt2_check.model
# on the CPU emulator and PyTorch on the CPU, and fails unless every configuration ran (or says why it could not),
# both sides have the same parameter count and every loss is finite and going down.
# Needs python3 with torch (a CUDA build on the GPU machine; --python names another interpreter).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
gpubench="$root/out/gpubench/GpuBench"
python="python3"
models=""
precision=(--no-tf32)
check=false
gpt2_batch=8
gpt2_warmup=3
gpt2_steps=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gpubench) gpubench="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --tf32) precision=(); shift ;;
    --check) check=true; shift ;;
    --gpt2-batch) gpt2_batch="$2"; shift 2 ;;
    --gpt2-steps) gpt2_steps="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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

out="$(mktemp)"
gpt2_out="$(mktemp)"
trap 'rm -f "$out" "$gpt2_out"' EXIT

# The gpt2 row: ModelDsl, then PyTorch, then the table (last). $1 = row, $2 = GpuBench device, $3 = torch device.
gpt2_row() {
  "$gpubench" --device "$2" --models "$1" --gpt2-batch "$gpt2_batch" --gpt2-warmup "$gpt2_warmup" --gpt2-steps "$gpt2_steps" | tee -a "$gpt2_out" >&2
  "$python" "$root/bench/pytorch/gpt2.py" --device "$3" --row "$1" --batch "$gpt2_batch" --warmup "$gpt2_warmup" --steps "$gpt2_steps" | tee -a "$gpt2_out" >&2
}

if $check; then
  # Check sizes: batch 2 of T = 64, one warm-up and two timed steps (the emulator runs a step in about half a second).
  gpt2_batch=2; gpt2_warmup=1; gpt2_steps=2
  "$python" -c 'import torch' 2>/dev/null || { echo "gpu_compare.sh: $python has no torch (--python names another interpreter)" >&2; exit 3; }
  gpt2_row gpt2-check emulated cpu
  "$python" "$root/bench/pytorch/gpt2_table.py" "$gpt2_out" --check
  exit $?
fi

"$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || { echo "gpu_compare.sh: PyTorch sees no CUDA device" >&2; exit 3; }
gpu_name="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"

# --models splits into the eager rows (GpuBench + compare.py) and the gpt2 row; no --models runs them all.
run_gpt2=true
small_models=""
if [[ -n "$models" ]]; then
  run_gpt2=false
  for m in ${models//,/ }; do
    if [[ "$m" == gpt2-124m ]]; then run_gpt2=true; else small_models="${small_models:+$small_models,}$m"; fi
  done
fi
if [[ -z "$models" || -n "$small_models" ]]; then
  model_args=(); [[ -n "$small_models" ]] && model_args=(--models "$small_models")
  "$gpubench" --device cuda "${model_args[@]}" | tee -a "$out" >&2
  "$python" "$root/bench/pytorch/compare.py" --device cuda "${precision[@]}" "${model_args[@]}" | tee -a "$out" >&2
  "$python" "$root/bench/pytorch/table.py" "$out" --title "GPU: $gpu_name" --ratios mlp,small,cnn,gpt,sgemm-1024
fi
if $run_gpt2; then
  gpt2_row gpt2-124m cuda cuda
  "$python" "$root/bench/pytorch/gpt2_table.py" "$gpt2_out" --gpu "${gpu_name%%,*}"
fi
