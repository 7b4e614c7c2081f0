#!/usr/bin/env bash
# Side-by-side: the same models in PyTorch, ModelDsl and (inference) ONNX Runtime, in one run, on the same thread count.
#   bench/compare.sh [--threads N[,M...]] [--models mlp,small,cnn,gpt,sgemm,bert]  (default: 1 thread, every model;
#       several thread counts run one after the other, one table each)
#   bench/compare.sh --models bert --threads 1,2   (the bert row: one fine-tuning step of bert_classifier.model at
#       B=16, T=128; samples/s and the share of the peak on 1 and 2 threads; docs/benchmarks.md)
#   bench/compare.sh --kernels [--threads N]     (the CNN's, GPT's and a BERT layer's kernels alone, ModelDsl against PyTorch ops)
#   --clock cpu: time blocks in the calling thread's CPU seconds instead of wall seconds (1 thread on a shared machine)
# Prints a table, then LAST one line per model: "ratio vs pytorch <model>: X.XX"
# (PyTorch time / ModelDsl time, or ModelDsl GFLOP/s / PyTorch GFLOP/s; above 1 = ModelDsl faster),
# then "ratio vs onnxruntime mlp.predict-b1" and, last, "ratio vs onnxruntime mlp.predict: X.XX" (ONNX Runtime / ModelDsl).
# The mlp.checked / mlp.unchecked rows time the MLP step with and without the non-finite checks in interleaved blocks;
# an INFO line above the table gives the overhead (docs/training.md, "Non-finite values").
# Builds and timings run under flock /tmp/modeldsl.lock so concurrent builds do not disturb them.
# Every peer runs at its strongest correct configuration: the PyTorch process alone runs without OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE (this machine's environment pins OpenBLAS to its AVX2 "Haswell" kernels; unset, OpenBLAS picks the
# widest the CPU has), the BLAS core each side used is printed, and every side's outputs are checked against a float64
# reference (a side that fails the check stops the run instead of reporting a speed); the bert row instead checks
# PyTorch's module against ModelDsl's weights and losses (bench/pytorch/bert.py).
# PyTorch is the first interpreter that imports torch among $MODELDSL_BENCH_PYTHON, /usr/bin/python3 (Debian's
# python3-torch) and the python3 on PATH (a pyenv one often has no torch).
set -euo pipefail

threads=1
models=""
kernels=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --threads=*) threads="${1#*=}"; shift ;;
    --models) models="$2"; shift 2 ;;
    --models=*) models="${1#*=}"; shift ;;
    --kernels) kernels=1; shift ;;
    --clock) export MODELDSL_BENCH_CLOCK="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
lock=/tmp/modeldsl.lock

# PyTorch: Debian's python3-torch (1.13, BLAS through OpenBLAS). Use the system interpreter: that is where apt puts it.
py=""
for candidate in ${MODELDSL_BENCH_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch' 2>/dev/null; then py="$candidate"; break; fi
done
if [[ -z "$py" ]]; then
  echo "installing python3-torch and OpenBLAS (apt)..." >&2
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
  py=/usr/bin/python3
fi

echo "building bench/TrainStepBench (Release)..." >&2
flock "$lock" dotnet build "$root/bench/TrainStepBench" -c Release -nologo -v q >/dev/null

out="$(mktemp)"
check="$(mktemp -d)"
trap 'rm -rf "$out" "$check"' EXIT
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
IFS=',' read -r -a thread_counts <<< "$threads"
for threads in "${thread_counts[@]}"; do
  if [[ $kernels == 1 ]]; then
    echo "running the kernels with $threads thread(s)..." >&2
    flock "$lock" bash -c '
      set -e
      dotnet "$1/bench/TrainStepBench/bin/Release/net10.0/TrainStepBench.dll" --kernels "$2"
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$3" "$1/bench/pytorch/kernels.py" --threads "$2"
    ' _ "$root" "$threads" "$py" > "$out"
  else
    echo "running with $threads thread(s)${models:+, models $models}..." >&2
    # ONNX Runtime runs the MLP's inference rows only.
    onnx=1
    [[ -n "$models" && ",$models," != *",mlp,"* ]] && onnx=0
    # The bert row: ModelDsl writes its weights, inputs and losses to $check; the PyTorch side loads and checks them.
    flock "$lock" bash -c '
      set -e
      model_args=(); [[ -n "$5" ]] && model_args=(--models "$5")
      MODELDSL_BENCH_BERT_CHECK="$6" dotnet "$1/bench/TrainStepBench/bin/Release/net10.0/TrainStepBench.dll" --compare "$2" "${model_args[@]}"
      if [[ "$4" == 1 ]]; then dotnet "$1/bench/TrainStepBench/bin/Release/net10.0/TrainStepBench.dll" --onnxruntime "$2"; fi
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$3" "$1/bench/pytorch/compare.py" --threads "$2" --bert-check "$6" "${model_args[@]}"
    ' _ "$root" "$threads" "$py" "$onnx" "$models" "$check" > "$out"
  fi

  "$py" "$root/bench/pytorch/table.py" "$out" --title "machine: $cpu; threads: $threads; clock: ${MODELDSL_BENCH_CLOCK:-wall}; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" \
    --ratios mlp,small,cnn,gpt,sgemm-1024,bert --onnx-ratios mlp.predict-b1,mlp.predict --ceiling-threads "$threads"
done
