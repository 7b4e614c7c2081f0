#!/usr/bin/env bash
# Samples/s of examples/FashionMnist (full data set) alone with 1 thread and data-parallel on 2 ranks of 1 thread,
# alternated REPEATS times; prints each run's last-epoch figure (the first epoch includes JIT warm-up).
# Usage: bench/distributed/samples_per_second.sh [batch=128] [repeats=3] [epochs=2]    (build the example -c Release first)
set -euo pipefail
cd "$(dirname "$0")/../.."
batch=${1:-128} repeats=${2:-3} epochs=${3:-2}
dll=examples/FashionMnist/bin/Release/net10.0/FashionMnist.dll
export TERM=dumb
last_epoch() { grep -a "^epoch ${epochs}/${epochs}" | grep -oE '[0-9,]+ samples/s'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$repeats"); do
    echo "1 rank : $(dotnet "$dll" --epochs "$epochs" --batch "$batch" --threads 1 --plot /tmp/fashion_1rank.png | last_epoch)"
    echo "2 ranks: $(mpirun --allow-run-as-root -x TERM=dumb -np 2 dotnet "$dll" --epochs "$epochs" --batch "$batch" --distributed --threads 1 --plot /tmp/fashion_2ranks.png | last_epoch)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
