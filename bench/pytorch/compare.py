"""The PyTorch half of bench/compare.sh (CPU) and bench/gpu_compare.sh (CUDA): the same models, shapes, optimizers and
timing method as bench/TrainStepBench --compare and bench/GpuBench, printing the same machine-readable lines:
    BENCH<TAB>pytorch<TAB>name<TAB>unit<TAB>median<TAB>min<TAB>max
    INFO<TAB>pytorch<TAB>text
unit "us" (per call, lower is better) or "gflops" (higher is better).
Method: warm-up (>= 0.3 s and 10 calls), then 7 repetitions of a block of calls sized to ~0.25 s; the median block.
On cuda every timed block (and the warm-up) ends with torch.cuda.synchronize(), so queued kernels are counted.

    python3 bench/pytorch/compare.py [--threads N] [--device cpu|cuda] [--models mlp,small,cnn,gpt,sgemm,bert] [--no-tf32]
                                     [--bert-check FOLDER]

Rows of every model m: m (training step: zero_grad, forward, loss, backward, optimizer step; no .item()), on cuda
m.host (the same step with the batch copied from host memory and the loss read back, as ModelDsl's TrainStep),
m.forward (no_grad, eval mode: dropout off), m.fwd+bwd (zero_grad, forward, loss, backward) and m.opt (the
optimizer step alone). The mlp adds inference rows (predict = forward + argmax; -b1 = batch 1) and its 8 GEMMs.
Models: eager nn modules as a user writes them (no torch.compile); the CNN and GPT are examples/FashionMnist/
fashion_cnn.model and examples/CharGpt/char_gpt.model, layer for layer. Works with PyTorch 1.13 (Debian) and 2.x.
The bert row (bench/pytorch/bert.py: examples/BertClassifier/bert_classifier.model) loads ModelDsl's weights from
--bert-check (the folder bench/TrainStepBench wrote, MODELDSL_BENCH_BERT_CHECK) and requires the same parameter count
and the same losses with dropout off before it is timed; without that folder it refuses to run.
"""
import argparse
import math
import os
import sys

MODELS = ("mlp", "small", "cnn", "gpt", "sgemm", "bert")

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
parser.add_argument("--models", default="", help="comma list of " + ",".join(MODELS) + " (default: all)")
parser.add_argument("--bert-check", default="",
                    help="folder with ModelDsl's bert weights, inputs and losses (bench/TrainStepBench --compare writes it)")
parser.add_argument("--no-tf32", action="store_true",
                    help="cuda: turn TF32 off for matmul and cuDNN (PyTorch's defaults: off for matmul, on for cuDNN)")
args = parser.parse_args()
only = {m for m in args.models.split(",") if m}
unknown = only - set(MODELS)
if unknown:
    parser.error(f"unknown model(s) {','.join(sorted(unknown))}; expected {','.join(MODELS)}")
# Pin every pool (ATen/OpenMP and the BLAS) to the same count before torch loads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import copy  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
import timing  # noqa: E402  (bench/pytorch/timing.py, beside this file)
from timing import emit  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(1)
device = torch.device(args.device)
if device.type == "cuda" and not torch.cuda.is_available():
    sys.exit("compare.py: --device cuda, but torch.cuda.is_available() is False")
sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
if args.no_tf32:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False



def timed(call):
    """timing.timed, draining the device on cuda."""
    return timing.timed(call, sync)


def gflops(flops, seconds):
    return [flops / s / 1e9 for s in seconds]


def uniform(*shape):
    return torch.rand(*shape, device=device)


def classes(rows, count):
    """Row i is class i mod count."""
    return torch.arange(rows, device=device) % count


def check_forward(name, model, inputs):
    """The eval-mode forward against the same model in float64 on the CPU: a wrong fast kernel must not win. Exits on
    a relative error (max |y - y64| / max |y64|) above 1e-4."""
    model.eval()
    with torch.no_grad():
        y = model(inputs).double().cpu()
        ref = copy.deepcopy(model).cpu().double()
        x64 = inputs.cpu().double() if inputs.is_floating_point() else inputs.cpu()
        y64 = ref(x64)
    error = ((y - y64).abs().max() / y64.abs().max()).item()
    timing.info(f"{name}: eval forward max |y - y_float64| / max |y_float64| = {error:.3g}")
    if not error <= 1e-4:
        sys.exit(f"compare.py: {name}'s forward differs from the float64 reference by {error:.3g}; not reporting its speed")
    model.train()


def training_rows(name, model, opt, inputs, targets, loss_fn):
    """The four rows of a model: step, forward (eval, no_grad), fwd+bwd, optimizer step alone."""
    model.to(device).train()
    check_forward(name, model, inputs)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        opt.step()

    def fwd_bwd():
        opt.zero_grad()
        loss_fn(model(inputs), targets).backward()

    def forward():
        with torch.no_grad():
            model(inputs)

    emit(name, "us", timed(step))
    if device.type == "cuda":
        # As ModelDsl's GPU TrainStep is timed (bench/GpuBench): the batch comes from host memory, the loss goes back.
        host_inputs, host_targets = inputs.cpu(), targets.cpu()

        def step_host():
            opt.zero_grad()
            loss = loss_fn(model(host_inputs.to(device)), host_targets.to(device))
            loss.backward()
            opt.step()
            return loss.item()

        emit(name + ".host", "us", timed(step_host))
    model.eval()
    emit(name + ".forward", "us", timed(forward))
    model.train()
    emit(name + ".fwd+bwd", "us", timed(fwd_bwd))
    emit(name + ".opt", "us", timed(opt.step))


def mlp(widths):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def bench_mlp():
    """MLP 784-256-256-10, batch 128, ReLU, cross-entropy, Adam(lr 1e-3); inference rows; its 8 GEMMs."""
    model = mlp([784, 256, 256, 10]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = uniform(128, 784)
    y = classes(128, 10)
    training_rows("mlp", model, opt, x, y, nn.CrossEntropyLoss())
    # Inference as ModelDsl's Predict and ONNX Runtime are timed: the argmax of each row, at batch 128 and 1.
    x1 = x[:1].clone()

    def predict(inputs):
        with torch.no_grad():
            model(inputs).argmax(1)

    def forward1():
        with torch.no_grad():
            model(x1)

    emit("mlp.predict", "us", timed(lambda: predict(x)))
    emit("mlp.forward-b1", "us", timed(forward1))
    emit("mlp.predict-b1", "us", timed(lambda: predict(x1)))

    # The 8 GEMMs of one MLP step (Y = X·Wᵀ, dW = dYᵀ·X, dX = dY·W), as nn.Linear issues them.
    gemms = []
    widths = [784, 256, 256, 10]
    for l in range(3):
        i, o = widths[l], widths[l + 1]
        X, W, dY = uniform(128, i), uniform(o, i), uniform(128, o)
        Y, dW, dX = (torch.empty(*s, device=device) for s in ((128, o), (o, i), (128, i)))
        gemms.append(lambda X=X, W=W, Y=Y: torch.matmul(X, W.t(), out=Y))
        gemms.append(lambda X=X, dY=dY, dW=dW: torch.matmul(dY.t(), X, out=dW))
        if l > 0:
            gemms.append(lambda W=W, dY=dY, dX=dX: torch.matmul(dY, W, out=dX))

    def all_gemms():
        for g in gemms:
            g()

    emit("mlp.gemms", "us", timed(all_gemms))


def bench_small():
    """10-64-64-1, batch 32, BCE with logits, Adam(lr 1e-3)."""
    model = mlp([10, 64, 64, 1]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = uniform(32, 10)
    y = (torch.arange(32, device=device) % 2).float().reshape(32, 1)
    training_rows("small", model, opt, x, y, nn.BCEWithLogitsLoss())


def bench_cnn():
    """examples/FashionMnist/fashion_cnn.model at batch 64, cross-entropy, Adam(lr 1e-3)."""
    model = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # [B, 32, 14, 14]
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # [B, 64, 7, 7]
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    training_rows("cnn", model, opt, uniform(64, 1, 28, 28), classes(64, 10), nn.CrossEntropyLoss())


class CausalSelfAttention(nn.Module):
    """attention(heads, causal=true) as ModelDsl lowers it: one fused in_proj [3d, d] with bias, softmax(q·kᵀ/√dh)
    with a causal mask, out_proj [d, d] with bias; no dropout on the attention weights."""

    def __init__(self, d, heads, context):
        super().__init__()
        self.heads = heads
        self.in_proj = nn.Linear(d, 3 * d)
        self.out_proj = nn.Linear(d, d)
        self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.in_proj(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))  # [B, heads, T, dh]
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
        scores = scores.masked_fill(~self.mask[:t, :t], float("-inf"))
        out = scores.softmax(dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).contiguous().view(b, t, d))


class TransformerBlock(nn.Module):
    """char_gpt.model's block: r = x + dropout(attention(layer_norm(x))); r + dropout(mlp(layer_norm(r)))."""

    def __init__(self, d, heads, context, p):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, context)
        self.drop1 = nn.Dropout(p)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d), nn.Dropout(p))

    def forward(self, x):
        r = x + self.drop1(self.attn(self.ln1(x)))
        return r + self.mlp(self.ln2(r))


class CharGpt(nn.Module):
    """examples/CharGpt/char_gpt.model: token embedding + learned positions, dropout, 4 blocks, layer_norm, and an
    output projection tied to the token embedding (no bias)."""

    def __init__(self, vocab=96, context=64, d=128, heads=4, layers=4, p=0.1):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(context, d) * 0.02)
        self.drop = nn.Dropout(p)
        self.blocks = nn.Sequential(*(TransformerBlock(d, heads, context, p) for _ in range(layers)))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight  # tied
        # The generated Initialize(): embeddings N(0, 0.02), attention projections Xavier-uniform, biases zero (the
        # MLP weights keep nn.Linear's Kaiming-uniform). Same starting loss (ln 96), so both sides train alike.
        nn.init.normal_(self.tok.weight, std=0.02)
        for block in self.blocks:
            nn.init.xavier_uniform_(block.attn.in_proj.weight)
            nn.init.xavier_uniform_(block.attn.out_proj.weight)
            for linear in (block.attn.in_proj, block.attn.out_proj, block.mlp[0], block.mlp[2]):
                nn.init.zeros_(linear.bias)

    def forward(self, idx):
        t = idx.shape[1]
        h = self.drop(self.tok(idx) + self.pos[:t])
        return self.head(self.ln(self.blocks(h)))  # [B, T, vocab]


def bench_gpt():
    """CharGpt at batch 16, T = 64, per-token cross-entropy, AdamW(lr 1e-3, betas (0.9, 0.95), weight decay 0.1 on
    every parameter, as the generated ApplyGradients does)."""
    model = CharGpt().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    idx = torch.randint(0, 96, (16, 64), device=device)
    targets = torch.randint(0, 96, (16, 64), device=device)

    def loss_fn(logits, y):
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))

    training_rows("gpt", model, opt, idx, targets, loss_fn)


def bench_sgemm():
    """SGEMM 1024x1024x1024, C = A·B (on cuda: FP32, TF32 as PyTorch's default leaves it)."""
    n = 1024
    a, b, c = uniform(n, n) - 0.5, uniform(n, n) - 0.5, torch.empty(n, n, device=device)
    seconds = timed(lambda: torch.matmul(a, b, out=c))
    c64 = a.double().cpu() @ b.double().cpu()
    error = ((c.double().cpu() - c64).abs().max() / c64.abs().max()).item()
    timing.info(f"sgemm-1024: max |C - C_float64| / max |C_float64| = {error:.3g}")
    if not error <= 1e-5:
        sys.exit(f"compare.py: sgemm-1024 differs from the float64 reference by {error:.3g}; not reporting its speed")
    emit("sgemm-1024", "gflops", gflops(2.0 * n ** 3, seconds))


def bench_bert():
    """examples/BertClassifier/bert_classifier.model at B=16, T=128, all tokens real: one fine-tuning step (zero_grad,
    forward with dropout, cross-entropy, backward, clip_grad_norm_, AdamW step, schedule step, each as the model file
    declares them), on ModelDsl's weights after the check below."""
    import bert  # noqa: E402  (bench/pytorch/bert.py)
    if not args.bert_check:
        sys.exit("compare.py: the bert row needs --bert-check FOLDER (ModelDsl's weights and losses, written by "
                 "bench/TrainStepBench --compare with MODELDSL_BENCH_BERT_CHECK=FOLDER); bench/compare.sh passes it")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    model_file = os.path.join(root, "examples/BertClassifier/bert_classifier.model")
    model, config, attention_dropout = bert.build(model_file)
    training = bert.read_training(model_file)
    check = bert.load_check(model, args.bert_check)
    model.to(device)
    inputs = [check[k].to(device) for k in ("ids", "segment", "mask")]
    padded = [check[k].to(device) for k in ("padded_ids", "segment", "padded_mask")]
    labels = check["labels"].to(device)
    # The check: with dropout off, the logits and loss on ModelDsl's weights equal ModelDsl's, on the timed batch and
    # on a padded one (the mask in attention and pooling); this process runs the BLAS at full width, so the check
    # covers that configuration. The logits carry it (at initialisation the loss is near ln 2 whatever the encoder).
    # Tolerance 1e-5: float32 differences between the two are ~1e-6; tanh-GELU in place of erf gives 7e-5 here.
    model.eval()
    with torch.no_grad():
        for name, batch, key in (("all real", inputs, ""), ("padded", padded, "padded_")):
            logits = model(*batch).cpu()
            loss = F.cross_entropy(logits, labels.cpu()).item()
            expected = check[key + "logits"]
            error = ((logits - expected).abs().max() / expected.abs().max()).item()
            loss_error = abs(loss - check[key + "loss"]) / abs(check[key + "loss"])
            timing.info(f"bert: dropout off, ModelDsl's weights, {name}: max |logits - modeldsl's| / max |modeldsl's| "
                        f"= {error:.2g}; loss pytorch {loss:.7g}, modeldsl {check[key + 'loss']:.7g}")
            if not (error <= 1e-5 and loss_error <= 1e-5):
                sys.exit(f"compare.py: bert ({name}) differs from ModelDsl: logits by {error:.3g}, loss by "
                         f"{loss_error:.3g} (relative); the module does not match bert_classifier.model; not "
                         f"reporting its speed")
    timing.info(f"bert: {check['count']} parameters in {check['tensors']} tensors, as ModelDsl's; dropout "
                f"p={config['p']}, attention dropout {attention_dropout}; B={labels.shape[0]} T={inputs[0].shape[1]}")
    model.train()
    opt, schedule, trained = bert.optimizer(model, check["names"], training)
    timing.info(f"bert: {training['optimizer']}, warm-up {training['warmup']}, clip {training['clip']}, "
                f"{len(trained)} of {check['tensors']} tensors trained, groups "
                f"{[(g[0], g[1]) for g in training['groups']] or 'none'}, frozen {training['frozen'] or 'none'}")

    def step():
        opt.zero_grad()
        F.cross_entropy(model(*inputs), labels).backward()
        if training["clip"] is not None:
            torch.nn.utils.clip_grad_norm_(trained, training["clip"])
        opt.step()
        if schedule is not None:
            schedule.step()

    emit("bert", "us", timed(step))


info = f"threads={torch.get_num_threads()} torch={torch.__version__} python={sys.version.split()[0]} device={device.type}"
if device.type == "cuda":
    info += (f" gpu={torch.cuda.get_device_name(0)} cuda={torch.version.cuda}"
             f" tf32_matmul={torch.backends.cuda.matmul.allow_tf32} tf32_cudnn={torch.backends.cudnn.allow_tf32}")
print(f"INFO\tpytorch\t{info}", flush=True)
if device.type == "cpu":
    timing.info(timing.blas_info())

for name, bench in (("mlp", bench_mlp), ("small", bench_small), ("cnn", bench_cnn), ("gpt", bench_gpt),
                    ("sgemm", bench_sgemm), ("bert", bench_bert)):
    if not only or name in only:
        bench()
