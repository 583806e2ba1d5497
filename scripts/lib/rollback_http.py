"""Signed requests to the broker (spec/http-api.md, "Signing requests") for the demo and
benchmark scripts; Swift tools use RollbackClient."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import time
import urllib.parse


class Broker:
    def __init__(self, keyring_path, base_url):
        keyring = json.load(open(keyring_path))
        self.key_id = keyring.get("active") or keyring["keys"][-1]["id"]
        self.secret = base64.b64decode(next(k["secret"] for k in keyring["keys"] if k["id"] == self.key_id))
        url = urllib.parse.urlparse(base_url)
        self.host, self.port = url.hostname, url.port or 80

    def headers(self, method, path, body=b""):
        ts, nonce = str(int(time.time())), os.urandom(16).hex()
        data = ("rollback-http-v1\n%s\n%s\n%s\n%s\n" % (method, path, ts, nonce)).encode() + body
        return {"Rollback-Key-Id": self.key_id, "Rollback-Timestamp": ts, "Rollback-Nonce": nonce,
                "Rollback-Signature": "v1=" + hmac.new(self.secret, data, hashlib.sha256).hexdigest(),
                "Content-Type": "application/json"}

    def request(self, method, path, body=b"", extra=None):
        """Returns (status, text)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = self.headers(method, path, body)
        headers.update(extra or {})
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        return response.status, text

    def events(self, project, last_event_id=None, timeout=600):
        """Yields (id, type, payload dict) from the project's event stream, forever."""
        path = "/v1/projects/%s/events" % project
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        headers = self.headers("GET", path)
        if last_event_id:
            headers["Last-Event-ID"] = str(last_event_id)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit("event stream: HTTP %d %s" % (response.status, response.read().decode()))
        event_id, event_type, data = None, None, []
        while True:
            line = response.readline()
            if not line:
                return
            line = line.decode().rstrip("\r\n")
            if not line:
                if data:
                    yield event_id, event_type, json.loads("\n".join(data))
                event_id, event_type, data = None, None, []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "id":
                    event_id = value
                elif field == "event":
                    event_type = value
                elif field == "data":
                    data.append(value)
