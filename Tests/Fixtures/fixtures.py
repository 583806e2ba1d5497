#!/usr/bin/env python3
"""Test fixtures that are easiest to make with Python's standard library: hostile ZIP archives
and small HTTP servers on loopback. Used by the Swift integration tests.

  fixtures.py hostile KIND OUT.zip      write a hostile archive of the given kind
  fixtures.py serve DIR PORTFILE        serve DIR over HTTP on a free loopback port
  fixtures.py serve-held DIR PORTFILE   like serve, but while FILE.hold exists send half of FILE and wait
  fixtures.py flaky-proxy PORT PORTFILE forward HTTP to PORT, dropping the first answer (after the server acted)
  fixtures.py stall PORTFILE            answer every request with headers and 10 bytes, then stall
  fixtures.py silent PORTFILE           accept connections, read what comes, never answer
  fixtures.py otlp OUT PORTFILE         an OTLP/HTTP collector: append each JSON export to OUT, one per line
  fixtures.py webhook-receiver OUT PORT PORTFILE
                                        a webhook receiver on PORT (0: a free one): append each delivery
                                        (path, headers, body) to OUT as one JSON line, answer 204
"""
import http.server
import os
import socketserver
import stat
import sys
import time
import zipfile


def entry(zf, name, data=b"x", mode=0o100644, compress=zipfile.ZIP_DEFLATED):
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (mode & 0xFFFF) << 16
    info.create_system = 3  # Unix
    info.compress_type = compress
    zf.writestr(info, data)


def hostile(kind, out):
    with zipfile.ZipFile(out, "w") as zf:
        entry(zf, "index.html", b"<h1>ok</h1>")
        if kind == "zip-slip":
            entry(zf, "assets/../../evil.txt", b"pwned")
        elif kind == "absolute":
            entry(zf, "/tmp/evil.txt", b"pwned")
        elif kind == "symlink-escape":
            entry(zf, "link", b"../../etc/passwd", mode=stat.S_IFLNK | 0o777)
        elif kind == "zip-bomb":
            entry(zf, "bomb.bin", b"\0" * (64 << 20))
        elif kind == "duplicate":
            import warnings
            warnings.simplefilter("ignore")
            entry(zf, "dup.txt", b"one")
            entry(zf, "dup.txt", b"two")
        elif kind == "device":
            entry(zf, "dev", b"", mode=stat.S_IFCHR | 0o600)
        elif kind == "git-dir":
            entry(zf, ".git/config", b"[core]\n")
        elif kind == "bad-crc":
            entry(zf, "data.txt", b"A" * 4096, compress=zipfile.ZIP_STORED)
        else:
            raise SystemExit("unknown kind " + kind)
    if kind == "bad-crc":
        # Flip one byte of the stored data; the headers keep the original CRC.
        raw = bytearray(open(out, "rb").read())
        at = raw.index(b"A" * 4096)
        raw[at + 100] = ord("B")
        open(out, "wb").write(raw)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Stall(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        time.sleep(3600)

    def log_message(self, *args):
        pass


class Silent(socketserver.BaseRequestHandler):
    """A server that has stopped answering: it takes every byte and sends none. Prints a line
    per connection accepted, so a test can count them in its log."""

    def handle(self):
        print("connection", flush=True)
        while self.request.recv(65536):
            pass


class Held(Quiet):
    """Serves files; while FILE.hold exists, sends half of FILE and waits for the hold to go.
    Every request leaves FILE.requested behind, so a test knows the download has begun."""

    def copyfile(self, source, outputfile):
        path = self.translate_path(self.path)
        data = source.read()
        half = len(data) // 2
        outputfile.write(data[:half])
        outputfile.flush()
        open(path + ".requested", "a").close()
        while os.path.exists(path + ".hold"):
            time.sleep(0.02)
        outputfile.write(data[half:])


class OTLPCollector(http.server.BaseHTTPRequestHandler):
    """Takes OTLP/HTTP exports (JSON encoding) and appends each body to the server's file as one
    line, so a test can read every span the processes exported."""
    out = None

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        import json
        try:
            line = json.dumps(json.loads(body), separators=(",", ":"))
        except ValueError:
            line = json.dumps({"unreadable": body[:200].hex(), "contentType": self.headers.get("Content-Type")})
        with open(OTLPCollector.out, "a") as f:
            f.write(self.path + " " + line + "\n")
        answer = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class WebhookReceiver(http.server.BaseHTTPRequestHandler):
    """Takes webhook deliveries: appends each as one JSON line {path, headers, body} to the
    server's file and answers 204, so a test can check every delivery, its order and its
    signature."""
    out = None
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        import json
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        line = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body.decode("utf-8", "replace")}, separators=(",", ":"))
        with open(WebhookReceiver.out, "a") as f:
            f.write(line + "\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def flaky_proxy(target_port, portfile):
    """Forwards HTTP requests to 127.0.0.1:TARGET_PORT. The first request is forwarded and
    answered by the target, but its answer is dropped (the client's connection is closed): the
    network failure after the server acted that retries must survive."""
    import socket
    import threading

    first = [True]
    lock = threading.Lock()

    def read_message(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def handle(client):
        with client:
            while True:
                request = read_message(client)
                if not request:
                    return
                upstream = socket.create_connection(("127.0.0.1", target_port))
                with upstream:
                    upstream.sendall(request)
                    response = read_message(upstream)
                with lock:
                    drop, first[0] = first[0], False
                if drop:
                    return
                client.sendall(response)

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        client, _ = server.accept()
        threading.Thread(target=handle, args=(client,), daemon=True).start()


def serve(handler, portfile, port=0):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", port), handler) as server:
        with open(portfile + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(portfile + ".tmp", portfile)
        server.serve_forever()


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "hostile":
        hostile(sys.argv[2], sys.argv[3])
    elif command == "serve":
        os.chdir(sys.argv[2])
        serve(Quiet, sys.argv[3])
    elif command == "serve-held":
        os.chdir(sys.argv[2])
        serve(Held, sys.argv[3])
    elif command == "flaky-proxy":
        flaky_proxy(int(sys.argv[2]), sys.argv[3])
    elif command == "stall":
        serve(Stall, sys.argv[2])
    elif command == "silent":
        serve(Silent, sys.argv[2])
    elif command == "webhook-receiver":
        WebhookReceiver.out = sys.argv[2]
        serve(WebhookReceiver, sys.argv[4], int(sys.argv[3]))
    elif command == "otlp":
        OTLPCollector.out = sys.argv[2]
        serve(OTLPCollector, sys.argv[3])
    else:
        raise SystemExit(__doc__)
