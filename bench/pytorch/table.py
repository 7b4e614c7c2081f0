"""Merges the BENCH lines of ModelDsl and its peers into one table and the ratio lines (bench/compare.sh on the CPU,
bench/gpu_compare.sh on a GPU).

    python3 bench/pytorch/table.py RESULTS [--title TEXT] [--ratios name,...] [--onnx-ratios name,...]
                                           [--ceiling-threads N]

RESULTS holds lines `BENCH<TAB>impl<TAB>name<TAB>unit<TAB>median<TAB>min<TAB>max` (unit "us": per call, lower is better;
"gflops": higher is better), `INFO<TAB>impl<TAB>text` and `STEP<TAB>name<TAB>samples<TAB>flops` (a training-step row:
samples and floating-point operations per call; each side's samples/s and GFLOP/s are printed, with the share of the
ceiling when --ceiling-threads is given). A ratio is the peer's time / ModelDsl's (or ModelDsl's
GFLOP/s / the peer's): above 1 means ModelDsl is faster. The ratio lines come last: one per --ratios name against
PyTorch, then one per --onnx-ratios name against ONNX Runtime. With --ceiling-threads, the row peak-fma-per-core
(GFLOP/s of one core) times N is printed as the ceiling, with sgemm-1024's share of it.
"""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("results")
parser.add_argument("--title", default="")
parser.add_argument("--ratios", default="")
parser.add_argument("--onnx-ratios", default="")
parser.add_argument("--ceiling-threads", type=int, default=0)
args = parser.parse_args()
NAMES = {"pytorch": "PyTorch", "modeldsl": "ModelDsl", "onnxruntime": "ONNX Runtime"}

rows, order, info, impls, steps = {}, [], [], ["pytorch", "modeldsl"], {}
for line in open(args.results):
    parts = line.rstrip("\n").split("\t")
    if parts[0] == "STEP":
        steps[parts[1]] = (int(parts[2]), float(parts[3]))
    elif parts[0] == "INFO":
        info.append(f"{parts[1]}: {parts[2]}")
    elif parts[0] == "BENCH":
        _, impl, name, unit, med, lo, hi = parts
        if name not in order:
            order.append(name)
        if impl not in impls:
            impls.append(impl)
        rows[(impl, name)] = (unit, float(med), float(lo), float(hi))
peers = [i for i in impls if i != "modeldsl"]


def cell(key):
    if key not in rows:
        return "-"
    unit, med, lo, hi = rows[key]
    if unit == "us":
        f = (lambda v: f"{v / 1000:.2f} ms") if med >= 1000 else (lambda v: f"{v:.1f} µs")
    else:
        f = lambda v: f"{v:.1f} GFLOP/s"
    return f"{f(med)} ({f(lo).split()[0]}–{f(hi)})"


def ratio(name, peer):
    p, m = rows.get((peer, name)), rows.get(("modeldsl", name))
    if not p or not m:
        return None
    return p[1] / m[1] if p[0] == "us" else m[1] / p[1]


if args.title:
    print(args.title)
for line in info:
    print(line)
print("medians of 7 repetitions after warm-up (min–max in brackets); ratio = peer's time / ModelDsl's (above 1 = ModelDsl faster)")
print()
print("| benchmark | " + " | ".join(NAMES.get(i, i) for i in impls) + " | "
      + " | ".join(f"ratio vs {NAMES.get(p, p)}" for p in peers) + " |")
print("|---" * (1 + len(impls) + len(peers)) + "|")
for name in order:
    ratios = [ratio(name, p) for p in peers]
    print(f"| {name} | " + " | ".join(cell((i, name)) for i in impls) + " | "
          + " | ".join("" if r is None else f"{r:.2f}" for r in ratios) + " |")
peak = rows.get(("modeldsl", "peak-fma-per-core"))
if args.ceiling_threads and peak:
    ceiling = peak[1] * args.ceiling_threads
    print()
    widths = "; ".join(f"{w}: {rows[('modeldsl', f'peak-fma-{w}-per-core')][1] * args.ceiling_threads:.1f}"
                       for w in ("avx2", "avx512") if ("modeldsl", f"peak-fma-{w}-per-core") in rows)
    print(f"ceiling on {args.ceiling_threads} thread(s): {ceiling:.1f} GFLOP/s (measured peak FMA per core with the widest "
          f"vectors × threads{'; ' + widths if widths else ''})")
    for impl in ("pytorch", "modeldsl"):
        s = rows.get((impl, "sgemm-1024"))
        if s:
            print(f"sgemm-1024 {impl}: {100 * s[1] / ceiling:.0f}% of ceiling")
for name, (samples, flops) in steps.items():
    print()
    for impl in impls:
        r = rows.get((impl, name))
        if r and r[0] == "us":
            seconds = r[1] / 1e6
            share = (f", {100 * flops / seconds / 1e9 / (peak[1] * args.ceiling_threads):.0f}% of ceiling"
                     if args.ceiling_threads and peak else "")
            print(f"{name} {impl}: {samples / seconds:.2f} samples/s ({flops / seconds / 1e9:.1f} GFLOP/s at "
                  f"{flops / 1e9:.1f} GFLOP per step of {samples} samples{share})")
print()
for peer, names in (("pytorch", args.ratios), ("onnxruntime", args.onnx_ratios)):
    for name in filter(None, names.split(",")):
        r = ratio(name, peer)
        if r is not None:
            print(f"ratio vs {peer} {name}: {r:.2f}")
