#!/usr/bin/env bash
# Rebuilds the fortunes sample in this folder from Debian's fortunes package.
#
#   apt-get install -y fortunes                    # Debian: /usr/share/games/fortunes/*
#   examples/TextLstm/sample/make_sample.sh [SOURCE_FOLDER]
#
# For each of the four files the text examples classify (FortuneClassification.DefaultClasses), keeps 300 fortunes
# spread evenly over the file (fortune i*n/300 of its n, for i = 0..299), as they are: same file name, same text
# (overstrikes included), each fortune followed by a "%" line as in the Debian files. Deterministic, so a rerun reproduces the files byte for byte. Needs only python3.
set -euo pipefail
src="${1:-/usr/share/games/fortunes}"
out="$(cd "$(dirname "$0")" && pwd)"

python3 - "$src" "$out" <<'PY'
import os, sys

src, out = sys.argv[1], sys.argv[2]
files = ["computers", "men-women", "songs-poems", "zippy"]
per_file = 300

for name in files:
    path = os.path.join(src, name)
    if not os.path.exists(path):
        sys.exit(f"{name} not found in {src}")
    raw = open(path, "rb").read()
    # Fortunes are the runs of lines between lines that hold only "%"; blank runs are not fortunes.
    fortunes, current = [], []
    for line in raw.split(b"\n"):
        if line.rstrip(b"\r") == b"%":
            fortunes.append(current)
            current = []
        else:
            current.append(line)
    fortunes.append(current)
    fortunes = [b"\n".join(f).rstrip(b"\n") + b"\n" for f in fortunes if b"".join(f).strip()]
    n = len(fortunes)
    if n < per_file:
        sys.exit(f"{name}: {n} fortunes, fewer than {per_file}")
    taken = [fortunes[i * n // per_file] for i in range(per_file)]
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"".join(t + b"%\n" for t in taken))
    print(f"{name}: {per_file} of {n} fortunes, {sum(map(len, taken))} bytes")
PY
