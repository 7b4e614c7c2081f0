"""The PyTorch half of bench/compare.sh: the same models, shapes, optimizer and timing method as
bench/TrainStepBench --compare, printing the same machine-readable lines:
    BENCH<TAB>pytorch<TAB>name<TAB>unit<TAB>median<TAB>min<TAB>max
unit "us" (per call, lower is better) or "gflops" (higher is better).
Method: warm-up (>= 0.3 s and 10 calls), then 7 repetitions of a block of calls sized to ~0.25 s; the median block.

    python3 bench/pytorch/compare.py [--threads N]
"""
import argparse
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()
# Pin every pool (ATen/OpenMP and the BLAS) to the same count before torch loads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(1)

REPETITIONS = 7
BLOCK_SECONDS = 0.25


def timed(call):
    """Per-call seconds of 7 blocks, sorted."""
    start = time.perf_counter()
    calls = 0
    while calls < 10 or time.perf_counter() - start < 0.3:
        call()
        calls += 1
    estimate = (time.perf_counter() - start) / calls
    block = max(1, int(BLOCK_SECONDS / estimate))
    times = []
    for _ in range(REPETITIONS):
        t0 = time.perf_counter()
        for _ in range(block):
            call()
        times.append((time.perf_counter() - t0) / block)
    return sorted(times)


def emit(name, unit, values):
    values = sorted(values)
    scale = 1e6 if unit == "us" else 1.0
    med, lo, hi = values[len(values) // 2] * scale, values[0] * scale, values[-1] * scale
    print(f"BENCH\tpytorch\t{name}\t{unit}\t{med:.3f}\t{lo:.3f}\t{hi:.3f}", flush=True)


def gflops(flops, seconds):
    return [flops / s / 1e9 for s in seconds]


def mlp(widths):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def bench_model(name, widths, batch, x, y, loss_fn):
    model = mlp(widths)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    def fwd_bwd():
        opt.zero_grad()
        loss_fn(model(x), y).backward()

    def forward():
        with torch.no_grad():
            model(x)

    emit(name, "us", timed(step))
    if name == "mlp":
        emit(name + ".forward", "us", timed(forward))
        # Inference as ModelDsl's Predict and ONNX Runtime are timed: the argmax of each row, at batch 128 and 1.
        x1 = x[:1].clone()

        def predict(inputs):
            with torch.no_grad():
                model(inputs).argmax(1)

        def forward1():
            with torch.no_grad():
                model(x1)

        emit(name + ".predict", "us", timed(lambda: predict(x)))
        emit(name + ".forward-b1", "us", timed(forward1))
        emit(name + ".predict-b1", "us", timed(lambda: predict(x1)))
    emit(name + ".fwd+bwd", "us", timed(fwd_bwd))
    emit(name + ".adam", "us", timed(opt.step))


print(f"INFO\tpytorch\tthreads={torch.get_num_threads()} torch={torch.__version__} python={sys.version.split()[0]}", flush=True)

# MLP 784-256-256-10, batch 128, ReLU, cross-entropy, Adam(lr 1e-3).
x = torch.rand(128, 784)
y = torch.arange(128) % 10
bench_model("mlp", [784, 256, 256, 10], 128, x, y, nn.CrossEntropyLoss())

# The 8 GEMMs of one MLP step (Y = X·Wᵀ, dW = dYᵀ·X, dX = dY·W), as nn.Linear issues them.
gemms = []
widths = [784, 256, 256, 10]
for l in range(3):
    i, o = widths[l], widths[l + 1]
    X, W, dY = torch.rand(128, i), torch.rand(o, i), torch.rand(128, o)
    Y, dW, dX = torch.empty(128, o), torch.empty(o, i), torch.empty(128, i)
    gemms.append(lambda X=X, W=W, Y=Y: torch.matmul(X, W.t(), out=Y))
    gemms.append(lambda X=X, dY=dY, dW=dW: torch.matmul(dY.t(), X, out=dW))
    if l > 0:
        gemms.append(lambda W=W, dY=dY, dX=dX: torch.matmul(dY, W, out=dX))


def all_gemms():
    for g in gemms:
        g()


emit("mlp.gemms", "us", timed(all_gemms))

# 10-64-64-1, batch 32, BCE with logits, Adam(lr 1e-3).
sx = torch.rand(32, 10)
sy = (torch.arange(32) % 2).float().reshape(32, 1)
bench_model("small", [10, 64, 64, 1], 32, sx, sy, nn.BCEWithLogitsLoss())

# SGEMM 1024x1024x1024, C = A·B.
n = 1024
a, b, c = torch.rand(n, n) - 0.5, torch.rand(n, n) - 0.5, torch.empty(n, n)
emit("sgemm-1024", "gflops", gflops(2.0 * n ** 3, timed(lambda: torch.matmul(a, b, out=c))))
