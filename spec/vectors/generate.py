#!/usr/bin/env python3
"""Writes frames.json and signatures.json from spec/protocol.md, and http-signatures.json from
spec/http-api.md, independently of the Swift code.

The Swift tests read the JSON files; because this script implements the spec on its own (Python's
hmac and struct), a drift between spec and code shows up as a failing test. Run it again only when
the spec changes:  python3 spec/vectors/generate.py
"""
import base64
import hashlib
import hmac
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(body: bytes, auth: bytes = b"", version: int = 1, flags: int = 0, auth_len=None, body_len=None) -> bytes:
    header = struct.pack(">BBHI", version, flags, len(auth) if auth_len is None else auth_len,
                         len(body) if body_len is None else body_len)
    return header + auth + body


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------------------------------------
# Frames
REQ = compact({"jsonrpc": "2.0", "id": 1, "method": "agent.health", "params": {}})
NOTE = compact({"jsonrpc": "2.0", "method": "job.progress", "params": {"requestID": 7, "jobID": "j1", "percent": 40,
                                                                       "phase": "extracting", "bytesDone": 400,
                                                                       "bytesTotal": 1000}})
RESP = compact({"jsonrpc": "2.0", "id": 1, "result": {"status": "ok"}})
AUTH = compact({"kid": "k1", "ts": 1767225600, "nonce": "0123456789abcdef0123456789abcdef",
                "sig": "00" * 32})


def ok(name, data, frames, max_body=1 << 20, note=""):
    return {"name": name, "note": note, "maxBodyLength": max_body, "hex": data.hex(),
            "expect": {"frames": [{"authHex": a.hex(), "bodyHex": b.hex()} for a, b in frames]}}


def bad(name, data, error, stage="frame", max_body=1 << 20, note="", frames_before=0):
    return {"name": name, "note": note, "maxBodyLength": max_body, "hex": data.hex(),
            "expect": {"error": error, "stage": stage, "framesBefore": frames_before}}


frame_cases = [
    ok("unsigned request", frame(REQ), [(b"", REQ)]),
    ok("signed request", frame(REQ, AUTH), [(AUTH, REQ)], note="auth section between header and body"),
    ok("three frames in one buffer", frame(REQ) + frame(NOTE) + frame(RESP), [(b"", REQ), (b"", NOTE), (b"", RESP)]),
    ok("body exactly at the limit", frame(REQ), [(b"", REQ)], max_body=len(REQ)),
    ok("multi-byte UTF-8 body", frame(compact({"jsonrpc": "2.0", "method": "x.y", "params": {"m": "héllo ✓"}})),
       [(b"", compact({"jsonrpc": "2.0", "method": "x.y", "params": {"m": "héllo ✓"}}))]),
    bad("declared length 2^32-1", frame(b"", body_len=0xFFFFFFFF), "frame_too_large",
        note="rejected from the header alone; nothing is allocated"),
    bad("one byte over the limit", frame(REQ + b" "), "frame_too_large", max_body=len(REQ)),
    bad("unsupported version", frame(REQ, version=2), "unsupported_frame_version"),
    bad("reserved flag bit set", frame(REQ, flags=0x80), "reserved_bits_set"),
    bad("auth section over 1024 bytes", frame(REQ, auth_len=1025), "auth_too_large"),
    bad("empty body", frame(b""), "empty_body"),
    bad("stream ends inside the header", frame(REQ)[:5], "truncated"),
    bad("stream ends inside the body", frame(REQ)[:-3], "truncated"),
    bad("good frame then a bad header", frame(REQ) + frame(REQ, flags=1), "reserved_bits_set", frames_before=1),
    bad("body is not UTF-8", frame(b'{"jsonrpc":"2.0","method":"\xff"}'), "invalid_utf8", stage="message"),
    bad("auth section is not UTF-8", frame(REQ, b'{"kid":"\xff"}'), "invalid_utf8",
        note="a frame error (§2), not an auth error: id null, and the connection closes"),
    bad("body is not JSON", frame(b"hello"), "invalid_json", stage="message"),
    bad("body is a JSON array", frame(b"[1,2]"), "invalid_json", stage="message"),
    bad("body lacks jsonrpc", frame(b'{"id":1,"method":"agent.health"}'), "invalid_request", stage="message"),
    bad("wrong jsonrpc version", frame(b'{"jsonrpc":"1.0","id":1,"method":"agent.health","params":{}}'),
        "invalid_request", stage="message"),
    bad("request with both result and method", frame(b'{"jsonrpc":"2.0","id":1,"method":"a.b","result":1}'),
        "invalid_request", stage="message"),
]

# ---------------------------------------------------------------------------------------------
# Signatures
AGENT = "agent-host-1"
NOW = 1767225600
KEY1 = bytes(range(32))
KEY2 = hashlib.sha256(b"rollback test key 2").digest()
WRONG = hashlib.sha256(b"not in the keyring").digest()
KEYS = {"k1": KEY1, "k2": KEY2}


def signing_input(agent, kid, ts, nonce, method, rid, body: bytes) -> bytes:
    if rid is None:
        id_form = ""
    elif isinstance(rid, int):
        id_form = "n:%d" % rid
    else:
        id_form = "s:" + rid
    head = "\n".join(["rollback-rpc-v1", agent, kid, str(ts), nonce, method, id_form]) + "\n"
    return head.encode() + body


def request_body(rid, method, params):
    obj = {"jsonrpc": "2.0"}
    if rid is not None:
        obj["id"] = rid
    obj["method"] = method
    obj["params"] = params
    return compact(obj)


SYNC_PARAMS = {"jobID": "job-1", "projectID": "proj-1", "rollbackVersionID": "v9", "targetVersionID": "v3",
               "artifact": {"url": "file:///srv/a.zip", "sha256": "ab" * 32, "sizeBytes": 1234}, "epoch": 5,
               "dryRun": False}

sig_cases = []
counter = [0]


def case(name, expected, *, rid=1, method="workdir.sync", params=None, kid="k2", key=None, ts=NOW, nonce=None,
         agent=AGENT, tamper=None, auth_override=None, body_override=None, note=""):
    counter[0] += 1
    nonce = nonce or ("n%031d" % counter[0])
    body = request_body(rid, method, SYNC_PARAMS if params is None else params)
    key = KEYS.get(kid, WRONG) if key is None else key
    inp = signing_input(agent, kid, ts, nonce, method, rid, body)
    sig = hmac.new(key, inp, hashlib.sha256).hexdigest()
    auth = {"kid": kid, "ts": ts, "nonce": nonce, "sig": sig}
    if tamper:
        body, auth = tamper(body, auth)
    if body_override is not None:
        body = body_override
    auth_bytes = b"" if auth_override == b"" else (auth_override if auth_override is not None else compact(auth))
    sig_cases.append({
        "name": name, "note": note, "method": method, "id": rid,
        "bodyHex": body.hex(), "authHex": auth_bytes.hex(),
        "signingInputHex": inp.hex(), "signedBy": {"kid": kid, "agentID": agent},
        "expectedMAC": sig, "expected": expected,
    })
    return auth


first = case("valid request signed with the active key", "ok")
case("valid request signed with the older key (rotation)", "ok", kid="k1")
case("valid request with a string id", "ok", rid="req-7f3a")
case("valid notification (no id)", "ok", rid=None, method="$/cancelRequest", params={"id": 1})
case("timestamp exactly 60 s old is inside the window", "ok", ts=NOW - 60)
case("timestamp exactly 60 s ahead is inside the window", "ok", ts=NOW + 60)
case("signed with a key that is not the one named", "bad_signature", kid="k2", key=WRONG)


def flip_body(body, auth):
    b = bytearray(body)
    i = body.index(b'"epoch":5') + len(b'"epoch":')
    b[i] = ord("6")
    return bytes(b), auth


def flip_ts(body, auth):
    return body, dict(auth, ts=auth["ts"] - 1)


def flip_nonce(body, auth):
    return body, dict(auth, nonce="X" + auth["nonce"][1:])


def flip_sig(body, auth):
    s = auth["sig"]
    return body, dict(auth, sig=("0" if s[0] != "0" else "1") + s[1:])


case("one byte of the body changed", "bad_signature", tamper=flip_body)
case("timestamp in the auth section changed", "bad_signature", tamper=flip_ts)
case("nonce in the auth section changed", "bad_signature", tamper=flip_nonce)
case("one digit of the MAC changed", "bad_signature", tamper=flip_sig)
case("signed for another agent", "bad_signature", agent="agent-host-2")
case("timestamp 61 s old", "timestamp_expired", ts=NOW - 61)
case("timestamp 61 s in the future", "timestamp_in_future", ts=NOW + 61)
case("unknown key id", "unknown_key_id", kid="k9")
case("no auth section", "missing_signature", auth_override=b"")
case("auth section is not JSON", "malformed_auth", auth_override=b"kid=k2")
case("MAC is not 64 hex digits", "malformed_auth", tamper=lambda b, a: (b, dict(a, sig="abc")))
case("nonce too short", "malformed_auth", nonce="short")
case("MAC in upper-case hex", "malformed_auth", tamper=lambda b, a: (b, dict(a, sig=a["sig"].upper())),
     note="the MAC is 64 lower-case hex digits; one spelling, so no peer accepts what another refuses")
sig_cases.append(dict(sig_cases[0], name="first request sent again (replayed nonce)", expected="replayed_nonce",
                      note="verified after every case above by the same verifier"))

signatures = {
    "description": "Signature vectors. Verify every case, in order, with ONE verifier (the replay case depends "
                   "on the first case having been accepted). Each case's body is the frame body as sent; "
                   "authHex is the auth section (empty: unsigned).",
    "agentID": AGENT, "now": NOW, "windowSeconds": 60,
    "keyring": {"active": "k2", "keys": [{"id": k, "secret": base64.b64encode(v).decode()} for k, v in KEYS.items()]},
    "cases": sig_cases,
}

frames = {
    "description": "Frame vectors. Feed hex to a decoder with the given maxBodyLength, then signal end of stream. "
                   "Expect either the listed frames, or the named error (stage 'frame': from the frame decoder; "
                   "stage 'message': from reading the body as a JSON-RPC 2.0 object) after framesBefore good frames.",
    "cases": frame_cases,
}

# ---------------------------------------------------------------------------------------------
# HTTP request signatures (spec/http-api.md, "Signing requests")
HTTP_KEY = b"web-tier-secret-for-the-vectors!!"
HTTP_OTHER = b"another-secret-of-thirty-two-byt"


def http_signature(key, method, target, ts, nonce, body: bytes) -> str:
    data = ("rollback-http-v1\n%s\n%s\n%d\n%s\n" % (method.upper(), target, ts, nonce)).encode() + body
    return "v1=" + hmac.new(key, data, hashlib.sha256).hexdigest()


HTTP_BODY = compact({"userId": "u1", "projectId": "p1", "targetVersionId": "v7"})
HTTP_NONCE = "6f1c0d3a9b2e4f5a8c7d6e5f4a3b2c1d"
http_cases = []


def http_case(name, expected, *, method="POST", target="/v1/versions/rollback", body=HTTP_BODY, kid="web-1",
              ts=NOW, nonce=HTTP_NONCE, key=HTTP_KEY, sign=None, headers=None, note=""):
    signature = http_signature(key, sign[0] if sign else method, sign[1] if sign else target, ts, nonce,
                               sign[2] if sign else body)
    h = {"Rollback-Key-Id": kid, "Rollback-Timestamp": str(ts), "Rollback-Nonce": nonce,
         "Rollback-Signature": signature}
    if headers is not None:
        h = headers(h)
    http_cases.append({"name": name, "note": note, "method": method, "target": target,
                       "bodyHex": body.hex(), "headers": h, "expect": expected})


http_case("valid POST", {"caller": "web"}, note="signing input: rollback-http-v1, method, target, ts, nonce, body")
http_case("valid GET with a query and no body", {"caller": "web"}, method="GET", target="/v1/jobs/j1?verbose=1",
          body=b"")
http_case("rotated key: web-0 still verifies and names the same caller", {"caller": "web"}, kid="web-0",
          key=HTTP_OTHER)
http_case("body changed after signing", {"error": "bad_signature"}, sign=("POST", "/v1/versions/rollback",
                                                                         HTTP_BODY.replace(b"v7", b"v8")))
http_case("signed for another path", {"error": "bad_signature"}, sign=("POST", "/v1/projects", HTTP_BODY))
http_case("signed for another method", {"error": "bad_signature"}, sign=("PUT", "/v1/versions/rollback", HTTP_BODY))
http_case("wrong secret", {"error": "bad_signature"}, key=HTTP_OTHER)
http_case("unknown key id", {"error": "unknown_key_id"}, kid="web-9")
http_case("timestamp 301 s old", {"error": "signature_expired"}, ts=NOW - 301)
http_case("timestamp 300 s old is still inside the window", {"caller": "web"}, ts=NOW - 300)
http_case("timestamp 301 s ahead", {"error": "signature_in_future"}, ts=NOW + 301)
http_case("no signature header", {"error": "missing_signature"},
          headers=lambda h: {k: v for k, v in h.items() if k != "Rollback-Signature"})
http_case("no nonce header", {"error": "missing_signature"},
          headers=lambda h: {k: v for k, v in h.items() if k != "Rollback-Nonce"})
http_case("nonce too short", {"error": "malformed_signature"}, nonce="short")
http_case("signature not v1=", {"error": "malformed_signature"},
          headers=lambda h: dict(h, **{"Rollback-Signature": "sha256=" + "0" * 64}))
http_case("timestamp not a number", {"error": "malformed_signature"},
          headers=lambda h: dict(h, **{"Rollback-Timestamp": "yesterday"}))
http_case("signature in upper-case hex", {"error": "malformed_signature"},
          headers=lambda h: dict(h, **{"Rollback-Signature": "v1=" + h["Rollback-Signature"][3:].upper()}),
          note="v1= and 64 lower-case hex digits; upper case is refused even when the MAC is right")

http_signatures = {
    "description": "HTTP request signature vectors. Verify each case on its own with the keyring, now and window "
                   "given (replays are the broker's business, not the verifier's). expect is either the caller "
                   "the key names or the error code.",
    "now": NOW, "windowSeconds": 300,
    "keyring": {"active": "web-1", "keys": [
        {"id": "web-0", "caller": "web", "secret": base64.b64encode(HTTP_OTHER).decode()},
        {"id": "web-1", "caller": "web", "secret": base64.b64encode(HTTP_KEY).decode()},
    ]},
    "cases": http_cases,
}

# ---------------------------------------------------------------------------------------------
# Webhook signatures (spec/http-api.md, "Webhooks"): Rollback-Webhook-Signature: t=<ts>,v1=<hex>,
# HMAC-SHA256 with the subscription secret's UTF-8 bytes over "<ts>." + the raw body.
WEBHOOK_SECRET = "whsec_the-vectors-secret"
WEBHOOK_BODY = compact({"type": "rollbackCompleted", "projectId": "p1", "jobId": "j1", "id": 42,
                        "at": "2026-01-01T00:00:00Z"})


def webhook_signature(secret, ts, body: bytes) -> str:
    mac = hmac.new(secret.encode(), ("%d." % ts).encode() + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (ts, mac)


webhook_cases = []


def webhook_case(name, valid, *, header=None, body=WEBHOOK_BODY, note=""):
    webhook_cases.append({"name": name, "note": note, "bodyHex": body.hex(),
                          "header": header if header is not None else webhook_signature(WEBHOOK_SECRET, NOW, body),
                          "valid": valid})


webhook_case("valid", True, note="HMAC-SHA256(secret, '<t>.' + body)")
webhook_case("body changed after signing", False, header=webhook_signature(WEBHOOK_SECRET, NOW, WEBHOOK_BODY),
             body=WEBHOOK_BODY.replace(b"j1", b"j2"))
webhook_case("another secret", False, header=webhook_signature("whsec_someone-else", NOW, WEBHOOK_BODY))
webhook_case("timestamp changed after signing", False,
             header=webhook_signature(WEBHOOK_SECRET, NOW, WEBHOOK_BODY).replace("t=%d" % NOW, "t=%d" % (NOW + 1)))
webhook_case("301 s old", False, header=webhook_signature(WEBHOOK_SECRET, NOW - 301, WEBHOOK_BODY),
             note="receivers refuse a t far from their clock (300 s here)")
webhook_case("300 s old is still inside the tolerance", True,
             header=webhook_signature(WEBHOOK_SECRET, NOW - 300, WEBHOOK_BODY))
webhook_case("two v1 during a secret rotation, the second one right", True,
             header="t=%d,v1=%s,%s" % (NOW, "0" * 64, webhook_signature(WEBHOOK_SECRET, NOW, WEBHOOK_BODY).split(",")[1]))
webhook_case("no t", False, header=webhook_signature(WEBHOOK_SECRET, NOW, WEBHOOK_BODY).split(",")[1])
webhook_case("empty body", True, body=b"")

webhook_signatures = {
    "description": "Webhook delivery signature vectors: verify header against the body with secret, at now, "
                   "tolerance 300 s.",
    "now": NOW, "toleranceSeconds": 300, "secret": WEBHOOK_SECRET, "cases": webhook_cases,
}

for name, doc in (("frames.json", frames), ("signatures.json", signatures),
                  ("http-signatures.json", http_signatures), ("webhook-signatures.json", webhook_signatures)):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
print("wrote frames.json (%d cases), signatures.json (%d cases), http-signatures.json (%d cases), "
      "webhook-signatures.json (%d cases)" % (len(frame_cases), len(sig_cases), len(http_cases), len(webhook_cases)))
