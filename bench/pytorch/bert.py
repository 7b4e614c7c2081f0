"""examples/BertClassifier/bert_classifier.model written as a PyTorch module, for the bert row of bench/compare.sh.

The same architecture layer for layer: token, segment and learned position embeddings summed, LayerNorm (eps 1e-12),
dropout; six post-LN BERT layers (self-attention with one fused q/k/v projection [3d, d] and an output projection, the
key padding mask as (1 - m)·(-10000) added to the logits, dropout on the sub-layer output, residual, LayerNorm; then
dense(1536), erf GELU, dense(384), dropout, residual, LayerNorm); the mean of the real tokens; dropout; dense(2).
Cross-entropy, AdamW (lr 2e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on every parameter, as the generated
ApplyGradients does), linear warm-up over 20 steps then linear decay, gradients clipped to a global norm of 1.

The hyperparameters are read from the .model file's config block (d, heads, ffn, layers, eps, p, ...), and the
attention's dropout on the probabilities is on exactly when the model's attention calls declare one; the training
statements too (read_training): the optimizer's lr, betas, eps and weight decay, the linear schedule's warm-up,
clip_grad_norm, `group` lines (PyTorch param_groups with their lr and weight decay) and `freeze` lines
(requires_grad=False: PyTorch then skips those gradients, which ModelDsl still computes). So the module follows the
file; compare.py then checks it against ModelDsl's own weights and losses (parameter count, shapes, logits, loss
with dropout off).
"""
import fnmatch
import math
import re

import torch
import torch.nn.functional as F
from torch import nn


def read_config(path):
    """The config block of a .model file as {name: number}, and the attention dropout probability (0 when the
    attention calls declare none)."""
    text = open(path).read()
    block = re.search(r"config\s*\{(.*?)\}", text, re.S)
    if not block:
        raise ValueError(f"{path}: no config block")
    config = {}
    for line in block.group(1).splitlines():
        m = re.match(r"\s*(\w+)\s*=\s*([-+0-9.eE]+)", line)
        if m:
            value = float(m.group(2))
            config[m.group(1)] = int(value) if value.is_integer() and "e" not in m.group(2).lower() else value
    attention_dropout = 0.0
    calls = re.findall(r"attention\(([^)]*)\)", text)
    for call in calls:
        m = re.search(r"dropout\s*=\s*([\w.]+)", call)
        if m:
            word = m.group(1)
            attention_dropout = float(config[word]) if word in config else float(word)
    return config, attention_dropout


class SelfAttention(nn.Module):
    """attention(heads, mask=m[, dropout=p]) as ModelDsl computes it: in_proj [3d, d] (q, k, v stacked) with bias,
    softmax(q·kᵀ/√dh + (1 - m)·(-10000)), dropout on the probabilities when declared, ·v, out_proj [d, d] with bias."""

    def __init__(self, d, heads, attention_dropout):
        super().__init__()
        self.heads = heads
        self.in_proj = nn.Linear(d, 3 * d)
        self.out_proj = nn.Linear(d, d)
        self.drop = nn.Dropout(attention_dropout)

    def forward(self, x, bias):
        b, t, d = x.shape
        q, k, v = self.in_proj(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))  # [B, heads, T, dh]
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads)) + bias       # bias [B, 1, 1, T]
        out = self.drop(scores.softmax(dim=-1)) @ v
        return self.out_proj(out.transpose(1, 2).contiguous().view(b, t, d))


class BertLayer(nn.Module):
    """One post-LN layer: a = LN(x + dropout(attention(x))); LN(a + dropout(ff(a)))."""

    def __init__(self, d, heads, ffn, eps, p, attention_dropout):
        super().__init__()
        # Registered in the order of the generated Parameters list: attention, its norm, feed-forward, its norm.
        self.attn = SelfAttention(d, heads, attention_dropout)
        self.attn_norm = nn.LayerNorm(d, eps=eps)
        self.ff0 = nn.Linear(d, ffn)
        self.ff2 = nn.Linear(ffn, d)
        self.ffn_norm = nn.LayerNorm(d, eps=eps)
        self.drop1 = nn.Dropout(p)
        self.drop2 = nn.Dropout(p)

    def forward(self, x, bias):
        a = self.attn_norm(x + self.drop1(self.attn(x, bias)))
        return self.ffn_norm(a + self.drop2(self.ff2(F.gelu(self.ff0(a)))))  # F.gelu: the exact erf form


class BertClassifier(nn.Module):
    """bert_classifier.model. Parameters are registered in the generated model's Parameters order, so weights written
    by ModelDsl in that order load by position (names differ: ModelDsl's l0_ff.0 is layers.0.ff0 here)."""

    def __init__(self, vocab, positions, segments, d, heads, ffn, layers, eps, p, classes, attention_dropout=0.0):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.typ = nn.Embedding(segments, d)
        self.pos = nn.Embedding(positions, d)  # learned positions, added (a module keeps the registration order)
        self.emb_norm = nn.LayerNorm(d, eps=eps)
        self.drop = nn.Dropout(p)
        self.layers = nn.ModuleList(BertLayer(d, heads, ffn, eps, p, attention_dropout) for _ in range(layers))
        self.head_drop = nn.Dropout(p)
        self.head = nn.Linear(d, classes)
        # bert_classifier.model's init: N(0, 0.02) everywhere, zero biases, layer norms at one.
        for name, param in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(param)
            elif "norm" in name:
                nn.init.ones_(param)
            else:
                nn.init.normal_(param, std=0.02)

    def forward(self, ids, segment, mask):
        t = ids.shape[1]
        h = self.drop(self.emb_norm(self.tok(ids) + self.typ(segment) + self.pos.weight[:t]))
        m = mask.to(h.dtype)
        bias = ((1.0 - m) * -10000.0)[:, None, None, :]                   # [B, 1, 1, T]
        for layer in self.layers:
            h = layer(h, bias)
        pooled = (h * m[:, :, None]).sum(1) / m.sum(1, keepdim=True)      # the mean of the real tokens
        return self.head(self.head_drop(pooled))


def build(model_path):
    """The module for the .model file at model_path, and its attention dropout."""
    config, attention_dropout = read_config(model_path)
    keys = ("vocab", "positions", "segments", "d", "heads", "ffn", "layers", "eps", "p", "classes")
    missing = [k for k in keys if k not in config]
    if missing:
        raise ValueError(f"{model_path}: config lacks {', '.join(missing)} (bench/pytorch/bert.py reads them)")
    return BertClassifier(**{k: config[k] for k in keys}, attention_dropout=attention_dropout), config, attention_dropout


def _options(text):
    """'lr=2e-5, betas=(0.9, 0.95), weight_decay=0.01' -> {'lr': 2e-05, 'betas': (0.9, 0.95), ...}."""
    options = {}
    for m in re.finditer(r"(\w+)\s*=\s*(\([^)]*\)|[^,\s)]+)", text):
        value = m.group(2)
        options[m.group(1)] = (tuple(float(v) for v in value.strip("()").split(",")) if value.startswith("(")
                               else float(value))
    return options


def read_training(path):
    """The training statements of a .model file: optimizer (adamw only), schedule, clip, groups, freeze."""
    text = re.sub(r"//[^\n]*", "", open(path).read())
    opt = re.search(r"^\s*optimizer\s+(\w+)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)", text, re.M)
    if not opt or opt.group(1) != "adamw":
        raise ValueError(f"{path}: bench/pytorch/bert.py models an adamw optimizer, found {opt.group(1) if opt else 'none'}")
    schedule = re.search(r"^\s*schedule\s+(\w+)\s*\(([^)]*)\)", text, re.M)
    if schedule and schedule.group(1) != "linear":
        raise ValueError(f"{path}: bench/pytorch/bert.py models schedule linear, found {schedule.group(1)}")
    clip = re.search(r"^\s*clip_grad_norm\s*\(\s*([^)\s]+)\s*\)", text, re.M)
    groups = [(m.group(1), _options(m.group(2)), [q.strip() for q in m.group(3).split(",") if q.strip()])
              for m in re.finditer(r"^\s*group\s+(\w+)\s*\(([^)]*)\)\s*(.+)$", text, re.M)]
    frozen = [q.strip() for m in re.finditer(r"^\s*freeze\s+(.+)$", text, re.M) for q in m.group(1).split(",") if q.strip()]
    return {
        "optimizer": _options(opt.group(2)),
        "warmup": int(_options(schedule.group(2)).get("warmup", 0)) if schedule else None,
        "clip": float(clip.group(1)) if clip else None,
        "groups": groups, "frozen": frozen,
    }


def matches(name, pattern):
    """freeze's and group's patterns (docs/language.md): a full name, a layer or block path, '*' any run."""
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, pattern + ".*")


def optimizer(model, names, training, total=1_000_000):
    """AdamW with the model's param groups and frozen parameters (matched on ModelDsl's names, in Parameters order),
    and the linear schedule (transformers' get_linear_schedule_with_warmup, as ModelDsl's Schedules.Linear; TotalSteps
    as bench/TrainStepBench sets it). Returns the optimizer, the schedule (None without one) and the trained params."""
    o = training["optimizer"]
    lr, wd = o.get("lr", 1e-3), o.get("weight_decay", 0.01)
    betas, eps = o.get("betas", (0.9, 0.999)), o.get("eps", 1e-8)
    buckets = {None: []}
    buckets.update({g[0]: [] for g in training["groups"]})
    trained = []
    for name, param in zip(names, model.parameters()):
        if any(matches(name, q) for q in training["frozen"]):
            param.requires_grad_(False)
            continue
        group = next((g[0] for g in training["groups"] if any(matches(name, q) for q in g[2])), None)
        buckets[group].append(param)
        trained.append(param)
    param_groups = [{"params": buckets[None]}] + [
        {"params": buckets[g], "lr": opts.get("lr", lr), "weight_decay": opts.get("weight_decay", wd)}
        for g, opts, _ in training["groups"] if buckets[g]]
    opt = torch.optim.AdamW([g for g in param_groups if g["params"]], lr=lr, betas=betas, eps=eps, weight_decay=wd)
    warmup = training["warmup"]
    schedule = None if warmup is None else torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / warmup if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    return opt, schedule, trained


def read_check(folder):
    """bench/TrainStepBench's bert.txt and bert.params (BertBench.WriteCheck): shapes, inputs, losses and weights."""
    lines = {}
    params = []
    for line in open(f"{folder}/bert.txt"):
        key, _, rest = line.rstrip("\n").partition(" ")
        if key == "param":
            name, shape = rest.split(" ")
            params.append((name, [int(s) for s in shape.split(",")]))
        else:
            lines[key] = rest
    with open(f"{folder}/bert.params", "rb") as f:
        values = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)  # little-endian float32, as BinaryWriter writes
    return lines, params, values


def load_check(model, folder):
    """Copies ModelDsl's weights into model by position, after checking counts and shapes; returns the inputs and
    ModelDsl's losses as a dict."""
    lines, params, values = read_check(folder)
    mine = list(model.parameters())
    count = sum(p.numel() for p in mine)
    total = int(lines["parameters"].split()[1])
    if len(mine) != len(params) or count != total:
        raise ValueError(f"bert: PyTorch module has {len(mine)} tensors, {count} parameters; ModelDsl has "
                         f"{len(params)} tensors, {total} parameters")
    offset = 0
    with torch.no_grad():
        for p, (name, shape) in zip(mine, params):
            if list(p.shape) != shape:
                raise ValueError(f"bert: parameter {name} is {shape} in ModelDsl, {list(p.shape)} in the PyTorch module")
            n = p.numel()
            p.copy_(values[offset:offset + n].view(*shape))
            offset += n
    if offset != values.numel():
        raise ValueError(f"bert: bert.params holds {values.numel()} values, the parameters {offset}")
    b, t = (int(v) for v in lines["batch"].split())

    def ints(key, *shape):
        return torch.tensor([int(v) for v in lines[key].split()], dtype=torch.long).view(*shape)

    return {
        "count": count, "tensors": len(mine), "names": [name for name, _ in params],
        "ids": ints("ids", b, t), "segment": ints("segment", b, t), "mask": ints("mask", b, t),
        "padded_ids": ints("padded_ids", b, t), "padded_mask": ints("padded_mask", b, t), "labels": ints("labels", b),
        "loss": float(lines["loss"]), "padded_loss": float(lines["padded_loss"]),
        "logits": torch.tensor([float(v) for v in lines["logits"].split()]).view(b, -1),
        "padded_logits": torch.tensor([float(v) for v in lines["padded_logits"].split()]).view(b, -1),
    }
