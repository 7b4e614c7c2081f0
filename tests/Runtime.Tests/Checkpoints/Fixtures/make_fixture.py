#!/usr/bin/env python3
"""Writes pytorch_like.safetensors the way safetensors.torch.save_file(model.state_dict()) lays a file out,
using only the standard library (no torch, no safetensors package), so it is independent of ModelDsl's writer:

  * tensors sorted by dtype alignment (descending) then name, data back to back in that order;
  * header: compact JSON, "__metadata__" first ({"format": "pt"}), then the tensors in data order,
    padded with spaces so the data starts at a multiple of 8;
  * 8-byte little-endian header length first.

The model it stands for: nn.Sequential(nn.Linear(3, 2)) saved under the prefix "logits.0" (weights [out, in]),
Values are exact in float32. (The I32 path is covered by hand-built bytes in SafetensorsTests.)
Run: python3 make_fixture.py  (writes next to this script)
"""
import json
import os
import struct

weight = [[0.5, -1.0, 2.0], [0.25, 3.0, -0.125]]   # logits.0.weight, [out=2, in=3]
bias = [1.5, -2.5]                                   # logits.0.bias, [2]

tensors = {
    "logits.0.weight": ("F32", [2, 3], struct.pack("<6f", *[x for row in weight for x in row])),
    "logits.0.bias": ("F32", [2], struct.pack("<2f", *bias)),
}

header = {"__metadata__": {"format": "pt"}}
data = b""
for name in sorted(tensors):        # both F32: alignment ties, so by name
    dtype, shape, raw = tensors[name]
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw

text = json.dumps(header, separators=(",", ":")).encode("utf-8")
text += b" " * (-len(text) % 8)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_like.safetensors")
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
print(out, 8 + len(text) + len(data), "bytes")
