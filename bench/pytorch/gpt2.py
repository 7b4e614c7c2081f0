"""The PyTorch half of bench/gpu_compare.sh's gpt2 row: bench/models/gpt2_small.model (GPT-2 124M) written as a PyTorch
module of the same architecture, trained on the same kind of batch in three configurations:
    eager-fp32    eager mode, FP32, TF32 off (torch.backends.cuda.matmul.allow_tf32 = False)
    eager-bf16    eager mode, torch.autocast(dtype=torch.bfloat16) around forward and loss (FP32 weights and AdamW)
    compile-bf16  torch.compile(model) under the same autocast (PyTorch 2.x; else a GPT2SKIP line says why)
Method, the same as bench/GpuBench/Gpt2Rows.cs: fixed random ids and targets uniform over the vocabulary, `warmup`
steps untimed, `steps` timed one by one; a step is zero_grad, forward, cross-entropy over every token, backward, AdamW
step and loss.item() (so it ends synchronised, as ModelDsl's TrainStep, which returns the loss). Peak memory is
torch.cuda.max_memory_allocated from before the model is made to after the last step (on the CPU: not measured).
One line per configuration, read by bench/pytorch/gpt2_table.py:
    GPT2<TAB>pytorch<TAB>row.config<TAB>batch<TAB>T<TAB>parameters<TAB>layers<TAB>heads<TAB>head_dim<TAB>
        median_ms<TAB>min_ms<TAB>max_ms<TAB>peak_bytes (or -)<TAB>first_loss<TAB>last_loss
    GPT2SKIP<TAB>pytorch<TAB>row.config<TAB>reason     (not available here, or failed: the error)

    python3 bench/pytorch/gpt2.py [--device cuda|cpu] [--row gpt2-124m|gpt2-check] [--batch 8] [--warmup 3] [--steps 10]

Rows: gpt2-124m is gpt2_small.model (vocabulary 50,257, T = 1024, d = 768, 12 heads, 12 layers); gpt2-check is
bench/models/gpt2_check.model (512, 64, 128, 2, 2), the sizes gpu_compare.sh --check runs on the CPU. Works with
PyTorch 1.13 (no torch.compile, no scaled_dot_product_attention: the attention is then written out) and 2.x.
"""
import argparse
import math
import sys
import time

ROWS = {
    # name: (vocab, context, d, heads, layers, dropout) as in the .model file's config
    "gpt2-124m": (50257, 1024, 768, 12, 12, 0.1),
    "gpt2-check": (512, 64, 128, 2, 2, 0.1),
}

parser = argparse.ArgumentParser()
parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda")
parser.add_argument("--row", choices=sorted(ROWS), default="gpt2-124m")
parser.add_argument("--batch", type=int, default=8)
parser.add_argument("--warmup", type=int, default=3)
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--configs", default="eager-fp32,eager-bf16,compile-bf16")
args = parser.parse_args()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

device = torch.device(args.device)
if device.type == "cuda" and not torch.cuda.is_available():
    sys.exit("gpt2.py: --device cuda, but torch.cuda.is_available() is False")
sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
# FP32 means FP32 in every configuration's master weights, and in eager-fp32 its GEMMs too (ModelDsl's FP32 row
# multiplies in FP32; its TF32 row is the one with tensor-core GEMMs).
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


class CausalSelfAttention(nn.Module):
    """attention(heads, causal=true) as ModelDsl lowers it: one fused in_proj [3d, d] with bias, softmax(q·kᵀ/√dh)
    with a causal mask, out_proj [d, d] with bias; no dropout on the attention weights. On PyTorch 2 through
    F.scaled_dot_product_attention (its flash kernels in BF16), as a user of PyTorch 2 writes it."""

    def __init__(self, d, heads, context):
        super().__init__()
        self.heads = heads
        self.in_proj = nn.Linear(d, 3 * d)
        self.out_proj = nn.Linear(d, d)
        if not HAS_SDPA:
            self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)), persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.in_proj(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))  # [B, heads, T, dh]
        if HAS_SDPA:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
            scores = scores.masked_fill(~self.mask[:t, :t], float("-inf"))
            out = scores.softmax(dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).contiguous().view(b, t, d))


class Block(nn.Module):
    """TransformerBlock of gpt2_small.model: r = x + dropout(attention(layer_norm(x)));
    r + dropout(dense(d)(gelu_tanh(dense(4d)(layer_norm(r)))))."""

    def __init__(self, d, heads, context, p):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, context)
        self.drop1 = nn.Dropout(p)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)
        self.drop2 = nn.Dropout(p)

    def forward(self, x):
        r = x + self.drop1(self.attn(self.ln1(x)))
        return r + self.drop2(self.proj(F.gelu(self.fc(self.ln2(r)), approximate="tanh")))


class Gpt2(nn.Module):
    """Gpt2Small: token embedding + learned positions, dropout, the blocks, layer_norm, and an output projection tied to
    the token embedding (no bias). Initialised as the generated Initialize() does (embeddings N(0, 0.02), attention
    projections Xavier-uniform, biases zero, the MLP weights nn.Linear's Kaiming-uniform): the same starting loss."""

    def __init__(self, vocab, context, d, heads, layers, p):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(context, d) * 0.02)
        self.drop = nn.Dropout(p)
        self.blocks = nn.Sequential(*(Block(d, heads, context, p) for _ in range(layers)))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight  # tied
        nn.init.normal_(self.tok.weight, std=0.02)
        for block in self.blocks:
            nn.init.xavier_uniform_(block.attn.in_proj.weight)
            nn.init.xavier_uniform_(block.attn.out_proj.weight)
            for linear in (block.attn.in_proj, block.attn.out_proj, block.fc, block.proj):
                nn.init.zeros_(linear.bias)

    def forward(self, idx):
        t = idx.shape[1]
        h = self.drop(self.tok(idx) + self.pos[:t])
        return self.head(self.ln(self.blocks(h)))  # [B, T, vocab]


def run(config):
    vocab, context, d, heads, layers, p = ROWS[args.row]
    name = f"{args.row}.{config}"
    compiled = config.startswith("compile")
    if compiled and not hasattr(torch, "compile"):
        print(f"GPT2SKIP\tpytorch\t{name}\ttorch.compile needs PyTorch 2.x (this is {torch.__version__})", flush=True)
        return
    bf16 = config.endswith("bf16")
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(1)
    model = Gpt2(vocab, context, d, heads, layers, p).to(device)
    parameters = sum(t.numel() for t in model.parameters())  # the tied weight once
    # AdamW as the .model file declares it, weight decay on every parameter as the generated optimizer does; the fused
    # CUDA implementation where this PyTorch has it (one launch for all parameters, as ModelDsl's).
    fused = {"fused": True} if device.type == "cuda" and "fused" in torch.optim.AdamW.__init__.__code__.co_varnames else {}
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1, **fused)
    forward = torch.compile(model) if compiled else model
    generator = torch.Generator().manual_seed(2)
    idx = torch.randint(0, vocab, (args.batch, context), generator=generator).to(device)
    targets = torch.randint(0, vocab, (args.batch, context), generator=generator).to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = forward(idx)
            loss = F.cross_entropy(logits.view(-1, vocab).float(), targets.view(-1))
        loss.backward()
        opt.step()
        return loss.item()

    first = last = float("nan")
    for i in range(args.warmup):
        last = step()
        if i == 0:
            first = last
    times = []
    for _ in range(args.steps):
        sync()
        t0 = time.perf_counter()
        last = step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    peak = str(torch.cuda.max_memory_allocated()) if device.type == "cuda" else "-"
    fields = ["GPT2", "pytorch", name, args.batch, context, parameters, layers, heads, d // heads,
              f"{times[len(times) // 2]:.3f}", f"{times[0]:.3f}", f"{times[-1]:.3f}", peak, f"{first:.3f}", f"{last:.3f}"]
    print("\t".join(str(f) for f in fields), flush=True)
    del model, opt, forward


print(f"INFO\tpytorch\tgpt2: torch {torch.__version__}, device "
      f"{torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, "
      f"attention {'F.scaled_dot_product_attention' if HAS_SDPA else 'written out (no scaled_dot_product_attention)'}", flush=True)
for configuration in args.configs.split(","):
    # One failing configuration (torch.compile without a working compiler toolchain, out of memory) must not cost the
    # others of a one-shot GPU run: it prints a GPT2SKIP line with the error, and the table shows it.
    try:
        run(configuration)
    except Exception as error:  # noqa: BLE001
        reason = f"{type(error).__name__}: {error}".replace("\t", " ").replace("\n", " ")[:300]
        print(f"GPT2SKIP\tpytorch\t{args.row}.{configuration}\tfailed: {reason}", flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
