#!/usr/bin/env python3
"""Drives the agent benchmark (see scripts/benchmark-agent): per shape and round, a full sync
(v0 -> v1) and, right after it, an incremental one (v1 -> v2), by the agent and by the shell
pipeline a person would use (curl, sha256sum, unzip -o, git add -A, commit, tag), each from
its own copy of the same starting tree, alternating which goes first. Checks that both end at
the same git tree. For the media shape, samples the agent's RSS (anonymous and file-backed).

  run_benchmark.py BIN WORK ROUNDS SHAPE[,SHAPE...]
"""
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

BIN, WORK, ROUNDS, SHAPES = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VERBOSE = os.environ.get("VERBOSE") == "1"  # print the agent's answers (phase timings)
# A file name: `perf record -g` of the agent during each incremental sync, to FILE.<shape>-<round>.
PROFILE = os.environ.get("PROFILE_INCREMENTAL")
# AGENT_ONLY=1: skip the shell pipeline (for profiling the agent; no ratios, no tree check).
AGENT_ONLY = os.environ.get("AGENT_ONLY") == "1"
GIT = ["git", "-c", "user.name=b", "-c", "user.email=b@b", "-c", "gc.auto=0"]
STORED = ".jpg:.png:.webp:.mp4:.woff2:.ico"  # what zip should not try to compress


def run(args, **kwargs):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs).stdout


def flush():
    os.sync()


def start_tree(source, target):
    shutil.rmtree(target, ignore_errors=True)
    run(["cp", "-a", source, target])
    run(GIT + ["-C", target, "init", "-q", "-b", "main"])
    run(GIT + ["-C", target, "add", "-A"])
    run(GIT + ["-C", target, "commit", "-q", "-m", "v0"])


class Server:
    def __init__(self, directory):
        portfile = os.path.join(WORK, "http.port")
        self.process = subprocess.Popen(
            ["python3", os.path.join(ROOT, "Tests/Fixtures/fixtures.py"), "serve", directory, portfile])
        while not os.path.exists(portfile):
            time.sleep(0.05)
        self.base = "http://127.0.0.1:%s" % open(portfile).read().strip()


class Agent:
    def __init__(self, name):
        self.root = os.path.join(WORK, "agent-" + name)
        self.state = os.path.join(WORK, "state-" + name)
        self.socket = os.path.join(WORK, "agent-%s.sock" % name)
        for d in (self.root, self.state):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        self.keyring = os.path.join(WORK, "keyring.json")
        self.process = subprocess.Popen(
            [os.path.join(BIN, "rollback-agent"), "--socket", self.socket, "--agent-id", "bench",
             "--keyring", self.keyring, "--work-root", self.root, "--state-dir", self.state,
             "--log-level", "warning"], stderr=open(os.path.join(WORK, "agent.log"), "a"))
        deadline = time.time() + 30
        while subprocess.run(self.ctl(["health"]), capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise SystemExit("the agent did not start: see %s/agent.log" % WORK)
            time.sleep(0.05)

    def ctl(self, args):
        return [os.path.join(BIN, "rollbackctl"), "agent"] + args + [
            "--socket", self.socket, "--agent-id", "bench", "--keyring", self.keyring]

    def sync(self, job, project, artifact, epoch):
        out = run(self.ctl(["sync", "--quiet", "--job", job, "--project", project, "--rollback-version",
                            "r-" + job, "--target-version", job, "--url", artifact["url"], "--sha256",
                            artifact["sha256"], "--size", str(artifact["size"]), "--epoch", str(epoch)]))
        return out.decode().strip()

    def stop(self):
        self.process.terminate()
        self.process.wait()


class RSSSampler(threading.Thread):
    """Peak RSS of a process, and its anonymous and file-backed parts at that peak."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.stopping, self.peak = pid, False, (0, 0, 0)

    def run(self):
        while not self.stopping:
            fields = {}
            try:
                for line in open("/proc/%d/status" % self.pid):
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                        fields[key] = int(value.split()[0]) // 1024
            except OSError:
                return
            if fields.get("VmRSS", 0) > self.peak[0]:
                self.peak = (fields["VmRSS"], fields.get("RssAnon", 0), fields.get("RssFile", 0))
            time.sleep(0.01)

    def stop(self):
        self.stopping = True
        self.join()
        hwm = 0
        for line in open("/proc/%d/status" % self.pid):
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) // 1024
        return self.peak, hwm


def pipeline(directory, url, tag):
    script = ('set -e; cd "$1"; curl -sf -o ../p.zip "$2"; sha256sum ../p.zip >/dev/null; unzip -o -q ../p.zip; '
              'git -c gc.auto=0 add -A; git -c user.name=b -c user.email=b@b -c gc.auto=0 commit -q -m m; git tag "$3"')
    run(["bash", "-c", script, "pipeline", directory, url, tag])


def timed(body):
    started = time.monotonic()
    result = body()
    return time.monotonic() - started, result


def tree_id(directory):
    return run(GIT + ["-C", directory, "rev-parse", "HEAD^{tree}"]).decode().strip()


def bench_shape(shape, server_dir, server):
    trees = os.path.join(WORK, "trees-" + shape)
    description = run(["python3", os.path.join(HERE, "shapes.py"), shape, trees]).decode().strip()
    artifacts = {}
    for version in ("v1", "v2"):
        zip_path = os.path.join(server_dir, "%s-%s.zip" % (shape, version))
        if os.path.exists(zip_path):
            os.unlink(zip_path)
        run(["zip", "-q", "-r", "-X", "-n", STORED, zip_path, "."], cwd=os.path.join(trees, version))
        digest = hashlib.sha256()
        with open(zip_path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        artifacts[version] = {"url": "%s/%s-%s.zip" % (server.base, shape, version), "sha256": digest.hexdigest(),
                              "size": os.path.getsize(zip_path)}
    print("\n%s (v1.zip %.0f MB)" % (description, artifacts["v1"]["size"] / 1e6), flush=True)
    print("  round  order          full: agent   shell   ratio | incremental: agent   shell   ratio | same tree")
    rows = []
    for round_number in range(1, ROUNDS + 1):
        name = "%s-%d" % (shape, round_number)
        agent = Agent(name)
        project = os.path.join(agent.root, "proj")
        shell_tree = os.path.join(WORK, "shell-" + name)
        start_tree(os.path.join(trees, "v0"), project)
        if not AGENT_ONLY:
            start_tree(os.path.join(trees, "v0"), shell_tree)
        sampler = RSSSampler(agent.process.pid) if shape == "media" else None

        def agent_side():
            flush()
            if sampler:
                sampler.start()
            full, full_result = timed(lambda: agent.sync("full", "proj", artifacts["v1"], 1))
            profiler = subprocess.Popen(
                ["perf", "record", "-q", "-g", "-F", "2000", "-p", str(agent.process.pid),
                 "-o", "%s.%s" % (PROFILE, name)]) if PROFILE else None
            incremental, result = timed(lambda: agent.sync("inc", "proj", artifacts["v2"], 2))
            if profiler:
                profiler.send_signal(signal.SIGINT)
                profiler.wait()
            if VERBOSE:
                print("         agent full: %s\n         agent incremental: %s" % (full_result, result))
            return full, incremental

        def shell_side():
            flush()
            full, _ = timed(lambda: pipeline(shell_tree, artifacts["v1"]["url"], "t1"))
            incremental, _ = timed(lambda: pipeline(shell_tree, artifacts["v2"]["url"], "t2"))
            return full, incremental

        agent_first = round_number % 2 == 1
        if AGENT_ONLY:
            a = agent_side()
            print("  %5d  agent only     %10.2f s %19s | %17.3f s" % (round_number, a[0], "", a[1]), flush=True)
            agent.stop()
            shutil.rmtree(agent.root, ignore_errors=True)
            shutil.rmtree(agent.state, ignore_errors=True)
            continue
        if agent_first:
            a, s = agent_side(), shell_side()
        else:
            s, a = shell_side(), agent_side()
        rss = sampler.stop() if sampler else None
        same = tree_id(project) == tree_id(shell_tree)
        rows.append((a, s, rss))
        print("  %5d  %-13s  %10.2f s %6.2f s %6.2f | %17.3f s %6.2f s %6.3f | %s" % (
            round_number, "agent first" if agent_first else "shell first", a[0], s[0], a[0] / s[0],
            a[1], s[1], a[1] / s[1], "yes" if same else "NO"), flush=True)
        if rss:
            (peak, anon, file_backed), hwm = rss
            print("         agent RSS: peak %d MB (anonymous %d MB, file-backed %d MB), VmHWM %d MB" % (
                peak, anon, file_backed, hwm), flush=True)
        agent.stop()
        shutil.rmtree(agent.root, ignore_errors=True)
        shutil.rmtree(shell_tree, ignore_errors=True)
        shutil.rmtree(agent.state, ignore_errors=True)
    if not AGENT_ONLY:
        report_ratios(shape, rows)
    shutil.rmtree(trees, ignore_errors=True)
    for version in ("v1", "v2"):
        os.unlink(os.path.join(server_dir, "%s-%s.zip" % (shape, version)))


def report_ratios(shape, rows):
    full = [a[0] / s[0] for a, s, _ in rows]
    inc = [a[1] / s[1] for a, s, _ in rows]
    print("  %s: full sync ratio median %.2f, worst %.2f; incremental ratio median %.3f, worst %.3f; "
          "incremental agent median %.3f s" % (shape, statistics.median(full), max(full), statistics.median(inc),
                                               max(inc), statistics.median(a[1] for a, _, _ in rows)))


def main():
    os.makedirs(WORK, exist_ok=True)
    keyring = os.path.join(WORK, "keyring.json")
    with open(keyring, "w") as f:
        json.dump({"keys": [{"id": "bench", "secret": __import__("base64").b64encode(os.urandom(32)).decode()}]}, f)
    os.chmod(keyring, 0o600)
    server_dir = os.path.join(WORK, "www")
    os.makedirs(server_dir, exist_ok=True)
    server = Server(server_dir)
    try:
        for shape in SHAPES:
            bench_shape(shape, server_dir, server)
    finally:
        server.process.terminate()


main()
