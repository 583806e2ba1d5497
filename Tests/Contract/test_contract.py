"""The HTTP contract: schemathesis generates requests from spec/openapi.yaml for every operation,
signs them as the web tier would (spec/http-api.md, "Signing requests"), sends them to a running
broker, and checks every response against the spec: no 5xx, a documented status, a documented
content type, a body that matches its schema. Run by scripts/test-contract.

Environment: ROLLBACK_BROKER_URL, ROLLBACK_BROKER_KEYRING, CONTRACT_EXAMPLES (per operation).
"""
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.parse

import requests
import schemathesis
from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = os.environ["ROLLBACK_BROKER_URL"]
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "40"))


class Signed(requests.auth.AuthBase):
    """Signs the request as it will be sent: method, path with query, the exact body bytes."""

    def __init__(self, keyring_path):
        keyring = json.load(open(keyring_path))
        self.key_id = keyring.get("active") or keyring["keys"][-1]["id"]
        self.secret = base64.b64decode(next(k["secret"] for k in keyring["keys"] if k["id"] == self.key_id))

    def __call__(self, request):
        # A case that leaves the signature out (schemathesis checking that the header is
        # required) goes out unsigned; any other gets a valid signature for what is sent.
        if "Rollback-Signature" not in request.headers:
            return request
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        target = urllib.parse.urlsplit(request.url)
        path = target.path + ("?" + target.query if target.query else "")
        ts, nonce = str(int(time.time())), os.urandom(16).hex()
        data = ("rollback-http-v1\n%s\n%s\n%s\n%s\n" % (request.method, path, ts, nonce)).encode() + body
        request.headers["Rollback-Key-Id"] = self.key_id
        request.headers["Rollback-Timestamp"] = ts
        request.headers["Rollback-Nonce"] = nonce
        request.headers["Rollback-Signature"] = "v1=" + hmac.new(self.secret, data, hashlib.sha256).hexdigest()
        return request


SIGNED = Signed(os.environ["ROLLBACK_BROKER_KEYRING"])
schema = schemathesis.openapi.from_path(
    os.path.join(ROOT, "spec", "openapi.yaml"),
    config=schemathesis.Config.from_path(os.path.join(ROOT, "Tests", "Contract", "schemathesis.toml")),
)
schema.config.update(base_url=BASE)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_response_conforms(case):
    if case.path.endswith("/events"):
        # The stored events, then the end of the stream: a live stream would never end.
        case.query = {**(case.query or {}), "follow": "false"}
    response = case.call(auth=SIGNED, timeout=30)
    case.validate_response(response)
