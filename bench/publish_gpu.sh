#!/usr/bin/env bash
# Publishes everything a GPU machine without the .NET SDK needs into one folder, self-contained for linux-x64:
# tests/CudaParity (CPU-vs-CUDA parity and step timings), bench/GpuBench (the ModelDsl half of bench/gpu_compare.sh) and
# the examples (BinaryClassifier, FashionMnist, TextLstm, CharGpt). The programs share one copy of the .NET runtime in that folder.
#   bench/publish_gpu.sh [OUT]            (default out/gpu; OUT.tar.xz beside it with --archive)
# Then on the GPU machine, from a checkout (for the scripts and the shipped samples):
#   OUT/CudaParity --device cuda --time
#   bench/gpu_compare.sh --gpubench OUT/GpuBench          (every row; the gpt2-124m row needs torch 2.x for torch.compile)
#   OUT/FashionMnist --model cnn --device cuda          (see docs/cuda.md for the data and the other examples)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/out/gpu"
archive=false
for arg in "$@"; do
  case "$arg" in
    --archive) archive=true ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) out="$(realpath -m "$arg")" ;;
  esac
done

rm -rf "$out"
for project in tests/CudaParity bench/GpuBench examples/BinaryClassifier examples/FashionMnist examples/TextLstm examples/CharGpt; do
  echo "publishing $project..." >&2
  if ! log="$(dotnet publish "$root/$project" -c Release -p:GpuMachine=true -o "$out" -nologo -v q 2>&1)"; then
    echo "$log" >&2
    exit 1
  fi
done
if $archive; then
  tar -C "$(dirname "$out")" -cf - "$(basename "$out")" | xz -T0 -6 > "$out.tar.xz"
  echo "$out.tar.xz" >&2
fi
echo "$out" >&2
