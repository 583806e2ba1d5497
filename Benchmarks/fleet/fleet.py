#!/usr/bin/env python3
"""The fleet benchmark's driver (see scripts/benchmark-fleet): a whole fleet on one machine.

Starts AGENTS agents (each its own socket, work root and state directory: one "build host"
each), one `rollback-broker dispatch` per host and two `rollback-broker serve` API instances,
registers PROJECTS projects (two versions each), opens FOLLOWERS event streams spread over the
projects and the two API instances, then sends rollbacks at RATE per second for DURATION
seconds, each to a project that is not rolling back. Prints rollbacks completed per second,
request -> rollbackCompleted p50/p99 (as a follower saw it), PostgreSQL statements per second
(pg_stat_statements) with no followers, with the followers idle and under load, each broker's RSS,
and the checks: every follower saw every event of its project once and in order, every working
directory is at its project's current version with a clean git status.

Environment: BIN, WORK, PGURL (postgres://), REDISURL, RATE, DURATION, FOLLOWERS, PROJECTS, AGENTS.
"""
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
from rollback_http import Broker  # noqa: E402

ENV = os.environ
BIN, WORK = ENV["BIN"], ENV["WORK"]
RATE, DURATION = float(ENV.get("RATE", "5")), float(ENV.get("DURATION", "30"))
FOLLOWERS, PROJECTS, AGENTS = int(ENV.get("FOLLOWERS", "500")), int(ENV.get("PROJECTS", "200")), int(ENV.get("AGENTS", "20"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
processes = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(name, args):
    log = open(os.path.join(WORK, name + ".log"), "w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    processes.append((name, process))
    return process


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise SystemExit("timed out waiting for " + what)
        time.sleep(0.05)


def psql(sql):
    out = subprocess.run(["psql", ENV["PGURL"], "-At", "-c", sql], check=True, capture_output=True)
    return out.stdout.decode().strip()


def statements():
    """Statements PostgreSQL has run (pg_stat_statements, counted as each ends)."""
    return int(psql("SELECT sum(calls) FROM pg_stat_statements"))


def rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def make_artifacts(www):
    """Two versions of a typical project (200 files): B is A with 5 % of the files changed."""
    rng = random.Random(5)
    files = {"app/r%02d/c%03d.js" % (i % 40, i): rng.randbytes(600).hex().encode() for i in range(200)}
    versions = {"A": dict(files), "B": dict(files)}
    for i, path in enumerate(sorted(files)):
        if i % 20 == 0:
            versions["B"][path] = files[path] + b"\n// B\n"
    result = {}
    for name, tree in versions.items():
        tree = dict(tree, VERSION=name.encode())
        source = os.path.join(WORK, "tree-" + name)
        for path, data in tree.items():
            os.makedirs(os.path.dirname(os.path.join(source, path)) or source, exist_ok=True)
            open(os.path.join(source, path), "wb").write(data)
        zip_path = os.path.join(www, name + ".zip")
        subprocess.run(["zip", "-q", "-r", "-X", zip_path, "."], cwd=source, check=True)
        sha = subprocess.run(["sha256sum", zip_path], capture_output=True, check=True).stdout.split()[0].decode()
        result[name] = (sha, os.path.getsize(zip_path))
    return result


# --- asyncio HTTP: signed requests and SSE followers ---------------------------------------

async def request(broker, method, path, body=b""):
    reader, writer = await asyncio.open_connection(broker.host, broker.port)
    headers = broker.headers(method, path, body)
    head = "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n" % (method, path, len(body))
    head += "".join("%s: %s\r\n" % item for item in headers.items()) + "\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


class Follower:
    def __init__(self, broker, project):
        self.broker, self.project = broker, project
        self.events = []  # (id, type, rollbackVersionId)
        self.connected = asyncio.Event()

    async def run(self, on_event):
        path = "/v1/projects/%s/events" % self.project
        reader, writer = await asyncio.open_connection(self.broker.host, self.broker.port, limit=1 << 20)
        headers = self.broker.headers("GET", path)
        head = "GET %s HTTP/1.1\r\nHost: x\r\n" % path + "".join("%s: %s\r\n" % i for i in headers.items()) + "\r\n"
        writer.write(head.encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit("follower of %s: %s" % (self.project, status))
        chunked = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
                chunked = True
        self.connected.set()
        buffer = b""
        while True:
            if chunked:
                size_line = await reader.readline()
                if not size_line:
                    return
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return
                buffer += await reader.readexactly(size)
                await reader.readline()  # the chunk's CRLF
            else:
                data = await reader.read(65536)
                if not data:
                    return
                buffer += data
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                self.parse(block.decode(), on_event)

    def parse(self, block, on_event):
        event_id, event_type, data = None, None, []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                event_id = value
            elif field == "event":
                event_type = value
            elif field == "data":
                data.append(value)
        if data and event_id is not None:
            payload = json.loads("\n".join(data))
            self.events.append((int(event_id), event_type, payload.get("rollbackVersionId")))
            on_event(self, event_type, payload)


class Tracker:
    """The rollbacks in flight, and what the followers saw of their ends."""

    def __init__(self):
        self.in_flight = {}  # rollbackVersionId -> (project, request time)
        self.busy = set()
        self.latencies, self.outcomes = [], {}

    def on_event(self, follower, event_type, payload):
        version = payload.get("rollbackVersionId")
        if event_type in ("rollbackCompleted", "rollbackFailed") and version in self.in_flight:
            project, started = self.in_flight.pop(version)
            self.latencies.append(time.monotonic() - started)
            self.outcomes[event_type] = self.outcomes.get(event_type, 0) + 1
            self.busy.discard(project)


async def main_async(apis, projects, artifacts):
    current = {p: "B" for p in projects}
    followers = []
    for i in range(FOLLOWERS):
        followers.append(Follower(apis[i % 2], projects[i % len(projects)]))
    tracker = Tracker()
    in_flight, busy, latencies, outcomes = tracker.in_flight, tracker.busy, tracker.latencies, tracker.outcomes

    # Idle, no followers.
    t0, q0 = time.monotonic(), statements()
    await asyncio.sleep(10)  # a measurement window
    idle_none = (statements() - q0) / (time.monotonic() - t0)

    tasks = [asyncio.create_task(f.run(tracker.on_event)) for f in followers]
    await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in followers)), 60)
    # Each stream's opening reads (the project, then its events so far) go on for a while after
    # its headers: wait until the rate is back near the idle one (2 s windows, at most a minute).
    settle_started = time.monotonic()
    while time.monotonic() - settle_started < 60:
        t0, q0 = time.monotonic(), statements()
        await asyncio.sleep(2)
        if (statements() - q0) / (time.monotonic() - t0) <= idle_none * 1.2 + 2:
            break
    print("followers' opening reads done %.0f s after they connected" % (time.monotonic() - settle_started))
    t0, q0 = time.monotonic(), statements()
    await asyncio.sleep(10)
    idle_followers = (statements() - q0) / (time.monotonic() - t0)
    print("followers connected: %d streams over %d projects and 2 API instances" % (len(followers), len(projects)))
    print("PostgreSQL statements/s, idle: %.1f with no followers, %.1f with %d followers" % (
        idle_none, idle_followers, len(followers)), flush=True)

    # The storm.
    sent, refused = 0, {}
    started = time.monotonic()
    q0 = statements()
    next_send = started
    while time.monotonic() - started < DURATION:
        now = time.monotonic()
        if now < next_send:
            await asyncio.sleep(next_send - now)
            continue
        next_send += 1 / RATE
        candidates = [p for p in projects if p not in busy]
        if not candidates:
            continue
        project = random.choice(candidates)
        target = "A" if current[project] == "B" else "B"
        body = json.dumps({"userId": "u-" + project, "projectId": project, "targetVersionId": "%s-%s" % (project, target),
                           "reason": "fleet benchmark"}).encode()
        busy.add(project)
        t_request = time.monotonic()
        status, answer = await request(apis[sent % 2], "POST", "/v1/versions/rollback", body)
        sent += 1
        if status != 200:
            refused[status] = refused.get(status, 0) + 1
            busy.discard(project)
            continue
        current[project] = target
        in_flight[json.loads(answer)["rollbackVersionId"]] = (project, t_request)
    storm_seconds = time.monotonic() - started
    load_rate = (statements() - q0) / storm_seconds
    deadline = time.monotonic() + 120
    while in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    drained = time.monotonic() - started
    print("\nstorm: %d rollbacks sent in %.0f s (%.1f/s target), %s refused" % (sent, storm_seconds, RATE, refused or "none"))
    done = len(latencies)
    print("completed: %d (%s), %d still in flight after 120 s; %.2f completed/s over %.1f s" % (
        done, outcomes, len(in_flight), done / drained, drained))
    if latencies:
        ordered = sorted(latencies)
        p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
        print("request -> rollbackCompleted: p50 %.0f ms, p99 %.0f ms, max %.0f ms" % (p(0.5), p(0.99), ordered[-1] * 1000))
    print("PostgreSQL statements/s under load: %.1f" % load_rate, flush=True)

    # Every follower saw every event of its project once and in order.
    stored = {}
    for project in projects:
        ids = psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM events WHERE project_id = '%s'" % project)
        stored[project] = [int(x) for x in ids.split(",")] if ids else []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any([e[0] for e in f.events] != stored[f.project] for f in followers):
        await asyncio.sleep(0.1)
    bad = [f for f in followers if [e[0] for e in f.events] != stored[f.project]]
    total_events = sum(len(f.events) for f in followers)
    print("\ncheck: every follower saw every event of its project once and in order: %s (%d events delivered)" % (
        "PASS" if not bad else "FAIL (%d followers differ, e.g. %s)" % (len(bad), bad[0].project), total_events))
    for task in tasks:
        task.cancel()
    return not bad and not in_flight


def check_trees(agent_roots, host_of):
    rows = psql("SELECT p.id, p.current_version_id, v.artifact_url FROM projects p JOIN project_versions v "
                "ON v.id = p.current_version_id").splitlines()
    wrong = []
    for row in rows:
        project, version, url = row.split("|")
        if project not in host_of:
            continue
        directory = os.path.join(agent_roots[host_of[project]], project)
        expected = url.rsplit("/", 1)[1].split(".")[0]
        marker = open(os.path.join(directory, "VERSION")).read() if os.path.exists(os.path.join(directory, "VERSION")) else None
        if marker is None:
            continue  # never rolled back: no working directory yet
        tag = subprocess.run(["git", "-C", directory, "tag", "--points-at", "HEAD"], capture_output=True).stdout.decode()
        status = subprocess.run(["git", "-C", directory, "status", "--porcelain"], capture_output=True).stdout.decode()
        if marker != expected or "rollback/" + version not in tag.split() or status:
            wrong.append(project)
    checked = sum(1 for p in host_of if os.path.exists(os.path.join(agent_roots[host_of[p]], p, "VERSION")))
    print("check: every working directory is at its project's current version, git clean: %s (%d directories)" % (
        "PASS" if not wrong else "FAIL: " + ", ".join(wrong[:5]), checked))
    return not wrong


def main():
    www = os.path.join(WORK, "www")
    os.makedirs(www)
    artifacts = make_artifacts(www)
    portfile = os.path.join(WORK, "http.port")
    spawn("artifacts", ["python3", os.path.join(ROOT, "Tests/Fixtures/fixtures.py"), "serve", www, portfile])
    wait_for("the artifact server", lambda: os.path.exists(portfile))
    base = "http://127.0.0.1:%s" % open(portfile).read().strip()

    def key(name, key_id):
        path = os.path.join(WORK, name)
        json.dump({"keys": [{"id": key_id, "caller": "web", "secret": __import__("base64").b64encode(os.urandom(32)).decode()}]},
                  open(path, "w"))
        os.chmod(path, 0o600)
        return path
    broker_keyring, agent_keyring = key("broker-keyring.json", "web-1"), key("agent-keyring.json", "a1")

    hosts, agent_roots = [], {}
    for i in range(AGENTS):
        host = "build-%02d" % i
        root, state, sock = (os.path.join(WORK, "%s-%s" % (kind, host)) for kind in ("root", "state", "sock"))
        os.makedirs(root)
        os.makedirs(state)
        spawn("agent-" + host, [os.path.join(BIN, "rollback-agent"), "--socket", sock, "--agent-id", host,
                                "--keyring", agent_keyring, "--work-root", root, "--state-dir", state, "--log-level", "warning"])
        hosts.append((host, sock))
        agent_roots[host] = root
    for host, sock in hosts:
        wait_for("agent " + host, lambda: os.path.exists(sock))

    common = ["--postgres-url", ENV["PGURL"], "--redis-url", ENV["REDISURL"], "--keyring", broker_keyring,
              "--log-level", "warning", "--set", "rateLimitPerUser=100000"]
    api_ports = [free_port(), free_port()]
    apis_processes = []
    for n, port in enumerate(api_ports):
        apis_processes.append(spawn("api-%d" % n, [os.path.join(BIN, "rollback-broker"), "serve", "--port", str(port),
                                                   "--set", "postgresMaxConnections=10"] + common))
        wait_for("API %d" % n, lambda: subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/readyz" % port],
                                                      capture_output=True).returncode == 0)
    dispatchers = []
    for host, sock in hosts:
        dispatchers.append(spawn("dispatch-" + host, [
            os.path.join(BIN, "rollback-broker"), "dispatch", "--port", "0", "--agent", "%s=%s" % (host, sock),
            "--agent-keyring", agent_keyring, "--set", "postgresMaxConnections=2"] + common))
    apis = [Broker(broker_keyring, "http://127.0.0.1:%d" % port) for port in api_ports]

    projects, host_of = [], {}
    for i in range(PROJECTS):
        project, host = "p%03d-%d" % (i, os.getpid()), hosts[i % len(hosts)][0]
        status, text = apis[0].request("POST", "/v1/projects", json.dumps(
            {"projectId": project, "userId": "u-" + project, "host": host}).encode())
        assert status in (200, 201), text
        for name in ("A", "B"):
            sha, size = artifacts[name]
            status, text = apis[0].request("POST", "/v1/projects/%s/versions" % project, json.dumps(
                {"versionId": "%s-%s" % (project, name), "artifactUrl": "%s/%s.zip" % (base, name),
                 "artifactSha256": sha, "artifactSize": size, "previewUrl": "https://%s.example.com" % name}).encode())
            assert status in (200, 201), text
        projects.append(project)
        host_of[project] = host
    print("fleet: %d agents, %d dispatchers, 2 API instances, %d projects; storm %.1f rollbacks/s for %.0f s" % (
        AGENTS, len(dispatchers), PROJECTS, RATE, DURATION), flush=True)
    time.sleep(3)  # the dispatchers' start-up (schema check, first claims) out of the idle window

    ok = asyncio.run(main_async(apis, projects, artifacts))
    ok = check_trees(agent_roots, host_of) and ok
    api_rss = [rss_mb(p.pid) for p in apis_processes]
    dispatch_rss = sorted(rss_mb(p.pid) for p in dispatchers)
    print("\nRSS: API instances %s MB; dispatchers median %d MB, max %d MB; agents median %d MB" % (
        api_rss, statistics.median(dispatch_rss), dispatch_rss[-1],
        statistics.median(rss_mb(p.pid) for n, p in processes if n.startswith("agent-"))))
    return ok


if __name__ == "__main__":
    try:
        result = main()
    finally:
        for name, process in reversed(processes):
            process.terminate()
        for name, process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    print("\nfleet benchmark: %s" % ("all checks passed" if result else "CHECKS FAILED"))
    sys.exit(0 if result else 1)
