#!/usr/bin/env python3
"""Sends one signed request to the broker (spec/http-api.md, "Signing requests") and prints the
status line and the JSON answer. For demos and by-hand checks; Swift tools use RollbackClient.

  signed_request.py KEYRING URL METHOD PATH [JSON BODY] [--idempotency-key K]
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

args = sys.argv[1:]
key_header = None
if "--idempotency-key" in args:
    i = args.index("--idempotency-key")
    key_header = args[i + 1]
    del args[i:i + 2]
keyring_path, base, method, path = args[:4]
body = args[4].encode() if len(args) > 4 else b""
keyring = json.load(open(keyring_path))
active = keyring.get("active") or keyring["keys"][-1]["id"]
secret = base64.b64decode(next(k["secret"] for k in keyring["keys"] if k["id"] == active))
ts, nonce = str(int(time.time())), os.urandom(16).hex()
data = ("rollback-http-v1\n%s\n%s\n%s\n%s\n" % (method, path, ts, nonce)).encode() + body
headers = {"Rollback-Key-Id": active, "Rollback-Timestamp": ts, "Rollback-Nonce": nonce,
           "Rollback-Signature": "v1=" + hmac.new(secret, data, hashlib.sha256).hexdigest(),
           "Content-Type": "application/json"}
if key_header:
    headers["Idempotency-Key"] = key_header
request = urllib.request.Request(base + path, data=body if body else None, method=method, headers=headers)
try:
    with urllib.request.urlopen(request) as response:
        status, text = response.status, response.read().decode()
except urllib.error.HTTPError as error:
    status, text = error.code, error.read().decode()
print("HTTP %d %s" % (status, json.dumps(json.loads(text), indent=2, sort_keys=True) if text else ""))
