"""Small real servers on 127.0.0.1 for fault cases a healthy registry never produces.

`BlobServer` serves byte strings over HTTP with Range support and scripted faults (5xx answers,
a stream cut midway, Range ignored). `CuttingProxy` sits in front of any HTTP server and cuts the
first response to a chosen path midway, so a real registry's download gets interrupted.
"""

from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BlobServer:
    def __init__(self):
        self.blobs: dict[str, bytes] = {}
        self.requests: list[dict] = []  # method, path and headers of every request
        self.faults: list[str] = []  # consumed one per GET: "503", "cut", "ignore-range", "ok"
        # Any path under /expired answers 403, as an expired signed link does.
        self.etag = '"v1"'
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                fault = server.faults.pop(0) if server.faults else "ok"
                body = server.blobs.get(self.path.split("?")[0])
                if fault == "503":
                    return self._send(503, b"busy")
                if self.path.startswith("/expired"):
                    return self._send(403, b"Request has expired")
                if body is None:
                    return self._send(404, b"no such blob")
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if_range = self.headers.get("If-Range")
                if match and fault != "ignore-range" and (if_range in (None, server.etag)):
                    start = int(match.group(1))
                part = body[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(part)))
                self.send_header("ETag", server.etag)
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if fault == "cut":
                    self.wfile.write(part[: len(part) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(part)

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def gets(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"].split("?")[0] == path]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that hang up on purpose (cut streams) are expected here.
        pass


class CuttingProxy:
    """A TCP proxy to `upstream` that, once, cuts a response whose request path matches `cut_path`.

    It forwards the request untouched (so SigV4 over the proxy's Host still verifies when the
    client signs for the proxy's address) and closes the downstream socket after `cut_after` bytes
    of the upstream's answer.
    """

    def __init__(self, upstream_port: int, cut_path: re.Pattern | None = None, cut_after: int = 0):
        self.upstream_port = upstream_port
        self.cut_path = cut_path
        self.cut_after = cut_after
        self.cuts = 0
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, lowercased headers)
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._sock.close()

    def _accept(self):
        while not self._stop:
            try:
                downstream, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(downstream,), daemon=True).start()

    def downloads(self) -> list[dict[str, str]]:
        """Headers of every request that was not a Lambda API call."""
        return [h for p, h in self.requests if not p.startswith(("/2015-03-31/", "/2018-10-31/"))]

    def _serve(self, downstream: socket.socket):
        # One request per connection keeps the proxy simple: ask the upstream to close after it.
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:  # the upstream has stopped: the client sees its connection closed
            downstream.close()
            return
        with downstream, upstream:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = downstream.recv(65536)
                if not chunk:
                    return
                head += chunk
            header_block, _, rest = head.partition(b"\r\n\r\n")
            lines = header_block.split(b"\r\n")
            path = lines[0].split(b" ")[1].decode()
            headers = dict(line.decode().split(":", 1) for line in lines[1:] if b":" in line)
            self.requests.append((path, {k.strip().lower(): v.strip() for k, v in headers.items()}))
            kept = [line for line in lines[1:] if not line.lower().startswith(b"connection:")]
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in kept
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(rest) < length:
                rest += downstream.recv(65536)
            upstream.sendall(
                b"\r\n".join([lines[0], *kept, b"Connection: close"]) + b"\r\n\r\n" + rest
            )
            with self._lock:
                cut = (
                    self.cuts == 0
                    and self.cut_path is not None
                    and bool(self.cut_path.search(path))
                )
                if cut:
                    self.cuts += 1
            sent = 0
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if cut and sent + len(data) >= self.cut_after:
                    downstream.sendall(data[: self.cut_after - sent])
                    downstream.shutdown(socket.SHUT_RDWR)
                    return
                downstream.sendall(data)
                sent += len(data)
