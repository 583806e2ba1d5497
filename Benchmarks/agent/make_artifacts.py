#!/usr/bin/env python3
"""Generates benchmark trees: make_artifacts.py OUT_DIR FILES TOTAL_MB [CHANGED_PERCENT]

Writes OUT_DIR/v0 (a different earlier version), OUT_DIR/v1 (FILES files, about TOTAL_MB MB,
compressible like source and assets: half text, half random bytes) and OUT_DIR/v2 (v1 with
CHANGED_PERCENT % of the files changed). Deterministic (seeded)."""
import os
import random
import sys

out, count, total_mb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
changed = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
rng = random.Random(42)
size = int(total_mb * 1_000_000 / count)
words = [b"const", b"let", b"function", b"return", b"import", b"export", b"value", b"render", b"=>", b"{", b"}"]


def content(i, version):
    text = b" ".join(rng.choice(words) for _ in range(size // 12))[: size // 2]
    noise = rng.randbytes(size - len(text))
    return b"// %s file %d\n" % (version.encode(), i) + text + noise


for version in ("v0", "v1"):
    rng.seed(7 if version == "v0" else 42)
    for i in range(count):
        path = os.path.join(out, version, "src", "m%03d" % (i % 200), "f%05d.js" % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content(i, version))

rng.seed(99)
step = max(1, int(100 / changed))
for root, _, files in os.walk(os.path.join(out, "v1")):
    for name in files:
        source = os.path.join(root, name)
        target = source.replace(os.path.join(out, "v1"), os.path.join(out, "v2"), 1)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        data = open(source, "rb").read()
        index = int(name[1:6])
        if index % step == 0:
            data = data + b"\n// changed in v2\n"
        with open(target, "wb") as f:
            f.write(data)
