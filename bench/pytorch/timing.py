"""The timing method and output line shared by compare.py and kernels.py (and, in C#, bench/TrainStepBench/Timing.cs):
warm-up (>= 0.3 s and 10 calls), then 7 blocks of calls sized to ~0.25 s each; the median block, with the fastest and
slowest. One line per measurement: BENCH<TAB>pytorch<TAB>name<TAB>unit<TAB>median<TAB>min<TAB>max, unit "us" (per call,
lower is better) or "gflops" (higher is better).
"""
import os
import time

# MODELDSL_BENCH_CLOCK=cpu (bench/compare.sh --clock cpu): blocks timed in CPU seconds of the calling thread, as
# bench/TrainStepBench/Timing.cs does (CLOCK_THREAD_CPUTIME_ID); meaningful on 1 thread only.
_now = time.thread_time if os.environ.get("MODELDSL_BENCH_CLOCK") == "cpu" else time.perf_counter

REPETITIONS = 7
BLOCK_SECONDS = 0.25


def timed(call, sync=lambda: None):
    """Per-call seconds of 7 blocks, sorted. sync waits for queued device work (torch.cuda.synchronize): it runs after
    the warm-up and at the end of every block, so a block's time covers the work and not just its launches."""
    start = time.perf_counter()
    calls = 0
    while calls < 10 or time.perf_counter() - start < 0.3:
        call()
        calls += 1
    sync()
    estimate = (time.perf_counter() - start) / calls
    block = max(1, int(BLOCK_SECONDS / estimate))
    times = []
    for _ in range(REPETITIONS):
        t0 = _now()
        for _ in range(block):
            call()
        sync()
        times.append((_now() - t0) / block)
    return sorted(times)


def emit(name, unit, values):
    """One BENCH line: values are seconds per call ("us") or GFLOP/s ("gflops")."""
    values = sorted(values)
    scale = 1e6 if unit == "us" else 1.0
    med, lo, hi = values[len(values) // 2] * scale, values[0] * scale, values[-1] * scale
    print(f"BENCH\tpytorch\t{name}\t{unit}\t{med:.3f}\t{lo:.3f}\t{hi:.3f}", flush=True)


def info(text):
    """One INFO line."""
    print(f"INFO\tpytorch\t{text}", flush=True)


def blas_info():
    """Which BLAS this process loaded (torch links it) and, for OpenBLAS, the core its dispatcher chose
    (openblas_get_corename through ctypes), with the environment that can pin it."""
    import ctypes
    import os
    libs = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and ("blas" in fields[5] or "lapack" in fields[5]) and fields[5] not in libs:
                libs.append(fields[5])
    env = " ".join(f"{v}={os.environ.get(v, 'unset')}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "openblas_get_corename"):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return (f"blas core={lib.openblas_get_corename().decode()} config={lib.openblas_get_config().decode().strip()}"
                    f" lib={os.path.realpath(path)} {env}")
    return f"blas: no OpenBLAS among the loaded libraries ({', '.join(libs) or 'none found'}) {env}"
