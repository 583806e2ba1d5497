#!/usr/bin/env python3
"""The soak (see scripts/soak): a busy fleet under every fault at once, then an invariant check.

Starts AGENTS agents, one `rollback-broker dispatch` per host, two `rollback-broker serve` API
instances and a webhook receiver, registers PROJECTS projects (three versions each), follows every
project's event stream, and for DURATION seconds sends rollbacks (with Idempotency-Keys, retried
on the other instance when an answer is lost), previews, cancels, freezes and builds, while a
fault injector, at random instants, SIGKILLs and restarts API instances, dispatchers and agents,
SIGSTOPs a dispatcher past its lease and resumes it, restarts Redis or FLUSHALLs it, and restarts
PostgreSQL. Every kind of fault happens at least once. Then it lets the fleet settle and checks:

  1. every accepted rollback ended exactly once (one terminal event, one terminal job);
  2. at most one commit per rollback in its working directory;
  3. no project is left rolling back, and none without a live job;
  4. every held build was released or purged exactly once;
  5. each project's event stream, as its follower saw it across reconnects, is gapless, ordered,
     without duplicates (the same ids as PostgreSQL holds);
  6. every working directory holds its project's current version, `git status` clean, `git fsck`
     clean;
  7. no stale write took effect: each project's current version is its last completed rollback's;
  8. every webhook delivery was made (the receiver got every event of the subscribed types).

Prints faults by kind, requests by outcome, rollbacks by outcome, and each check's violations.
Environment: BIN, WORK, PGURL, REDISURL, PG_BIN, SERVICES_PG_DIR, SERVICES_PG_PORT, SERVICES_REDIS_PORT,
SERVICES_REDIS_DIR, DURATION, AGENTS, PROJECTS, SEED.
"""
import base64
import collections
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
from rollback_http import Broker  # noqa: E402

ENV = os.environ
BIN, WORK = ENV["BIN"], ENV["WORK"]
DURATION = float(ENV.get("DURATION", "300"))
AGENTS, PROJECTS = int(ENV.get("AGENTS", "3")), int(ENV.get("PROJECTS", "12"))
SEED = int(ENV.get("SEED", "1"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEASE_SECONDS = 4
FAULT_KINDS = ["kill-api", "kill-dispatcher", "kill-agent", "stop-dispatcher-past-lease", "restart-redis",
               "flushall-redis", "restart-postgres"]
rng = random.Random(SEED)
lock = threading.Lock()
stopping = threading.Event()


def log(message):
    print("[%6.1f s] %s" % (time.monotonic() - STARTED, message), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql):
    out = subprocess.run(["psql", ENV["PGURL"], "-At", "-F", "|", "-c", sql], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode())
    return out.stdout.decode().strip()


class Process:
    """One daemon of the fleet, restartable with the same arguments."""

    def __init__(self, name, args, ready=None):
        self.name, self.args, self.ready, self.process = name, args, ready, None
        self.log = open(os.path.join(WORK, name + ".log"), "a")

    def start(self):
        self.process = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while self.ready and not self.ready():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("%s did not start: see %s/%s.log" % (self.name, WORK, self.name))
            time.sleep(0.05)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def http_ready(port):
    return lambda: subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/readyz" % port], capture_output=True).returncode == 0


class Redis:
    port = int(ENV["SERVICES_REDIS_PORT"])

    @classmethod
    def restart(cls):
        subprocess.run(["redis-cli", "-p", str(cls.port), "shutdown", "nosave"], capture_output=True)
        directory = ENV["SERVICES_REDIS_DIR"]
        time.sleep(rng.uniform(0.2, 2))
        subprocess.run(["redis-server", "--port", str(cls.port), "--bind", "127.0.0.1", "--daemonize", "yes", "--save", "",
                        "--appendonly", "no", "--dir", directory, "--pidfile", directory + "/redis.pid",
                        "--logfile", directory + "/redis.log"], check=True)

    @classmethod
    def flushall(cls):
        subprocess.run(["redis-cli", "-p", str(cls.port), "flushall"], capture_output=True)


class Postgres:
    @staticmethod
    def restart():
        result = subprocess.run(["bash", "-c", 'source scripts/lib/services.sh && restart_postgres "$0"',
                                 "%.1f" % rng.uniform(0.2, 2)], cwd=ROOT, capture_output=True, timeout=120)
        if result.returncode != 0:
            raise SystemExit("PostgreSQL did not come back: %s" % result.stderr.decode())


# --- the fleet ------------------------------------------------------------------------------

def keyring(path, keys):
    json.dump({"keys": keys}, open(path, "w"))
    os.chmod(path, 0o600)
    return path


def make_artifacts(www):
    """Three versions of a small project; each changes a few files and the VERSION marker."""
    files = {"app/r%02d/c%03d.js" % (i % 12, i): ("// %d\n" % i).encode() * 20 for i in range(60)}
    result = {}
    for n, name in enumerate("ABC"):
        tree = dict(files, VERSION=name.encode())
        for i in range(n * 5, n * 5 + 5):
            tree["app/r%02d/c%03d.js" % (i % 12, i)] += name.encode()
        source = os.path.join(WORK, "tree-" + name)
        for path, data in tree.items():
            os.makedirs(os.path.dirname(os.path.join(source, path)) or source, exist_ok=True)
            open(os.path.join(source, path), "wb").write(data)
        zip_path = os.path.join(www, name + ".zip")
        subprocess.run(["zip", "-q", "-r", "-X", zip_path, "."], cwd=source, check=True)
        sha = subprocess.run(["sha256sum", zip_path], capture_output=True, check=True).stdout.split()[0].decode()
        result[name] = (sha, os.path.getsize(zip_path))
    return result


class Fleet:
    def __init__(self):
        self.www = os.path.join(WORK, "www")
        os.makedirs(self.www)
        self.artifacts = make_artifacts(self.www)
        portfile = os.path.join(WORK, "http.port")
        self.files = Process("artifacts", ["python3", os.path.join(ROOT, "Tests/Fixtures/fixtures.py"), "serve",
                                           self.www, portfile], ready=lambda: os.path.exists(portfile))
        self.files.start()
        self.base = "http://127.0.0.1:%s" % open(portfile).read().strip()
        self.deliveries = os.path.join(WORK, "deliveries.jsonl")
        hook_portfile = os.path.join(WORK, "hook.port")
        self.receiver = Process("webhook-receiver", ["python3", os.path.join(ROOT, "Tests/Fixtures/fixtures.py"),
                                                     "webhook-receiver", self.deliveries, "0", hook_portfile],
                                ready=lambda: os.path.exists(hook_portfile))
        self.receiver.start()
        self.hook_url = "http://127.0.0.1:%s/hook" % open(hook_portfile).read().strip()

        secret = lambda: base64.b64encode(os.urandom(32)).decode()  # noqa: E731
        web = {"id": "web-1", "caller": "web", "secret": secret()}
        admin = {"id": "admin-1", "secret": secret(), "kind": "operator", "actor": "soak-admin", "role": "admin"}
        broker_keyring = keyring(os.path.join(WORK, "broker-keyring.json"), [web, admin])
        self.web_keyring = keyring(os.path.join(WORK, "web.json"), [web])
        self.admin_keyring = keyring(os.path.join(WORK, "admin.json"), [admin])
        agent_keyring = keyring(os.path.join(WORK, "agent-keyring.json"), [{"id": "a1", "secret": secret()}])

        self.agents, self.dispatchers, self.apis, self.roots = [], [], [], {}
        for i in range(AGENTS):
            host = "build-%02d" % i
            root, state, sock = (os.path.join(WORK, "%s-%s" % (kind, host)) for kind in ("root", "state", "sock"))
            os.makedirs(root)
            os.makedirs(state)
            agent = Process("agent-" + host, [os.path.join(BIN, "rollback-agent"), "--socket", sock, "--agent-id", host,
                                              "--keyring", agent_keyring, "--work-root", root, "--state-dir", state,
                                              "--log-level", "warning"],
                            ready=lambda sock=sock: os.path.exists(sock))
            agent.host, agent.sock = host, sock
            self.agents.append(agent)
            self.roots[host] = root
        common = ["--postgres-url", ENV["PGURL"], "--redis-url", ENV["REDISURL"], "--keyring", broker_keyring,
                  "--log-level", ENV.get("SOAK_LOG_LEVEL", "warning"), "--set", "rateLimitPerUser=100000", "--set", "jobLeaseSeconds=%d" % LEASE_SECONDS,
                  "--set", "safetyNetPollMilliseconds=1000", "--set", "webhookRetryBaseMilliseconds=200",
                  "--set", "webhookRetryMaxMilliseconds=2000"]
        # The API instances reach the agents too: a preview asks the agent directly.
        agents_of_api = ["--agent-keyring", agent_keyring]
        for agent in self.agents:
            agents_of_api += ["--agent", "%s=%s" % (agent.host, agent.sock)]
        for n in range(2):
            port = free_port()
            api = Process("api-%d" % n, [os.path.join(BIN, "rollback-broker"), "serve", "--port", str(port)] + common
                          + agents_of_api, ready=http_ready(port))
            api.port = port
            self.apis.append(api)
        for agent in self.agents:
            self.dispatchers.append(Process("dispatch-" + agent.host, [
                os.path.join(BIN, "rollback-broker"), "dispatch", "--port", "0", "--agent",
                "%s=%s" % (agent.host, agent.sock), "--agent-keyring", agent_keyring] + common))
        for process in self.agents + self.apis + self.dispatchers:
            process.start()
        self.web = [Broker(self.web_keyring, "http://127.0.0.1:%d" % api.port) for api in self.apis]
        self.admin = Broker(self.admin_keyring, "http://127.0.0.1:%d" % self.apis[0].port)

    def all(self):
        return [self.files, self.receiver] + self.agents + self.apis + self.dispatchers

    def stop(self):
        for process in reversed(self.all()):
            process.stop()


# --- the workload ---------------------------------------------------------------------------

class Record:
    def __init__(self):
        self.requests = collections.Counter()
        self.accepted = {}  # rollbackVersionId -> project
        self.held_builds = set()  # (project, buildId)
        self.faults = collections.Counter()
        self.events = collections.defaultdict(list)  # project -> ids as followers saw them
        self.crashed = []  # threads of this script that died of an exception: the run proves nothing


def call(fleet, record, label, method, path, body, key=None, retry=True):
    """One request, to a random API instance; a lost answer (connection refused or reset, 5xx) is
    retried once on the other, with the same Idempotency-Key."""
    order = rng.sample(range(len(fleet.web)), len(fleet.web))
    extra = {"Idempotency-Key": key} if key else None
    for attempt, index in enumerate(order[: 2 if retry else 1]):
        try:
            status, text = fleet.web[index].request(method, path, json.dumps(body).encode(), extra)
        except (OSError, http.client.HTTPException) as error:
            with lock:
                record.requests["%s: %s" % (label, type(error).__name__)] += 1
            continue
        code = ""
        if 400 <= status:
            try:
                code = " " + json.loads(text)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                pass
        with lock:
            record.requests["%s: %d%s" % (label, status, code)] += 1
        if status < 500:
            return status, text
    return None, None


def workload(fleet, record, projects):
    versions = {p: ["%s-%s" % (p, name) for name in "ABC"] for p in projects}
    builds = 0
    while not stopping.is_set():
        project = rng.choice(projects)
        user = "u-" + project
        action = rng.choices(["rollback", "preview", "cancel", "freeze", "unfreeze", "build"],
                             weights=[45, 8, 10, 4, 6, 27])[0]
        if action == "rollback":
            status, text = call(fleet, record, "rollback", "POST", "/v1/versions/rollback",
                                {"userId": user, "projectId": project, "targetVersionId": rng.choice(versions[project]),
                                 "reason": "soak"}, key=str(uuid.uuid4()))
            if status == 200:
                with lock:
                    record.accepted[json.loads(text)["rollbackVersionId"]] = project
        elif action == "preview":
            call(fleet, record, "preview", "POST", "/v1/versions/rollback/preview",
                 {"userId": user, "projectId": project, "targetVersionId": rng.choice(versions[project])})
        elif action == "cancel":
            call(fleet, record, "cancel", "POST", "/v1/projects/%s/rollback/cancel" % project,
                 {"userId": user, "reason": "soak cancel"})
        elif action == "freeze":
            call(fleet, record, "freeze", "POST", "/v1/projects/%s/freeze" % project, {"userId": user, "reason": "soak"})
        elif action == "unfreeze":
            call(fleet, record, "unfreeze", "POST", "/v1/projects/%s/unfreeze" % project, {"userId": user, "reason": "soak"})
        else:
            builds += 1
            build_id = "b%d-%d" % (threading.get_ident() % 1000, builds)
            status, _ = call(fleet, record, "build", "POST", "/v1/builds",
                             {"projectId": project, "buildId": build_id, "payload": "soak"})
            if status == 202:
                with lock:
                    record.held_builds.add((project, build_id))
        time.sleep(rng.uniform(0.02, 0.12))


def follow(fleet, record, project, index):
    """Follows a project's events for ever, reconnecting (with Last-Event-ID) to either instance.
    Why each stream ended is counted: a cut connection (an instance killed) is an IncompleteRead."""
    last = None
    while True:
        broker = fleet.web[index % len(fleet.web)]
        index += 1
        ended = "closed"
        try:
            for event_id, _, _ in broker.events(project, last_event_id=last, timeout=30):
                with lock:
                    record.events[project].append(int(event_id))
                last = event_id
        except (OSError, http.client.HTTPException, SystemExit, ValueError) as error:
            ended = type(error).__name__
        with lock:
            record.requests["follow ended: %s" % ended] += 1
        if stopping.is_set() and FOLLOWERS_DONE.is_set():
            return
        time.sleep(0.2)


FOLLOWERS_DONE = threading.Event()


def inject_faults(fleet, record):
    """A fault at a random instant every 2-6 s; the kinds in shuffled rounds, so each happens."""
    kinds = []
    while not stopping.wait(rng.uniform(2, 6)):
        if not kinds:
            kinds = rng.sample(FAULT_KINDS, len(FAULT_KINDS))
        kind = kinds.pop()
        try:
            killable = {"kill-api": fleet.apis, "kill-dispatcher": fleet.dispatchers, "kill-agent": fleet.agents}
            if kind in killable:
                target = rng.choice(killable[kind])
                target.kill()
                time.sleep(rng.uniform(0.2, 2))
                target.start()
            elif kind == "stop-dispatcher-past-lease":
                target = rng.choice(fleet.dispatchers)
                target.process.send_signal(signal.SIGSTOP)
                time.sleep(LEASE_SECONDS + rng.uniform(1, 3))
                target.process.send_signal(signal.SIGCONT)
            elif kind == "restart-redis":
                Redis.restart()
            elif kind == "flushall-redis":
                Redis.flushall()
            elif kind == "restart-postgres":
                Postgres.restart()
        except SystemExit as error:
            log("fault %s: %s" % (kind, error))
            raise
        with lock:
            record.faults[kind] += 1
        log("fault: %s" % kind)


# --- the checks -----------------------------------------------------------------------------

def settle(fleet, projects, timeout=int(ENV.get("SETTLE_SECONDS", "300"))):
    """Every daemon up, every project unfrozen, then until nothing is left in flight."""
    for process in fleet.all():
        if not process.alive():
            process.start()
    for project in projects:
        call(fleet, Record(), "unfreeze", "POST", "/v1/projects/%s/unfreeze" % project,
             {"userId": "u-" + project, "reason": "soak over"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = psql("SELECT (SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')) + "
                    "(SELECT count(*) FROM projects WHERE status = 'rollingBack') + "
                    "(SELECT count(*) FROM held_builds WHERE state = 'held') + "
                    "(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending')")
        if busy == "0":
            return time.monotonic() - (deadline - timeout)
        time.sleep(0.5)
    # What is stuck, for the log: the unfinished jobs and who holds them.
    log("not settled; unfinished jobs:\n" + psql(
        "SELECT id, project_id, host, state, attempts, lease_owner, lease_expires_at - now(), updated_at FROM jobs "
        "WHERE state IN ('queued', 'running')"))
    return None


def check(fleet, record, projects, host_of, subscribed_from):
    violations = collections.defaultdict(list)
    terminal, outcomes = collections.Counter(), collections.Counter()
    for row in psql("SELECT payload->>'rollbackVersionId', type FROM events WHERE type IN "
                    "('rollbackCompleted', 'rollbackFailed', 'rollbackCanceled')").splitlines():
        version, kind = row.split("|")
        terminal[version] += 1
        outcomes[kind] += 1
    jobs = collections.Counter()
    job_states = {}
    for row in psql("SELECT version_id, state FROM jobs").splitlines():
        version, state = row.split("|")
        jobs[version] += 1
        job_states[version] = state
    for version in record.accepted:
        if terminal[version] != 1:
            violations["1. rollback ended exactly once"].append("%s: %d terminal events" % (version, terminal[version]))
        if jobs[version] != 1 or job_states.get(version) not in ("succeeded", "failed", "canceled"):
            violations["1. rollback ended exactly once"].append(
                "%s: %d jobs, state %s" % (version, jobs[version], job_states.get(version)))

    for project in projects:
        directory = os.path.join(fleet.roots[host_of[project]], project)
        if not os.path.isdir(os.path.join(directory, ".git")):
            continue
        messages = subprocess.run(["git", "-C", directory, "log", "--format=%B"], capture_output=True).stdout.decode()
        commits = collections.Counter(line.split(": ", 1)[1] for line in messages.splitlines()
                                      if line.startswith("Rollback version: "))
        for version, count in commits.items():
            if count > 1:
                violations["2. at most one commit per rollback"].append("%s: %d commits" % (version, count))

    stuck = psql("SELECT id FROM projects p WHERE status = 'rollingBack' OR (active_job_id IS NOT NULL AND NOT EXISTS "
                 "(SELECT 1 FROM jobs j WHERE j.id = p.active_job_id AND j.state IN ('queued', 'running')))")
    if stuck:
        violations["3. no project left rolling back"].extend(stuck.splitlines())

    settled = collections.Counter()
    for row in psql("SELECT project_id, payload->>'buildId' FROM events WHERE type IN ('buildReleased', 'buildPurged')"
                    ).splitlines():
        settled[tuple(row.split("|"))] += 1
    held_rows = psql("SELECT project_id, build_id, state FROM held_builds").splitlines()
    for row in held_rows:
        project, build, state = row.split("|")
        if state == "held" or settled[(project, build)] != 1:
            violations["4. held build settled exactly once"].append("%s/%s: %s, %d events" % (
                project, build, state, settled[(project, build)]))
    for project, build in record.held_builds:
        if not any(r.startswith("%s|%s|" % (project, build)) for r in held_rows):
            violations["4. held build settled exactly once"].append("%s/%s: answered 202, not stored" % (project, build))

    deadline = time.monotonic() + 30
    while True:
        stored = collections.defaultdict(list)
        for row in psql("SELECT project_id, id FROM events ORDER BY id").splitlines():
            project, event_id = row.split("|")
            stored[project].append(int(event_id))
        with lock:
            differ = [p for p in projects if record.events[p] != stored[p]]
        if not differ or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for project in differ:
        seen = record.events[project]
        violations["5. event stream gapless, ordered, once"].append("%s: saw %d (%d distinct), stored %d" % (
            project, len(seen), len(set(seen)), len(stored[project])))

    current = dict(row.split("|", 1) for row in psql(
        "SELECT p.id, p.current_version_id || '|' || coalesce(v.artifact_url, '') || '|' || v.kind "
        "FROM projects p JOIN project_versions v ON v.id = p.current_version_id").splitlines())
    for project in projects:
        version, url, kind = current[project].split("|")
        directory = os.path.join(fleet.roots[host_of[project]], project)
        if not os.path.isdir(directory):
            continue
        marker = open(os.path.join(directory, "VERSION")).read() if os.path.exists(os.path.join(directory, "VERSION")) else ""
        expected = url.rsplit("/", 1)[-1].split(".")[0]
        status = subprocess.run(["git", "-C", directory, "status", "--porcelain"], capture_output=True).stdout.decode()
        fsck = subprocess.run(["git", "-C", directory, "fsck", "--strict"], capture_output=True)
        tags = subprocess.run(["git", "-C", directory, "tag", "--points-at", "HEAD"], capture_output=True).stdout.decode()
        problems = []
        if marker != expected:
            problems.append("holds %s, current is %s" % (marker or "nothing", expected))
        if status:
            problems.append("git status not clean")
        if fsck.returncode != 0:
            problems.append("git fsck: %s" % fsck.stderr.decode().strip()[:200])
        if kind == "rollback" and "rollback/" + version not in tags.split():
            problems.append("HEAD not tagged rollback/%s" % version)
        if problems:
            violations["6. working directory at the current version, git clean"].append(
                "%s: %s" % (project, "; ".join(problems)))

    last_completed = dict(row.split("|") for row in psql(
        "SELECT DISTINCT ON (project_id) project_id, payload->>'rollbackVersionId' FROM events "
        "WHERE type = 'rollbackCompleted' ORDER BY project_id, id DESC").splitlines())
    for project, version in last_completed.items():
        if project in current and current[project].split("|")[0] != version:
            violations["7. no stale write took effect"].append("%s: current %s, last completed %s" % (
                project, current[project].split("|")[0], version))

    delivered = set()
    if os.path.exists(fleet.deliveries):
        for line in open(fleet.deliveries):
            headers = {k.lower(): v for k, v in json.loads(line).get("headers", {}).items()}
            if "rollback-event-id" in headers:
                delivered.add(int(headers["rollback-event-id"]))
    wanted = [int(x) for x in psql("SELECT id FROM events WHERE id > %d AND type <> 'rollbackProgress'"
                                   % subscribed_from).splitlines() if x]
    missing = [event_id for event_id in wanted if event_id not in delivered]
    if missing:
        violations["8. every webhook delivered"].append("%d of %d events never delivered, e.g. %s" % (
            len(missing), len(wanted), missing[:5]))
    return violations, outcomes, len(wanted), len(delivered)


def count_crashes(record, hook=threading.excepthook):
    """A worker thread that dies stops its load or its checks silently; this makes it a failure."""
    def excepthook(args):
        with lock:
            record.crashed.append("%s: %s: %s" % (args.thread.name, args.exc_type.__name__, args.exc_value))
        hook(args)
    return excepthook


def main():
    global STARTED
    STARTED = time.monotonic()
    fleet = Fleet()
    record = Record()
    threading.excepthook = count_crashes(record)
    try:
        projects, host_of = [], {}
        for i in range(PROJECTS):
            project, host = "s%02d-%d" % (i, os.getpid()), fleet.agents[i % AGENTS].host
            status, text = fleet.web[0].request("POST", "/v1/projects", json.dumps(
                {"projectId": project, "userId": "u-" + project, "host": host}).encode())
            assert status in (200, 201), text
            for name in "ABC":
                sha, size = fleet.artifacts[name]
                status, text = fleet.web[0].request("POST", "/v1/projects/%s/versions" % project, json.dumps(
                    {"versionId": "%s-%s" % (project, name), "artifactUrl": "%s/%s.zip" % (fleet.base, name),
                     "artifactSha256": sha, "artifactSize": size,
                     "previewUrl": "https://%s-%s.preview.example" % (project, name.lower())}).encode())
                assert status in (200, 201), text
            projects.append(project)
            host_of[project] = host
        subscribed_from = int(psql("SELECT coalesce(max(id), 0) FROM events"))
        status, text = fleet.admin.request("POST", "/v1/webhooks", json.dumps(
            {"url": fleet.hook_url, "eventTypes": ["rollbackStarted", "rollbackCompleted", "rollbackFailed",
                                                   "rollbackCanceled", "buildReleased", "buildPurged"]}).encode())
        assert status in (200, 201), text
        log("soak: %d agents, %d dispatchers, 2 API instances, %d projects, %.0f s of load and faults (seed %d)"
            % (AGENTS, len(fleet.dispatchers), PROJECTS, DURATION, SEED))

        threads = [threading.Thread(target=follow, args=(fleet, record, p, i), daemon=True)
                   for i, p in enumerate(projects)]
        threads += [threading.Thread(target=workload, args=(fleet, record, projects), daemon=True) for _ in range(3)]
        faults = threading.Thread(target=inject_faults, args=(fleet, record), daemon=True)
        for thread in threads:
            thread.start()
        faults.start()
        time.sleep(DURATION)
        stopping.set()
        faults.join()
        took = settle(fleet, projects)
        log("settled %s" % ("in %.1f s" % took if took is not None else "NOT within 300 s"))
        violations, outcomes, wanted, delivered = check(fleet, record, projects, host_of, subscribed_from)
        FOLLOWERS_DONE.set()
    finally:
        stopping.set()
        fleet.stop()

    print("\nfaults injected: %d (%s)" % (sum(record.faults.values()),
                                          ", ".join("%s %d" % (k, record.faults[k]) for k in FAULT_KINDS)))
    print("requests: " + ", ".join("%s %d" % item for item in sorted(record.requests.items())))
    print("rollbacks accepted: %d; ended: %s" % (len(record.accepted), dict(outcomes)))
    print("held builds: %d; webhook events: %d wanted, %d distinct delivered" % (
        len(record.held_builds), wanted, delivered))
    names = ["1. rollback ended exactly once", "2. at most one commit per rollback", "3. no project left rolling back",
             "4. held build settled exactly once", "5. event stream gapless, ordered, once",
             "6. working directory at the current version, git clean", "7. no stale write took effect",
             "8. every webhook delivered"]
    total = 0
    for name in names:
        found = violations.get(name, [])
        total += len(found)
        print("  %-58s %d violations%s" % (name, len(found), (": " + "; ".join(found[:3])) if found else ""))
    missing_kinds = [k for k in FAULT_KINDS if record.faults[k] == 0]
    if missing_kinds:
        print("  fault kinds that never happened: %s" % ", ".join(missing_kinds))
    if took is None:
        print("  the fleet did not settle")
    for crash in record.crashed:
        print("  a thread of the soak died, so its load or its record stopped: %s" % crash)
    ok = total == 0 and not missing_kinds and took is not None and not record.crashed
    print("\nsoak: %s (%d violations)" % ("PASS" if ok else "FAIL", total))
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
