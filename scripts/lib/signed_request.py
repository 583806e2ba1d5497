#!/usr/bin/env python3
"""Sends one signed request to the broker (spec/http-api.md, "Signing requests") and prints the
status line and the JSON answer. For demos and by-hand checks; Swift tools use RollbackClient.

  signed_request.py KEYRING URL METHOD PATH [JSON BODY] [--idempotency-key K]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rollback_http import Broker  # noqa: E402

args = sys.argv[1:]
extra = {}
if "--idempotency-key" in args:
    i = args.index("--idempotency-key")
    extra["Idempotency-Key"] = args[i + 1]
    del args[i:i + 2]
keyring_path, base, method, path = args[:4]
body = args[4].encode() if len(args) > 4 else b""
status, text = Broker(keyring_path, base).request(method, path, body, extra)
print("HTTP %d %s" % (status, json.dumps(json.loads(text), indent=2, sort_keys=True) if text else ""))
