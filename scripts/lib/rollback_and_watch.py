#!/usr/bin/env python3
"""Rolls a project back through the broker and follows its events to the end.

  rollback_and_watch.py KEYRING URL USER PROJECT TARGET_VERSION [--quiet]

Prints the answer, a progress line per event (unless --quiet), and at the end one JSON line:
{"answerMs", "completedMs", "outcome", "progressEvents"} measured from just before the request.
Exits 1 if the rollback was refused or failed."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rollback_http import Broker  # noqa: E402

args = [a for a in sys.argv[1:] if a != "--quiet"]
quiet = "--quiet" in sys.argv
keyring, url, user, project, target = args[:5]
broker = Broker(keyring, url)
body = json.dumps({"userId": user, "projectId": project, "targetVersionId": target,
                   "reason": "rollback_and_watch"}).encode()
started = time.monotonic()
status, text = broker.request("POST", "/v1/versions/rollback", body)
answered = time.monotonic()
if status != 200:
    print("rollback refused: HTTP %d %s" % (status, text))
    sys.exit(1)
answer = json.loads(text)
if not quiet:
    print("answer in %.0f ms: version %s, preview %s, job %s" % (
        (answered - started) * 1000, answer["rollbackVersionId"], answer["previewUrl"], answer["jobId"]))
progress, outcome = 0, None
for event_id, kind, payload in broker.events(project):
    if payload.get("rollbackVersionId") not in (None, answer["rollbackVersionId"]) and kind != "buildReleased":
        continue
    if kind == "rollbackProgress":
        progress += 1
        if not quiet:
            bar = "#" * (payload["percent"] // 5)
            print("  [%-20s] %3d%% %-11s %s/%s bytes" % (
                bar, payload["percent"], payload["phase"], payload["bytesDone"], payload["bytesTotal"]), flush=True)
    elif kind in ("rollbackCompleted", "rollbackFailed"):
        outcome = kind
        if not quiet:
            print("%s: %s" % (kind, json.dumps(payload, sort_keys=True)))
        break
finished = time.monotonic()
print(json.dumps({"answerMs": round((answered - started) * 1000, 1), "completedMs": round((finished - started) * 1000, 1),
                  "outcome": outcome, "progressEvents": progress}))
sys.exit(0 if outcome == "rollbackCompleted" else 1)
