#!/usr/bin/env bash
# Rebuilds the Fashion-MNIST sample in this folder from the full data set.
#
#   apt-get install -y dataset-fashion-mnist      # Debian: /usr/share/datasets/fashion-mnist/*.gz
#   examples/FashionMnist/sample/make_sample.sh [SOURCE_FOLDER]
#
# Stratified and deterministic: the first 200 images of each class from the training set (2000) and the first
# 50 of each class from the test set (500), kept in their original order. Output is gzipped IDX with the
# standard names; gzip's timestamp is fixed at 0 so a rerun produces byte-identical files.
# Needs only python3's standard library.
set -euo pipefail
src="${1:-/usr/share/datasets/fashion-mnist}"
out="$(cd "$(dirname "$0")" && pwd)"

python3 - "$src" "$out" <<'PY'
import gzip, os, struct, sys

src, out = sys.argv[1], sys.argv[2]

def read_idx(name):
    for candidate in (name + ".gz", name):
        path = os.path.join(src, candidate)
        if os.path.exists(path):
            raw = open(path, "rb").read()
            return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    sys.exit(f"{name}[.gz] not found in {src}")

def write_idx(name, rank_dims, payload):
    header = bytes([0, 0, 0x08, len(rank_dims)]) + b"".join(struct.pack(">i", d) for d in rank_dims)
    # mtime=0 and no file name in the gzip header keep the output reproducible.
    with open(os.path.join(out, name + ".gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0, filename="") as z:
            z.write(header + payload)

def subset(prefix, per_class):
    images = read_idx(f"{prefix}-images-idx3-ubyte")
    labels = read_idx(f"{prefix}-labels-idx1-ubyte")
    n, rows, cols = struct.unpack(">iii", images[4:16])
    size = rows * cols
    taken, counts = [], [0] * 10
    for i, label in enumerate(labels[8:8 + n]):
        if counts[label] < per_class:
            counts[label] += 1
            taken.append(i)
    write_idx(f"{prefix}-images-idx3-ubyte", [len(taken), rows, cols],
              b"".join(images[16 + i * size:16 + (i + 1) * size] for i in taken))
    write_idx(f"{prefix}-labels-idx1-ubyte", [len(taken)], bytes(labels[8 + i] for i in taken))
    print(f"{prefix}: {len(taken)} of {n} images, per class {counts}")

subset("train", 200)
subset("t10k", 50)
PY
