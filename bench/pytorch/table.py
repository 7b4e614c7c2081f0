"""Merges the BENCH lines of ModelDsl and its peers into one table and the ratio lines (bench/gpu_compare.sh).

    python3 bench/pytorch/table.py RESULTS [--title TEXT] [--ratios name,name,...]

RESULTS holds lines `BENCH<TAB>impl<TAB>name<TAB>unit<TAB>median<TAB>min<TAB>max` (unit "us": per call, lower is better;
"gflops": higher is better) and `INFO<TAB>impl<TAB>text`. A ratio is the peer's time / ModelDsl's (or ModelDsl's
GFLOP/s / the peer's): above 1 means ModelDsl is faster. The ratio lines come last, one per --ratios name.
"""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("results")
parser.add_argument("--title", default="")
parser.add_argument("--ratios", default="")
args = parser.parse_args()

rows, order, info, impls = {}, [], [], ["pytorch", "modeldsl"]
for line in open(args.results):
    parts = line.rstrip("\n").split("\t")
    if parts[0] == "INFO":
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
print("| benchmark | " + " | ".join(impls) + " | " + " | ".join(f"ratio vs {p}" for p in peers) + " |")
print("|---" * (1 + len(impls) + len(peers)) + "|")
for name in order:
    ratios = [ratio(name, p) for p in peers]
    print(f"| {name} | " + " | ".join(cell((i, name)) for i in impls) + " | "
          + " | ".join("" if r is None else f"{r:.2f}" for r in ratios) + " |")
print()
for name in filter(None, args.ratios.split(",")):
    r = ratio(name, "pytorch")
    if r is not None:
        print(f"ratio vs pytorch {name}: {r:.2f}")
