#!/usr/bin/env python3
"""Benchmark trees of several shapes, deterministic (seeded):

  shapes.py SHAPE OUT_DIR

writes OUT_DIR/v0 (an earlier version: every file differs from v1), OUT_DIR/v1 and OUT_DIR/v2
(v1 with some files changed; unchanged files are hard links to v1's, to save disk) and prints
one line describing the shape. Shapes:

  generated  10,000 files in 200 directories, 100 MB, half text half random (the old benchmark)
  realistic  a web app's tree: 10,000 files in about 3,800 directories 1-7 levels deep, about
             76 MB, sizes log-normal around a 1.5 KB median; mostly text (JS, CSS, JSON, maps),
             a tenth fonts and images (random bytes); 1 % changed in v2
  media      about 1 GB, mostly already-compressed images and video (random bytes, stored by
             zip), a few hundred small text files; 1 % of the files changed in v2
  huge       100,000 small files in about 10,000 directories; 10 files changed in v2
"""
import math
import os
import random
import sys

WORDS = [b"const", b"let", b"function", b"return", b"import", b"export", b"value", b"render",
         b"=>", b"{", b"}", b"props", b"state", b"useEffect", b"className", b"async", b"await"]


def text(rng, size, tag):
    header = b"// %s\n" % tag
    body = b" ".join(rng.choice(WORDS) for _ in range(max(1, size // 6)))
    return (header + body)[:max(size, len(header))]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def directories(rng, count):
    """About `count` directory paths, 1-7 levels deep, shaped like app/, components/, node_modules-ish."""
    roots = ["app", "components", "lib", "public", "styles", "pages", "node_modules", "src", "hooks"]
    result = list(roots)
    while len(result) < count:
        parent = rng.choice(result)
        if parent.count("/") >= 6:
            continue
        result.append("%s/d%d" % (parent, len(result)))
    return result


def lognormal_size(rng, median, sigma, cap):
    return max(16, min(cap, int(median * math.exp(rng.gauss(0, sigma)))))


def layout(shape, rng):
    """[(relative path, size, kind)] for v1; kind is 'text' or 'binary'."""
    files = []
    if shape == "generated":
        size = 10_000
        for i in range(10_000):
            files.append(("src/m%03d/f%05d.js" % (i % 200, i), size, "mixed"))
    elif shape == "realistic":
        dirs = directories(rng, 3800)
        for i in range(10_000):
            d = dirs[i] if i < len(dirs) else rng.choice(dirs)  # every directory holds a file
            binary = rng.random() < 0.1
            ext = rng.choice([".woff2", ".png", ".ico"]) if binary else rng.choice(
                [".js", ".js", ".js", ".mjs", ".css", ".json", ".map", ".tsx", ".md"])
            files.append(("%s/f%05d%s" % (d, i, ext), lognormal_size(rng, 1500, 1.8, 2_000_000),
                          "binary" if binary else "text"))
    elif shape == "media":
        dirs = directories(rng, 60)
        for i in range(4):
            files.append(("public/video/clip%d.mp4" % i, 110_000_000 + i * 5_000_000, "binary"))
        for i in range(560):
            ext = rng.choice([".jpg", ".jpg", ".png", ".webp"])
            files.append(("public/images/%s/img%04d%s" % (rng.choice(["a", "b", "c", "d"]), i, ext),
                          lognormal_size(rng, 700_000, 0.6, 6_000_000), "binary"))
        for i in range(400):
            files.append(("%s/f%04d.js" % (rng.choice(dirs), i), lognormal_size(rng, 1500, 1.2, 200_000), "text"))
    elif shape == "huge":
        dirs = directories(rng, 10_000)
        for i in range(100_000):
            d = dirs[i] if i < len(dirs) else rng.choice(dirs)
            files.append(("%s/f%06d.js" % (d, i), lognormal_size(rng, 300, 0.8, 20_000), "text"))
    else:
        raise SystemExit("unknown shape %r (generated, realistic, media, huge)" % shape)
    return files


def content(rng, size, kind, tag):
    if kind == "binary":
        return rng.randbytes(size)
    if kind == "mixed":
        half = text(rng, size // 2, tag)
        return half + rng.randbytes(size - len(half))
    return text(rng, size, tag)


def main():
    shape, out = sys.argv[1], sys.argv[2]
    files = layout(shape, random.Random(1))
    for version, seed in (("v0", 7), ("v1", 42)):
        rng = random.Random(seed)
        for path, size, kind in files:
            write(os.path.join(out, version, path), content(rng, size, kind, ("%s %s" % (version, path)).encode()))
    rng = random.Random(99)
    changed = set(rng.sample(range(len(files)), 10 if shape == "huge" else max(1, len(files) // 100)))
    for index, (path, size, kind) in enumerate(files):
        target = os.path.join(out, "v2", path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        source = os.path.join(out, "v1", path)
        if index in changed:
            data = open(source, "rb").read()
            write(target, data[: len(data) // 2] + b"\n// changed in v2\n" + data[len(data) // 2:])
        else:
            os.link(source, target)
    total = sum(size for _, size, _ in files)
    dirs = len({os.path.dirname(p) for p, _, _ in files})
    print("%s: %d files in %d directories, %.0f MB; v2 changes %d files" % (
        shape, len(files), dirs, total / 1e6, len(changed)))


main()
