"""A real HTTP server on 127.0.0.1 for download tests, and archives of model folders."""

from __future__ import annotations

import http.server
import io
import tarfile
import threading
import time
from pathlib import Path


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the server's registered (body, mode) per path; anything else is a 404."""

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        body, mode = route
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", body.decode())
            self.end_headers()
            return
        if mode == "stall":
            time.sleep(2)
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if mode == "html" else "application/gzip")
        if mode != "no-length":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # "cut"/"no-length": the connection closes halfway (HTTP/1.0 closes after each response).
        self.wfile.write(body[: len(body) // 2] if mode in ("cut", "no-length") else body)

    def log_message(self, *args) -> None:
        pass


class Server:
    def __init__(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.routes = {}
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes, mode: str = "ok") -> str:
        self.httpd.routes[path] = (body, mode)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def tar_gz(folder: Path, arcname: str) -> bytes:
    """A .tar.gz of `folder`, as `arcname/...` inside."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        tar.add(folder, arcname=arcname)
    return buffer.getvalue()
