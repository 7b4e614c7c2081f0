"""The PyTorch half of bench/compare.sh --kernels: the ops an eager PyTorch step of the CNN and GPT of compare.py runs,
each alone at the models' shapes, beside bench/TrainStepBench --kernels (same row names, BENCH format, timing method).
    gpt.k.*  one Transformer block at B·T = 1024, d 128 (the model has 4), plus the loss over [1024, 96]
    cnn.k.*  the Fashion CNN's layers at batch 64
Backward rows use torch.autograd.grad on a retained graph: the backward kernels alone, as loss.backward() runs them.
GEMM rows use torch.matmul(..., out=) at the shapes nn.Linear's forward and backward issue.

    python3 bench/pytorch/kernels.py [--threads N]
"""
import argparse
import math
import os

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import timing  # noqa: E402  (bench/pytorch/timing.py, beside this file)

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(1)


def emit(name, call):
    timing.emit(name, "us", timing.timed(call))


def rand(*shape, grad=False):
    return (torch.rand(*shape) - 0.5).requires_grad_(grad)


def backward_of(output, inputs):
    """A call running the backward of output's graph into inputs (graph kept for the next call)."""
    grad = torch.rand_like(output)
    return lambda: torch.autograd.grad(output, inputs, grad, retain_graph=True)


print(f"INFO\tpytorch\tthreads={torch.get_num_threads()} torch={torch.__version__} kernels", flush=True)
timing.info(timing.blas_info())

# ── GPT: one block at B·T = 1024, d 128 ──────────────────────────────────────────────────────────────────────────────
n, d, ff = 1024, 128, 512
dense = [(3 * d, d), (d, d), (ff, d), (d, ff)]  # qkv, out_proj, fc1, fc2: [out, in]
xs = [torch.rand(n, i) for _, i in dense]
ws = [torch.rand(o, i) for o, i in dense]
ys = [torch.empty(n, o) for o, _ in dense]
dys = [torch.rand(n, o) for o, _ in dense]
dws = [torch.empty(o, i) for o, i in dense]
dxs = [torch.empty(n, i) for _, i in dense]


def dense_fwd():
    for x, w, y in zip(xs, ws, ys):
        torch.matmul(x, w.t(), out=y)


def dense_bwd():
    for x, w, dy, dw, dx in zip(xs, ws, dys, dws, dxs):
        torch.matmul(dy.t(), x, out=dw)
        torch.matmul(dy, w, out=dx)


mask = torch.tril(torch.ones(64, 64, dtype=torch.bool))


def attention(qkv):
    """compare.py's CausalSelfAttention between the projections: [16, 64, 3d] -> [16, 64, d]."""
    q, k, v = qkv.split(d, dim=2)
    q, k, v = (z.view(16, 64, 4, 32).transpose(1, 2) for z in (q, k, v))
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(32))
    scores = scores.masked_fill(~mask, float("-inf"))
    return (scores.softmax(dim=-1) @ v).transpose(1, 2).contiguous().view(16, 64, d)


qkv = rand(16, 64, 3 * d, grad=True)
pre = rand(n, ff, grad=True)
ln_x, ln_w, ln_b = rand(n, d, grad=True), rand(d, grad=True), rand(d, grad=True)
logits, labels = rand(n, 96, grad=True), torch.arange(n) * 7 % 96


def no_grad(call):
    def run():
        with torch.no_grad():
            call()
    return run


def loss():
    torch.autograd.grad(F.cross_entropy(logits, labels), logits)


emit("gpt.k.dense-fwd", dense_fwd)
emit("gpt.k.dense-bwd", dense_bwd)
emit("gpt.k.attention-fwd", no_grad(lambda: attention(qkv)))
emit("gpt.k.attention-bwd", backward_of(attention(qkv), qkv))
emit("gpt.k.gelu-fwd", no_grad(lambda: F.gelu(pre, approximate="tanh")))
emit("gpt.k.gelu-bwd", backward_of(F.gelu(pre, approximate="tanh"), pre))
emit("gpt.k.layer_norm-fwd", no_grad(lambda: F.layer_norm(ln_x, (d,), ln_w, ln_b)))
emit("gpt.k.layer_norm-bwd", backward_of(F.layer_norm(ln_x, (d,), ln_w, ln_b), (ln_x, ln_w, ln_b)))
emit("gpt.k.loss", loss)

# ── CNN at batch 64 ──────────────────────────────────────────────────────────────────────────────────────────────────
for name, cin, size, cout in (("conv1", 1, 28, 32), ("conv2", 32, 14, 64)):
    x = rand(64, cin, size, size, grad=cin != 1)  # the first convolution reads the model input: no input gradient
    w, b = rand(cout, cin, 3, 3, grad=True), rand(cout, grad=True)
    emit(f"cnn.k.{name}-fwd", no_grad(lambda: F.conv2d(x, w, b, padding=1)))
    emit(f"cnn.k.{name}-bwd", backward_of(F.conv2d(x, w, b, padding=1), (w, b) if cin == 1 else (x, w, b)))
for name, channels, size in (("pool1", 32, 28), ("pool2", 64, 14)):
    x = torch.relu(rand(64, channels, size, size)).requires_grad_()  # after relu, as in the model
    emit(f"cnn.k.{name}-fwd", no_grad(lambda: F.max_pool2d(x, 2)))
    emit(f"cnn.k.{name}-bwd", backward_of(F.max_pool2d(x, 2), x))
fx, fw, fy, fdy = torch.rand(64, 3136), torch.rand(128, 3136), torch.empty(64, 128), torch.rand(64, 128)
fdw, fdx = torch.empty(128, 3136), torch.empty(64, 3136)


def cnn_dense():
    torch.matmul(fx, fw.t(), out=fy)
    torch.matmul(fdy.t(), fx, out=fdw)
    torch.matmul(fdy, fw, out=fdx)


emit("cnn.k.dense-fwd+bwd", cnn_dense)
