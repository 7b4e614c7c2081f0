"""The PyTorch half of bench/compare.sh --kernels: the ops an eager PyTorch step of the CNN and GPT of compare.py runs,
each alone at the models' shapes, beside bench/TrainStepBench --kernels (same row names, BENCH format, timing method).
    gpt.k.*  one Transformer block at B·T = 1024, d 128 (the model has 4), plus the loss over [1024, 96]
    cnn.k.*  the Fashion CNN's layers at batch 64
    bert.k.* one layer of bench/pytorch/bert.py at B·T = 2048 (d 384, 12 heads, ffn 1536): each GEMM shape, attention
             with the key padding mask, erf gelu, layer_norm (eps 1e-12)
Backward rows use torch.autograd.grad on a retained graph: the backward kernels alone, as loss.backward() runs them.
GEMM rows use torch.matmul(..., out=) at the shapes nn.Linear's forward and backward issue.

    python3 bench/pytorch/kernels.py [--threads N] [--filter TEXT]   (only the rows whose name contains TEXT)
"""
import argparse
import math
import os

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--filter", default="")
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
    if args.filter not in name:
        return
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

# ── BERT: one layer at B = 16, T = 128 (B·T = 2048), d 384, 12 heads, ffn 1536 ─────────────────────────────────────────
bn, bd, bff = 2048, 384, 1536
for name, o, i in (("qkv", 3 * bd, bd), ("out", bd, bd), ("ff0", bff, bd), ("ff2", bd, bff)):
    x, w, y, dy = torch.rand(bn, i) - 0.5, torch.rand(o, i) - 0.5, torch.empty(bn, o), torch.rand(bn, o) - 0.5
    dw, dx = torch.empty(o, i), torch.empty(bn, i)
    emit(f"bert.k.{name}-fwd", lambda x=x, w=w, y=y: torch.matmul(x, w.t(), out=y))
    emit(f"bert.k.{name}-dx", lambda dy=dy, w=w, dx=dx: torch.matmul(dy, w, out=dx))
    emit(f"bert.k.{name}-dw", lambda dy=dy, x=x, dw=dw: torch.matmul(dy.t(), x, out=dw))

bert_bias = torch.zeros(16, 1, 1, 128)  # (1 - mask)·(-10000) with every token real, as bert.py adds it


def bert_attention(qkv):
    """bench/pytorch/bert.py's SelfAttention between the projections: [16, 128, 3d] -> [16, 128, d]."""
    q, k, v = qkv.split(bd, dim=2)
    q, k, v = (z.view(16, 128, 12, 32).transpose(1, 2) for z in (q, k, v))
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(32)) + bert_bias
    return (scores.softmax(dim=-1) @ v).transpose(1, 2).contiguous().view(16, 128, bd)


bqkv = rand(16, 128, 3 * bd, grad=True)
bpre = rand(bn, bff, grad=True)
bln_x, bln_w, bln_b = rand(bn, bd, grad=True), rand(bd, grad=True), rand(bd, grad=True)
emit("bert.k.attention-fwd", no_grad(lambda: bert_attention(bqkv)))
emit("bert.k.attention-bwd", backward_of(bert_attention(bqkv), bqkv))
emit("bert.k.gelu-fwd", no_grad(lambda: F.gelu(bpre)))
emit("bert.k.gelu-bwd", backward_of(F.gelu(bpre), bpre))
emit("bert.k.layer_norm-fwd", no_grad(lambda: F.layer_norm(bln_x, (bd,), bln_w, bln_b, 1e-12)))
emit("bert.k.layer_norm-bwd", backward_of(F.layer_norm(bln_x, (bd,), bln_w, bln_b, 1e-12), (bln_x, bln_w, bln_b)))
