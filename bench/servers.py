"""The servers the benchmarks start on this machine: a free port, and waiting until one answers."""

from __future__ import annotations

import socket
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answers(url: str, timeout: float) -> None:
    """Poll `url` until a GET answers 200 (a refused connection or an error status, e.g. 503
    while a model loads, is asked again); RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:  # URLError, HTTPError and refused connections alike
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
