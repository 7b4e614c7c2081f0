#!/usr/bin/env bash
# Side-by-side: the same models in PyTorch, ModelDsl and (inference) ONNX Runtime, in one run, on the same thread count.
#   bench/compare.sh [--threads N]      (default 1)
# Prints a table, then LAST one line per model: "ratio vs pytorch <model>: X.XX"
# (PyTorch time / ModelDsl time, or ModelDsl GFLOP/s / PyTorch GFLOP/s; above 1 = ModelDsl faster),
# then "ratio vs onnxruntime mlp.predict-b1" and, last, "ratio vs onnxruntime mlp.predict: X.XX" (ONNX Runtime / ModelDsl).
# Builds and timings run under flock /tmp/modeldsl.lock so concurrent builds do not disturb them.
set -euo pipefail

threads=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --threads=*) threads="${1#*=}"; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
lock=/tmp/modeldsl.lock

# PyTorch: Debian's python3-torch (1.13, BLAS through OpenBLAS). Use the system interpreter: that is where apt puts it.
py=""
for candidate in python3 /usr/bin/python3; do
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
trap 'rm -f "$out"' EXIT
echo "running with $threads thread(s)..." >&2
flock "$lock" bash -c '
  set -e
  dotnet "$1/bench/TrainStepBench/bin/Release/net10.0/TrainStepBench.dll" --compare "$2"
  dotnet "$1/bench/TrainStepBench/bin/Release/net10.0/TrainStepBench.dll" --onnxruntime "$2"
  "$3" "$1/bench/pytorch/compare.py" --threads "$2"
' _ "$root" "$threads" "$py" > "$out"

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
"$py" - "$out" "$threads" "$cpu" <<'PY'
import sys
path, threads, cpu = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows, order, info = {}, [], []
for line in open(path):
    parts = line.rstrip("\n").split("\t")
    if parts[0] == "INFO":
        info.append(f"{parts[1]}: {parts[2]}")
    elif parts[0] == "BENCH":
        _, impl, name, unit, med, lo, hi = parts
        if name not in order:
            order.append(name)
        rows[(impl, name)] = (unit, float(med), float(lo), float(hi))

def cell(key):
    if key not in rows:
        return "-"
    unit, med, lo, hi = rows[key]
    if unit == "us":
        f = (lambda v: f"{v / 1000:.2f} ms") if med >= 1000 else (lambda v: f"{v:.1f} µs")
    else:
        f = lambda v: f"{v:.1f} GFLOP/s"
    return f"{f(med)} ({f(lo).split()[0]}–{f(hi)})"

def ratio(name, other="pytorch"):
    p, m = rows.get((other, name)), rows.get(("modeldsl", name))
    if not p or not m:
        return None
    return p[1] / m[1] if p[0] == "us" else m[1] / p[1]

def fmt(r):
    return "" if r is None else f"{r:.2f}"

print(f"machine: {cpu}; threads: {threads}; " + "; ".join(info))
print("medians of 7 repetitions after warm-up (min–max in brackets); ratio = other's time / ModelDsl's (above 1 = ModelDsl faster)")
print()
print(f"| benchmark | PyTorch | ModelDsl | ONNX Runtime | ratio vs PyTorch | ratio vs ONNX Runtime |")
print(f"|---|---|---|---|---|---|")
for name in order:
    print(f"| {name} | {cell(('pytorch', name))} | {cell(('modeldsl', name))} | {cell(('onnxruntime', name))} "
          f"| {fmt(ratio(name))} | {fmt(ratio(name, 'onnxruntime'))} |")
peak = rows.get(("modeldsl", "peak-fma-per-core"))
if peak:
    ceiling = peak[1] * threads
    print()
    print(f"ceiling on {threads} thread(s): {ceiling:.1f} GFLOP/s (measured peak FMA per core × threads)")
    for impl in ("pytorch", "modeldsl"):
        s = rows.get((impl, "sgemm-1024"))
        if s:
            print(f"sgemm-1024 {impl}: {100 * s[1] / ceiling:.0f}% of ceiling")
print()
for name in ("mlp", "small", "sgemm-1024"):
    r = ratio(name)
    if r is not None:
        print(f"ratio vs pytorch {name}: {r:.2f}")
for name in ("mlp.predict-b1", "mlp.predict"):
    r = ratio(name, "onnxruntime")
    if r is not None:
        print(f"ratio vs onnxruntime {name}: {r:.2f}")
PY
