"""The gpt2 row's table for bench/gpu_compare.sh: reads the GPT2 lines of bench/GpuBench (ModelDsl) and bench/pytorch/
gpt2.py (PyTorch) from one file and prints, per configuration, step time, tokens/s, MFU and peak memory.

    python3 bench/pytorch/gpt2_table.py FILE --gpu "NVIDIA H200" [--check]

MFU = achieved FLOP/s ÷ the GPU's dense peak for the configuration's math (FP32, TF32 or BF16 tensor cores), with the
training FLOPs per token of PaLM (Chowdhery et al. 2022, appendix B), as llm.c and nanoGPT estimate MFU:
    6·N + 12·L·H·Q·T    N parameters (the tied head once), L layers, H heads, Q head width, T sequence length.
Peaks below are NVIDIA's datasheet figures without sparsity; a GPU not in the table gets no MFU (and a line saying so).
Checks, always: both sides report the same parameter count (the PyTorch module is the .model file's architecture),
every loss is finite, and no configuration failed (a GPT2SKIP line whose reason starts with "failed:"). With --check (the emulator and PyTorch on the CPU, bench/gpu_compare.sh --check): also every
configuration present (or skipped with a reason), each one's loss going down over its steps, and every ModelDsl step
replayed as a CUDA graph (GpuBench's GPT2GRAPH lines: captures, and no fallback reason; on a GPU they are printed after
the table, not checked). Exit status 1 when a check fails.
"""
import argparse
import math
import sys

# Dense TFLOP/s from NVIDIA's datasheets (the sparsity figures halved): (name fragment, BF16, TF32, FP32). Matched in
# order against the lower-cased device name, so the more specific fragments come first.
PEAKS = [
    ("h200", 989.4, 494.7, 66.9),          # H200 SXM 141GB
    ("h100 pcie", 756.5, 378.0, 51.2),
    ("h100", 989.4, 494.7, 66.9),          # H100 SXM5 80GB ("NVIDIA H100 80GB HBM3")
    ("a100", 312.0, 156.0, 19.5),          # A100 40GB/80GB, SXM and PCIe
    ("l40s", 362.1, 183.0, 91.6),
]

# (impl, config) in table order, and how each is named in the table.
CONFIGS = [
    ("pytorch", "eager-fp32", "PyTorch eager FP32"),
    ("pytorch", "eager-bf16", "PyTorch eager BF16 autocast"),
    ("pytorch", "compile-bf16", "PyTorch torch.compile BF16"),
    ("modeldsl", "modeldsl-fp32", "ModelDsl FP32"),
    ("modeldsl", "modeldsl-tf32", "ModelDsl TF32 GEMMs"),
    ("modeldsl", "modeldsl-bf16", "ModelDsl BF16"),
]
# What --check requires: every configuration of the two programs.
REQUIRED = {"eager-fp32", "eager-bf16", "compile-bf16", "modeldsl-fp32", "modeldsl-tf32", "modeldsl-bf16"}
# Ratios printed last: (numerator config, denominator config), tokens/s over tokens/s.
RATIOS = [("modeldsl-bf16", "compile-bf16"), ("modeldsl-bf16", "eager-bf16"), ("modeldsl-fp32", "eager-fp32"),
          ("modeldsl-tf32", "eager-fp32")]


def math_of(config):
    return "bf16" if config.endswith("bf16") else "tf32" if config.endswith("tf32") else "fp32"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--gpu", default="", help="device name (nvidia-smi); empty: no MFU")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    rows, skipped, graphs = {}, {}, {}
    with open(args.file) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "GPT2" and len(fields) == 15:
                impl, name = fields[1], fields[2]
                row, config = name.split(".", 1)
                rows[config] = dict(impl=impl, row=row, batch=int(fields[3]), T=int(fields[4]), N=int(fields[5]),
                                    L=int(fields[6]), H=int(fields[7]), Q=int(fields[8]), median=float(fields[9]),
                                    low=float(fields[10]), high=float(fields[11]),
                                    peak=None if fields[12] == "-" else int(fields[12]),
                                    first=float(fields[13]), last=float(fields[14]))
            elif fields[0] == "GPT2SKIP" and len(fields) == 4:
                skipped[fields[2].split(".", 1)[1]] = fields[3]
            elif fields[0] == "GPT2GRAPH" and len(fields) == 5:
                graphs[fields[2].split(".", 1)[1]] = (int(fields[3]), None if fields[4] == "-" else fields[4])
    if not rows:
        sys.exit("gpt2_table.py: no GPT2 lines in " + args.file)

    problems = []
    any_row = next(iter(rows.values()))
    counts = {c: r["N"] for c, r in rows.items()}
    if len(set(counts.values())) != 1:
        problems.append("the parameter counts differ: " + ", ".join(f"{c} {n:,}" for c, n in counts.items()))
    for c, r in rows.items():
        if not (math.isfinite(r["first"]) and math.isfinite(r["last"])):
            problems.append(f"{c}: a loss is not finite ({r['first']} -> {r['last']})")
        elif args.check and not r["last"] < r["first"]:
            problems.append(f"{c}: the loss did not go down over its steps ({r['first']} -> {r['last']})")
    for c, reason in skipped.items():
        if reason.startswith("failed:"):
            problems.append(f"{c}: {reason}")
    if args.check:
        for c in sorted(REQUIRED - rows.keys() - skipped.keys()):
            problems.append(f"{c}: no result and no reason")
        # The emulator captures and replays CUDA graphs as a GPU does: a ModelDsl step that fell back to plain launches
        # (a host value passed per step, a refused capture) is a regression the GPU run would time without saying so.
        for c in sorted(c for c, r in rows.items() if r["impl"] == "modeldsl"):
            captures, fallback = graphs.get(c, (0, "no GPT2GRAPH line"))
            if fallback is not None or captures < 1:
                problems.append(f"{c}: the step did not replay a CUDA graph ({fallback or 'no capture'})")

    N, L, H, Q, T, B = any_row["N"], any_row["L"], any_row["H"], any_row["Q"], any_row["T"], any_row["batch"]
    flops_per_token = 6 * N + 12 * L * H * Q * T
    peak = next((p for p in PEAKS if p[0] in args.gpu.lower()), None) if args.gpu else None
    print(f"\n{any_row['row']} on {args.gpu or 'this machine'}: batch {B} x T {T} = {B * T:,} tokens per step; "
          f"{N:,} parameters ({'both sides' if len(set(counts.values())) == 1 else 'MISMATCH'})")
    print(f"training FLOPs per token = 6*N + 12*L*H*Q*T = 6*{N:,} + 12*{L}*{H}*{Q}*{T} = {flops_per_token:,} "
          f"(PaLM appendix B, as llm.c and nanoGPT)")
    if peak:
        print(f"peak, dense (NVIDIA datasheet, '{peak[0]}'): BF16 {peak[1]} TFLOP/s, TF32 {peak[2]}, FP32 {peak[3]}; "
              f"MFU against the peak of each configuration's math")
    else:
        print("MFU: not computed (" + (f"no peak table entry for '{args.gpu}' in bench/pytorch/gpt2_table.py"
                                       if args.gpu else "no GPU: the emulator and PyTorch on the CPU") + ")")
    print()
    print("| configuration | step ms, median (min–max) | tokens/s | MFU | peak memory | loss first → last |")
    print("|---|---|---|---|---|---|")
    tokens_per_second = {}
    for impl, config, label in CONFIGS:
        if config in skipped:
            print(f"| {label} | skipped: {skipped[config]} | | | | |")
            continue
        r = rows.get(config)
        if r is None:
            continue
        tps = B * T / (r["median"] / 1e3)
        tokens_per_second[config] = tps
        if peak:
            top = {"bf16": peak[1], "tf32": peak[2], "fp32": peak[3]}[math_of(config)]
            mfu = f"{100 * tps * flops_per_token / (top * 1e12):.1f}% of {math_of(config).upper()}"
        else:
            mfu = "–"
        memory = "–" if r["peak"] is None else f"{r['peak'] / 2**30:.2f} GiB" if r["peak"] >= 2**30 else f"{r['peak'] / 2**20:.1f} MiB"
        print(f"| {label} | {r['median']:.1f} ({r['low']:.1f}–{r['high']:.1f}) | {tps:,.0f} | {mfu} | {memory} | "
              f"{r['first']:.3f} → {r['last']:.3f} |")
    print()
    if graphs:
        print("CUDA graphs (ModelDsl's step up to the loss read-back, replayed as one graph; docs/cuda.md): " + "; ".join(
            f"{c} {'replayed, ' + str(n) + ' capture' + ('s' if n != 1 else '') if why is None else 'NOT used: ' + why}"
            for c, (n, why) in sorted(graphs.items())))
    if args.check:
        print("ratios: not printed (the emulator against PyTorch on the CPU measures nothing about a GPU)")
    else:
        for a, b in RATIOS:
            if a in tokens_per_second and b in tokens_per_second:
                print(f"ratio {a} vs {b}: {tokens_per_second[a] / tokens_per_second[b]:.2f} (tokens/s)")
    if problems:
        print("gpt2 check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if args.check:
        print(f"gpt2 check passed: {len(rows)} configurations ran ({', '.join(sorted(rows))}), "
              f"{len(skipped)} skipped with a reason; parameter counts equal; every loss finite and going down; "
              f"every ModelDsl step replayed a CUDA graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
