#!/usr/bin/env python3
"""Abuses a real rollback-agent's socket while a well-behaved client keeps using it, and prints
what the agent went through: malformed and random frames, oversized declared lengths, partial
frames left hanging, large frames left unfinished, a flood of connections. Written from
spec/protocol.md alone (framing, signing), with nothing but Python's standard library.

  agent_socket_abuse.py BIN WORK [SCALE]    SCALE 1 is the full run (10,000 bad frames)

Passes (exit 0) when the well-behaved client was answered every time, the agent is alive, every
hanging connection was closed by the agent within its frame timeout, and the agent's memory came
back down after the abuse.
"""
import base64
import hashlib
import hmac
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time

BIN, WORK = sys.argv[1], sys.argv[2]
SCALE = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
AGENT_ID = "abuse"
KEY_ID = "k1"
SECRET = os.urandom(32)
FRAME_TIMEOUT = 3  # seconds; the agent's --frame-timeout-seconds for this run
MAX_CONNECTIONS = 256


def rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def header(auth_len, body_len, version=1, flags=0):
    return struct.pack(">BBHI", version, flags, auth_len, body_len)


def frame(body, auth=b""):
    return header(len(auth), len(body)) + auth + body


def signed(method, rid, params):
    body = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params},
                      separators=(",", ":")).encode()
    ts, nonce = int(time.time()), os.urandom(16).hex()
    id_form = "n:%d" % rid
    signing_input = ("\n".join(["rollback-rpc-v1", AGENT_ID, KEY_ID, str(ts), nonce, method, id_form]) + "\n").encode()
    sig = hmac.new(SECRET, signing_input + body, hashlib.sha256).hexdigest()
    auth = json.dumps({"kid": KEY_ID, "ts": ts, "nonce": nonce, "sig": sig}, separators=(",", ":")).encode()
    return frame(body, auth)


def read_frame(sock):
    """One frame's (auth, body), or None when the agent closed the connection."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    head = exactly(8)
    if head is None:
        return None
    _, _, auth_len, body_len = struct.unpack(">BBHI", head)
    rest = exactly(auth_len + body_len)
    return None if rest is None else (rest[:auth_len], rest[auth_len:])


def connect(path, timeout=10):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


class WellBehaved(threading.Thread):
    """Asks agent.health on one connection every 20 ms; a failure reconnects and is counted."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stopping = path, False
        self.latencies, self.failures, self.rid = [], [], 0

    def run(self):
        sock = None
        while not self.stopping:
            try:
                sock = sock or connect(self.path, timeout=5)
                self.rid += 1
                started = time.monotonic()
                sock.sendall(signed("agent.health", self.rid, {}))
                answer = read_frame(sock)
                if answer is None or b'"result"' not in answer[1]:
                    raise RuntimeError("no result: %r" % (answer,))
                self.latencies.append((time.monotonic() - started) * 1000)
            except Exception as error:  # noqa: BLE001 - every failure is a finding
                self.failures.append(repr(error))
                sock = None
            time.sleep(0.02)

    def stop(self):
        self.stopping = True
        self.join()


def bad_frames(count):
    """Malformed or random frames, each on its own connection (a bad frame ends a connection)."""
    rng = random.Random(7)
    valid_body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "agent.health", "params": {}}).encode()
    makers = [
        ("random bytes", lambda: os.urandom(rng.randint(1, 2048))),
        ("bad version", lambda: header(0, 10, version=rng.randint(2, 255)) + b"x" * 10),
        ("reserved flags", lambda: header(0, 10, flags=rng.randint(1, 255)) + b"x" * 10),
        ("zero body", lambda: header(0, 0)),
        ("oversized body length", lambda: header(0, rng.randint(1 << 21, (1 << 32) - 1))),
        ("oversized auth length", lambda: header(rng.randint(1025, 65535), 10)),
        ("body not JSON", lambda: frame(os.urandom(rng.randint(1, 512)))),
        ("not JSON-RPC", lambda: frame(b'{"hello":"world"}')),
        ("unsigned request", lambda: frame(valid_body)),
        ("bad signature", lambda: frame(valid_body, json.dumps(
            {"kid": KEY_ID, "ts": int(time.time()), "nonce": "n" * 32, "sig": "0" * 64}).encode())),
        ("garbage auth", lambda: frame(valid_body, os.urandom(rng.randint(1, 1024)))),
        ("truncated then close", lambda: signed("agent.health", 1, {})[: rng.randint(1, 60)]),
    ]
    kinds = {}
    answered = closed = 0
    for i in range(count):
        name, make = makers[i % len(makers)]
        kinds[name] = kinds.get(name, 0) + 1
        sock = connect(PATH)
        try:
            sock.sendall(make())
            sock.shutdown(socket.SHUT_WR)
            got = read_frame(sock)
            answered += got is not None
            while got is not None:
                got = read_frame(sock)
            closed += 1
        except OSError:
            closed += 1
        finally:
            sock.close()
    return kinds, answered, closed


def hanging(count, make, label):
    """`count` connections that each send `make()` and then nothing; returns how many the agent
    closed within its frame timeout (plus slack), and the agent's peak RSS meanwhile."""
    socks = []
    for _ in range(count):
        try:
            sock = connect(PATH)
            sock.sendall(make())
            socks.append(sock)
        except OSError:
            break
    opened = len(socks)
    # Until the agent has accepted them all (or a second has passed).
    settle = time.monotonic() + 1
    while open_fds(AGENT.pid) < opened and time.monotonic() < settle:
        time.sleep(0.01)
    peak = rss_mb(AGENT.pid)
    fds_held = open_fds(AGENT.pid)
    deadline = time.monotonic() + FRAME_TIMEOUT + 5
    closed = 0
    for sock in socks:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    closed += 1
                    break
        except (socket.timeout, OSError):
            pass
        peak = max(peak, rss_mb(AGENT.pid))
        sock.close()
    print("  %-34s %5d opened, %5d closed by the agent, agent fds %4d, peak RSS %6.1f MB"
          % (label, opened, closed, fds_held, peak))
    return opened, closed, peak


def flood(count):
    """Opens `count` connections as fast as it can and holds them, idle."""
    socks, refused = [], 0
    for _ in range(count):
        try:
            socks.append(connect(PATH, timeout=2))
        except OSError:
            refused += 1
    time.sleep(0.5)
    fds = open_fds(AGENT.pid)
    # Connections past the agent's limit get their error and are closed at once: read every
    # socket to its end (or for 2 s), counting the ends.
    closed, still_open, deadline = 0, list(socks), time.monotonic() + 2
    while still_open and time.monotonic() < deadline:
        readable, _, _ = select.select(still_open, [], [], 0.2)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed += 1
                still_open.remove(sock)
    peak = rss_mb(AGENT.pid)
    for sock in socks:
        sock.close()
    print("  %-34s %5d opened, %5d refused at connect, %5d closed by the agent, %4d kept, agent fds %4d, RSS %6.1f MB"
          % ("flood of idle connections", len(socks), refused, closed, len(still_open), fds, peak))
    return len(still_open), fds


def main():
    global PATH, AGENT
    os.makedirs(WORK, exist_ok=True)
    keyring = os.path.join(WORK, "keyring.json")
    with open(keyring, "w") as f:
        json.dump({"keys": [{"id": KEY_ID, "secret": base64.b64encode(SECRET).decode()}]}, f)
    os.chmod(keyring, 0o600)
    for directory in ("work", "state"):
        os.makedirs(os.path.join(WORK, directory), exist_ok=True)
    PATH = os.path.join(WORK, "agent.sock")
    log = open(os.path.join(WORK, "agent.log"), "w")
    AGENT = subprocess.Popen(
        [os.path.join(BIN, "rollback-agent"), "--socket", PATH, "--agent-id", AGENT_ID, "--keyring", keyring,
         "--work-root", os.path.join(WORK, "work"), "--state-dir", os.path.join(WORK, "state"),
         "--set", "frameTimeoutSeconds=%d" % FRAME_TIMEOUT, "--set", "maxConnections=%d" % MAX_CONNECTIONS,
         "--log-level", "warning"], stderr=log)
    deadline = time.monotonic() + 30
    while not os.path.exists(PATH):
        if time.monotonic() > deadline or AGENT.poll() is not None:
            sys.exit("the agent did not start: see %s/agent.log" % WORK)
        time.sleep(0.05)
    try:
        return run()
    finally:
        AGENT.terminate()
        AGENT.wait()


def run():
    client = WellBehaved(PATH)
    client.start()
    time.sleep(1)
    baseline = rss_mb(AGENT.pid)
    print("agent socket abuse (scale %g): baseline RSS %.1f MB, frame timeout %d s, max connections %d"
          % (SCALE, baseline, FRAME_TIMEOUT, MAX_CONNECTIONS))
    started = time.monotonic()
    count = int(10000 * SCALE)
    kinds, answered, closed = bad_frames(count)
    print("  %-34s %5d sent, %5d answered with an error, %5d connections closed, %.1f s"
          % ("malformed or random frames", count, answered, closed, time.monotonic() - started))
    for name in sorted(kinds):
        print("      %-30s %5d" % (name, kinds[name]))
    n = max(10, int(200 * SCALE))
    partial = hanging(n, lambda: signed("agent.health", 1, {})[:5], "partial header, then silence")
    half = hanging(n, lambda: signed("agent.health", 1, {})[:40], "partial frame, then silence")
    big = hanging(max(5, int(50 * SCALE)), lambda: header(0, 1 << 20) + b"x" * ((1 << 20) - 1),
                  "1 MiB frame less a byte, then silence")
    kept, flood_fds = flood(max(50, int(2 * MAX_CONNECTIONS * SCALE)))
    time.sleep(FRAME_TIMEOUT + 1)
    after = rss_mb(AGENT.pid)
    client.stop()
    lat = sorted(client.latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    alive = AGENT.poll() is None
    print("  well-behaved client: %d answers, %d failures, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (len(lat), len(client.failures), p(0.5), p(0.99), lat[-1] if lat else float("nan")))
    print("  agent: alive %s; RSS baseline %.1f MB, after the abuse %.1f MB" % (alive, baseline, after))
    log_lines = sum(1 for _ in open(os.path.join(WORK, "agent.log"), errors="replace"))
    print("  agent log: %d lines at level warning (each kind of refusal at most once per 10 s)" % log_lines)
    checks = [
        ("the well-behaved client was answered every time", not client.failures and len(lat) > 0),
        ("the agent is alive", alive),
        ("every malformed frame ended its connection", closed == count),
        ("hanging connections were closed by the agent", all(o == c for o, c, _ in (partial, half, big))),
        ("at most maxConnections kept, descriptors bounded", kept <= MAX_CONNECTIONS and flood_fds <= MAX_CONNECTIONS + 64),
        ("memory came back down (within 32 MB of the baseline)", after <= baseline + 32),
        ("the agent's log stayed short (at most 200 lines)", log_lines <= 200),
    ]
    for name, ok in checks:
        print("  %-58s %s" % (name, "PASS" if ok else "FAIL"))
    if client.failures:
        print("  first failures:", client.failures[:3])
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
