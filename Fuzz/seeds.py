#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus, one directory per target, from what the project already
knows to be interesting: the frame and signature vectors in spec/vectors, example bodies of
every HTTP request type, and the hostile archives of the agent's tests (Tests/Fixtures).
The seeds follow each check's input layout (Sources/FuzzChecks).

  Fuzz/seeds.py OUT      writes OUT/frames, OUT/messages, OUT/bodies, OUT/archive
"""
import io
import json
import os
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Fixtures"))
import fixtures  # noqa: E402

HOSTILE_KINDS = ["zip-slip", "absolute", "symlink-escape", "zip-bomb", "duplicate", "device", "git-dir", "bad-crc"]

# Example bodies by request type, in the order of RequestBodyCheck's selector byte.
BODIES = [
    [{"userId": "u1", "projectId": "shop", "targetVersionId": "v1", "reason": "bad deploy"},
     {"userId": "u1", "projectId": "shop", "targetVersionId": "v1", "only": ["assets/*"], "skipWorkingDirectory": False}],
    [{"userId": "u1", "projectId": "shop", "targetVersionId": "v1", "limit": 20, "only": ["a/*"]}],
    [{"userId": "u1", "reason": "wrong version"}],
    [{"userId": "u1"}],
    [{"projectId": "shop", "userId": "u1", "host": "build-1"}],
    [{"versionId": "v2", "artifactUrl": "https://artifacts.example/v2.zip", "artifactSha256": "ab" * 32,
      "artifactSize": 1024, "previewUrl": "https://v2.preview.example/", "deploymentId": "d2", "makeCurrent": True}],
    [{"projectId": "shop", "buildId": "b1", "payload": {"status": "ready", "n": 3}}],
    [{"userId": "u1", "reason": "incident 42"}],
    [{"userId": "u1", "reason": "over", "discard": True}],
    [{"userId": "u1", "freezeAfterRollback": True}],
    [{"url": "https://hooks.example/rollback", "eventTypes": ["rollbackCompleted"], "projects": ["shop-*"],
      "secret": "s" * 24}],
]


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def frames(out):
    cases = json.load(open(os.path.join(ROOT, "spec", "vectors", "frames.json")))["cases"]
    for i, case in enumerate(cases):
        stream = bytes.fromhex(case["hex"])
        write(out, f"vector-{i:02d}", bytes([i % 16]) + stream)


def messages(out):
    cases = json.load(open(os.path.join(ROOT, "spec", "vectors", "signatures.json")))["cases"]
    for i, case in enumerate(cases):
        auth, body = bytes.fromhex(case["authHex"]), bytes.fromhex(case["bodyHex"])
        write(out, f"forged-{i:02d}", bytes([0, len(auth) >> 8, len(auth) & 0xFF]) + auth + body)
        write(out, f"signed-{i:02d}", bytes([1, 0, 0]) + body)


def bodies(out):
    for selector, examples in enumerate(BODIES):
        for j, body in enumerate(examples):
            write(out, f"type-{selector:02d}-{j}", bytes([selector]) + json.dumps(body).encode())


def archive(out):
    for kind in HOSTILE_KINDS:
        path = os.path.join(out, f"hostile-{kind}")
        os.makedirs(out, exist_ok=True)
        fixtures.hostile(kind, path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        fixtures.entry(zf, "index.html", b"<h1>ok</h1>")
        fixtures.entry(zf, "assets/", b"", mode=0o040755)
        fixtures.entry(zf, "assets/app.js", b"console.log(1)\n" * 20)
        fixtures.entry(zf, "bin/run", b"#!/bin/sh\n", mode=0o100755, compress=zipfile.ZIP_STORED)
        fixtures.entry(zf, "assets/current", b"app.js", mode=0o120777)
    write(out, "good", buffer.getvalue())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    frames(os.path.join(out, "frames"))
    messages(os.path.join(out, "messages"))
    bodies(os.path.join(out, "bodies"))
    archive(os.path.join(out, "archive"))


if __name__ == "__main__":
    main()
